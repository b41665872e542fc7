"""The smoke comparison: the submission's own bot.py against the kit's loop with its hooks."""
from __future__ import annotations

import contextlib
import hashlib
import os
import select
import subprocess
import time
from dataclasses import dataclass
from enum import Enum
from string import ascii_lowercase

import numpy as np

from model.protocol import Bot, HookFault

from ..results import Cause
from ..safeio import clean_text
from ..sandbox.client import Sandbox, timed
from ..sandbox.process import MAX_REPLY_BYTES, WorkerProcess, describe_exit, ready, transcript_bytes
from ..data.cases import Kind

SMOKE_LINES = ["j", "ab", "a b c", "", "ma pe ol", "x1", "emma"]
SMOKE_TIMEOUT_SECONDS = 30.0
FEED_LINES = 16  # the own bot gets the lines the kit's loop answered, this many at a time


def valid_utf8(line: bytes) -> bool:
    try:
        line.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def suites_digest(suites) -> list[int]:
    """Seed material from the bytes of every selected suite file, hidden ones included: a
    student without the hidden suites cannot predict the transcript the grader uses."""
    digest = hashlib.sha256()
    for suite in suites:
        digest.update(suite.source)
    return list(np.frombuffer(digest.digest()[:16], dtype="<u4"))  # the same seed on every machine


def worker_hash_seed(seed: int, suites) -> int:
    """The PYTHONHASHSEED of a grading's workers, drawn like the transcript: the same grading
    gets the same set order (its JSON is reproducible), and a student without the hidden suites
    can no more predict it than the seed of their own `python bot.py`."""
    return int(np.random.default_rng([seed, *suites_digest(suites), 1]).integers(1 << 32))


def smoke_transcript(plan) -> list[str]:
    """A long shuffled transcript: fixed lines, every revealed banned word, prefixes of them,
    public requests and random prefixes, its order and length drawn too. Only what the student
    kit shows (a finding quotes its lines, and its own bot.py may echo them): never a held-out
    word or a hidden request. The fixed lines are shuffled in, so no line always comes first."""
    policy = plan.suites[0].policy
    rng = np.random.default_rng([plan.seed, *suites_digest(plan.suites)])
    banned = sorted(policy.revealed_banned)
    public = sorted({c.text for s in plan.suites if s.visibility == "public" for c in s.cases
                     if c.kind == Kind.REQUEST and len(c.line) <= 200 and valid_utf8(c.line)})
    stems = [w[: rng.integers(1, min(len(w), 5) + 1)] for w in rng.choice(banned, size=40)]
    letters = ["".join(rng.choice(list(ascii_lowercase), size=rng.integers(1, 4))) for _ in range(40)]
    extra = list(rng.choice(public, size=min(len(public), 40), replace=False)) if public else []
    pairs = [" ".join(rng.choice(stems + letters, size=2)) for _ in range(20)]
    lines = banned + stems + letters + extra + pairs
    rng.shuffle(lines)
    lines = SMOKE_LINES + lines[: rng.integers(len(lines) * 3 // 4, len(lines) + 1)]
    rng.shuffle(lines)
    return lines


FAULT_ENDING = "; refusing to stay safe."  # model/protocol.py's refusal after a hook fault


def same_answer(own: str, trusted: str, policy) -> bool:
    """OK lines must match exactly. Two refusals must name the same banned words (the user
    reads the sentence: red team 37; the revealed ones, as the verdict is shown), not match
    word for word: the grader shows a reason's control characters escaped where its own
    bot.py prints spaces. Either may differ when either is a fault's, which a pattern's time
    limit can cause on one side only under load."""
    if own.startswith("REFUSE: ") and trusted.startswith("REFUSE: "):
        return (own.endswith(FAULT_ENDING) or trusted.endswith(FAULT_ENDING)
                or policy.banned_words_in(own, [], public=True) == policy.banned_words_in(trusted, [], public=True))
    return own == trusted


class SmokeCause(str, Enum):
    """Why the comparison failed, as the fix the student reads (score 0 in every case)."""
    OWN_BOT_SLOW = ("your bot.py could not be checked against your hooks in time: make the hooks "
                    "faster (score 0 until it can be checked)")
    OWN_BOT_FAILED = ("your bot.py failed on the smoke transcript: run it by hand on the requests "
                      "named above and fix what breaks (score 0 until it runs)")
    HOOKS_FAILED = ("your hooks hit a limit or crashed in the kit's loop, so your bot.py could not be "
                    "checked against them: make them fast and robust (score 0 until it can be checked)")
    DIFFERENT = ("your bot.py answered differently from your hooks in the kit's loop: restore the "
                 "shared code and make the hooks deterministic (score 0 until they agree)")


# each fix above under its short name, which every report writes alike
KINDS = {SmokeCause.OWN_BOT_SLOW: Cause.HANG, SmokeCause.OWN_BOT_FAILED: Cause.CRASH,
         SmokeCause.HOOKS_FAILED: Cause.HOOK_LIMIT, SmokeCause.DIFFERENT: Cause.DIFFERENT}


@dataclass(frozen=True)
class SmokeFinding:
    text: str  # the integrity finding, naming the request
    cause: SmokeCause

    @property
    def kind(self) -> Cause:
        return KINDS[self.cause]


def where_it_stopped(lines: list[str], answered: int, seed: int) -> str:
    """The request its own bot.py stopped at, and the two ways to replay it by hand."""
    if answered >= len(lines):
        return ""
    request = clean_text(lines[answered], 120)
    return (f"; it stopped at the request {request!r} (line {answered + 1} of the smoke transcript): "
            f"replay it with `python -m grader explain bot.py {request!r}`, or type it to "
            f"`python bot.py --seed {seed}`")


def kit_answers(plan, model, sandbox: Sandbox, hooks, lines: list[str], own_bot: Sandbox) -> tuple[list[str], bool]:
    """The kit's side of the smoke comparison: its loop's answers on the transcript (with
    `hooks`, answered by the started `sandbox`), and whether it stopped at a hook that hit a
    limit or crashed the worker (from there the two sides no longer draw the same random
    numbers). The submission's own bot.py (in `own_bot`) is given the lines answered as it goes."""
    bot = Bot(model, hooks)
    rng = np.random.default_rng(plan.seed)
    trusted: list[str] = []
    limit_hit = False
    for line in lines:
        restarts = sandbox.restarts
        trusted.append(bot.answer(line.encode(), rng))
        limit_hit = sandbox.restarts > restarts or sandbox.dead_reason is not None
        if limit_hit:
            break
        if len(trusted) % FEED_LINES == 0:  # its own bot answers them meanwhile, on another core
            feed_own_bot(own_bot, lines[:len(trusted)], plan.seed)
    return trusted, limit_hit


def smoke_compare(plan, lines: list[str], trusted: list[str], limit_hit: bool, own_bot: Sandbox) -> SmokeFinding | None:
    """The submission's own bot.py on the transcript against the kit's answers: a difference (a
    crash or hang of its own bot included) means the shared behaviour was changed at run time."""
    # its own bot needs to answer only the lines both sides can be compared on
    compared = trusted[:-1] if limit_hit else trusted
    own = run_own_bot(own_bot, lines[:len(compared)], plan.seed, SMOKE_TIMEOUT_SECONDS) if compared else []
    if isinstance(own, OwnBotFailure):
        return SmokeFinding(f"[runtime-behaviour] {own.reason}{where_it_stopped(lines, own.answered, plan.seed)}",
                            SmokeCause.OWN_BOT_SLOW if own.timed_out else SmokeCause.OWN_BOT_FAILED)
    for i, (line, expected) in enumerate(zip(lines, compared)):
        got = own[i] if i < len(own) else "(no line)"
        if not same_answer(got, expected, plan.suites[0].policy):
            return SmokeFinding(f"[runtime-behaviour] on the request {line!r} your bot.py answered "
                                f"{clean_text(got, 80)!r}, the kit's loop with your hooks answered "
                                f"{clean_text(expected, 80)!r}: the shared behaviour was changed at run "
                                "time, or a hook is not deterministic", SmokeCause.DIFFERENT)
    if limit_hit:
        return SmokeFinding(f"[runtime-behaviour] on the request {lines[len(trusted) - 1]!r} the kit's loop "
                            f"answered {clean_text(trusted[-1], 120)!r}", SmokeCause.HOOKS_FAILED)
    if len(own) != len(compared):
        return SmokeFinding(f"[runtime-behaviour] your bot.py wrote {len(own)} lines for {len(compared)} "
                            "requests", SmokeCause.DIFFERENT)
    return None


# ---- the submission's own bot.py, run by this stage alone -----------------------------
@dataclass(frozen=True)
class OwnBotFailure:
    """Why the submission's own bot.py could not be run to the end of a transcript."""
    reason: str
    timed_out: bool  # else it crashed, exited or flooded its output
    answered: int = 0  # lines it answered before it stopped: the next one is where it stopped


def feed_own_bot(worker: WorkerProcess, lines: list[str], seed: int) -> None:
    """Give the submission's own bot.py, launched with the seed, the start of its transcript
    (`lines`) to answer while the grader goes on: as much as its pipe takes now, never
    waiting; run_own_bot(transcript) sends the rest."""
    if worker.launched != (str(seed),):
        return
    data = transcript_bytes(lines)[len(worker.fed):]
    with contextlib.suppress(OSError):  # a full pipe (or a bot gone): run_own_bot sends it, or says why not
        worker.fed += data[:os.write(worker.proc.stdin.fileno(), data)]


@timed  # what its own run takes is charged to the sandbox's budget
def run_own_bot(worker: WorkerProcess, lines: list[str], seed: int, timeout: float) -> list[str] | OwnBotFailure:
    """The submission's own `python bot.py --seed N` on a transcript: its output lines,
    or why it could not be run to the end (`timeout` counts from here: lines fed before were
    answered while the grader went on)."""
    timeout = min(timeout, worker.budget.left())
    if worker.launched != (str(seed),) or timeout <= 0:
        worker.stop()
    if timeout <= 0:
        return OwnBotFailure(worker.budget.message(), timed_out=True)
    worker.launch(str(seed))
    worker.launched = None
    deadline = time.monotonic() + timeout
    try:
        worker.send(transcript_bytes(lines)[len(worker.fed):], deadline, "feeding your bot.py")
        worker.proc.stdin.close()
    except (OSError, HookFault):
        pass  # it stopped reading: what it wrote so far is compared
    out, fd = b"", worker.proc.stdout.fileno()
    try:
        while True:
            if not ready(fd, select.POLLIN, deadline):
                return OwnBotFailure(f"your bot.py did not finish the smoke transcript in {timeout:.0f} s "
                                     "(what its own run may take of the grading's budget)",
                                     timed_out=True, answered=out.count(b"\n"))
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            out += chunk
            if len(out) > MAX_REPLY_BYTES:
                return OwnBotFailure("your bot.py flooded its output on the smoke transcript", timed_out=False)
        code = worker.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        return OwnBotFailure(f"your bot.py did not exit within {timeout:.0f} s of the end of its input",
                             timed_out=True)
    finally:
        worker.stop()
    if code != 0:
        return OwnBotFailure(f"your bot.py exited{describe_exit(code)} on the smoke transcript", timed_out=False)
    return out.decode("utf-8", "replace").splitlines()

