"""Run a submission's hooks in a separate, limited, isolated worker process (grader/sandbox/worker.py).

The grader's process keeps the model and the frozen loop; the worker imports the submission,
compiles and matches its patterns and runs its hooks (model.protocol.LocalHooks), and only
checked plain values cross the pipe. The worker is staged into a private folder (worker,
the kit's model code and weights, a copy of the submission) and started through an
isolation layer (grader/sandbox/isolation.py). Every misbehaviour (a hang, a crash, junk on the
pipe) becomes a HookFault for that call and the worker is restarted, up to a budget; one
wall-clock Budget covers everything the submission controls in a grading, after which
every call fails closed at once.
"""
from __future__ import annotations

import contextlib
import functools
import json
import os
import secrets as random_seed
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from model.protocol import Call, HookFault, Verdict

from .cleanup import STARTED, remove_tree
from ..errors import GraderFault
from .isolation import Isolation, choose_isolation, stage_parent
from .limits import Budget, Limits
from ..data.policy import KIT_ROOT
from ..safeio import clean_text
from .view import worker_env

MAX_REPLY_BYTES = 64 * 1024
STDERR_KEPT = 64 * 1024  # of the earlier workers' stderr, for the report's tail
# Calls sent to the worker at once: few enough bytes that the pipe holds them all (64 KiB on
# Linux), so sending never waits on the worker reading while it waits on us reading its replies.
# The bytes decide (a name's call is about 50 bytes): each round trip costs two wake-ups, which
# on a loaded machine cost more than the calls themselves.
PIPELINE_CALLS = 512
PIPELINE_BYTES = 32 * 1024
HOOK_NAMES = {"request": "is_safe_request", "name": "is_safe_name"}
VERDICT_SOURCE_CHARS = 60


def stage_files(submission: Path, stage: Path) -> None:
    """What the worker may see: itself, the kit's model code and weights, the submission."""
    (stage / "tmp").mkdir()
    (stage / "kit" / "model").mkdir(parents=True)
    (stage / "kit" / "weights").mkdir()
    for source in (KIT_ROOT / "model").glob("*.py"):
        shutil.copyfile(source, stage / "kit" / "model" / source.name)
    shutil.copyfile(KIT_ROOT / "weights" / "model.json", stage / "kit" / "weights" / "model.json")
    shutil.copyfile(KIT_ROOT / "grader" / "sandbox" / "worker.py", stage / "worker.py")
    shutil.copyfile(KIT_ROOT / "grader" / "sandbox" / "seccomp.py", stage / "guardrail_seccomp.py")
    shutil.copyfile(submission, stage / "submission.py")


def timed(method):
    """Charge the time a method holds the grader waiting to the sandbox's budget."""
    @functools.wraps(method)
    def charged(self, *args, **kwargs):
        with self.budget.timing():
            return method(self, *args, **kwargs)
    return charged


@dataclass(frozen=True)
class OwnBotFailure:
    """Why the submission's own bot.py could not be run to the end of a transcript."""
    reason: str
    timed_out: bool  # else it crashed, exited or flooded its output
    answered: int = 0  # lines it answered before it stopped: the next one is where it stopped


class Sandbox:
    """One submission, one worker at a time; `call` and `run_own_bot` are the only ways in."""

    def __init__(self, submission: Path, limits: Limits = Limits(), isolation: Isolation | None = None,
                 budget: Budget | None = None, secrets: list[Path] = (), hash_seed: int | None = None):
        self.submission = Path(submission)
        # a grading's workers share one (its smoke stage's two sides see one set order); else
        # drawn at random, as `python bot.py` draws its own
        self.hash_seed = random_seed.randbelow(1 << 32) if hash_seed is None else hash_seed
        self.limits = limits
        self.budget = budget or Budget(limits.total_seconds)
        self.isolation = isolation or choose_isolation()
        self.restarts = 0
        self.next_id = 0
        self.proc: subprocess.Popen | None = None
        self.launched: tuple[str, ...] | None = None  # the arguments of a process not taken up yet
        self.dead_reason: str | None = None
        self.import_error: str | None = None
        self.pattern_error: str | None = None
        self.filtered = False  # the worker's syscall filter is on
        self.stderr: IO[bytes] | None = None  # the running worker's; earlier ones in stderr_kept
        self.stderr_kept = b""
        self.closed = False
        # one private folder: the stage (which the layer may open to the sandbox)
        self.folder = Path(tempfile.mkdtemp(prefix="guardrail-sandbox-", dir=stage_parent()))
        self.folder.chmod(0o711)
        self.stage = self.folder / "stage"
        self.stage.mkdir()
        try:
            stage_files(self.submission, self.stage)
            # the submission's own folder may hold classmates' work (the kit's own folders
            # hold nothing secret but what kit_secrets names)
            folder = self.submission.resolve().parent
            self.isolation.prepare(self.stage, [*([] if folder.is_relative_to(KIT_ROOT) else [folder]),
                                                *secrets])
        except OSError as exc:
            self.close()
            raise GraderFault(f"cannot stage {submission} for the sandbox: {exc}") from None

    # ---- lifecycle -----------------------------------------------------------------
    def _spawn(self, *extra: str) -> subprocess.Popen:
        lim, inside = self.limits, self.isolation.inside
        # -S -s: no site hooks (an editable install would expose the grader), no user site;
        # the worker adds the interpreter's own site folders itself
        argv = [sys.executable, "-S", "-s", "-B", inside("worker.py"), inside("submission.py"),
                str(lim.cpu_seconds), str(lim.memory_bytes), str(lim.file_bytes), *extra]
        cmd, kwargs = self.isolation.wrap(argv, worker_env(self.hash_seed))
        # each worker its own stderr, a file with no name: a restarted worker cannot open
        # (through /proc/self/fd/2 or otherwise) what an earlier one wrote
        self.stderr = tempfile.TemporaryFile(dir=self.folder)
        try:
            proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr,
                                    process_group=0, close_fds=True, **kwargs)
        except OSError:
            self.stderr.close()
            self.stderr = None
            raise
        STARTED.add(proc.pid)
        os.set_blocking(proc.stdin.fileno(), False)  # _send never blocks past its deadline
        return proc

    def launch(self, *extra: str) -> None:
        """Start a worker (`extra`: the seed, for its own bot) without waiting for it, so that
        its start-up overlaps the grader's own work; `start` or `run_own_bot` takes it up.
        Nothing is sent to it before, and it is charged only the time the grader waits on it."""
        if self.proc is None:
            self.proc, self.launched, self._buffer, self.fed = self._spawn(*extra), extra, b"", b""

    def feed_own_bot(self, lines: list[str], seed: int) -> None:
        """Give the submission's own bot.py, launched with the seed, the start of its transcript
        (`lines`) to answer while the grader goes on: as much as its pipe takes now, never
        waiting; run_own_bot(transcript) sends the rest."""
        if self.launched != (str(seed),):
            return
        data = transcript_bytes(lines)[len(self.fed):]
        with contextlib.suppress(OSError):  # a full pipe (or a bot gone): run_own_bot sends it, or says why not
            self.fed += data[:os.write(self.proc.stdin.fileno(), data)]

    @timed
    def start(self) -> None:
        if self.launched != ():  # none launched, or one for its own bot
            self._stop()
            self.launch()
        self.launched = None
        try:
            hello = self._read_line(min(self.limits.start_seconds, self.budget.left()),
                                    "importing the submission")
        except HookFault as fault:  # a submission that cannot start is not restarted
            self._stop()
            self.dead_reason = self.import_error = str(fault)
            raise
        if "import_error" in hello:
            self.import_error = clean_text(hello["import_error"])
            self._stop()
            self.dead_reason = f"the submission failed to import ({self.import_error})"
            raise HookFault(self.dead_reason)
        error = hello.get("pattern_error")
        if hello.get("ready") is not True or not (error is None or isinstance(error, str)):
            self._stop()
            self.dead_reason = self.import_error = "the submission wrote junk on the grader's pipe at start"
            raise HookFault(self.dead_reason)
        self.pattern_error = None if error is None else clean_text(error)
        self.filtered = hello.get("filtered") is True

    def _stop(self) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.proc.wait()
        STARTED.discard(self.proc.pid)
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                if stream:
                    stream.close()
            except OSError:
                pass
        self.proc = self.launched = None
        self.isolation.worker_stopped()
        self.stderr_kept = (self.stderr_kept + tail_of(self.stderr, STDERR_KEPT))[-STDERR_KEPT:]
        self.stderr.close()
        self.stderr = None

    @timed
    def run_own_bot(self, lines: list[str], seed: int, timeout: float) -> list[str] | OwnBotFailure:
        """The submission's own `python bot.py --seed N` on a transcript: its output lines,
        or why it could not be run to the end (`timeout` counts from here: lines fed before were
        answered while the grader went on)."""
        timeout = min(timeout, self.budget.left())
        if self.launched != (str(seed),) or timeout <= 0:
            self._stop()
        if timeout <= 0:
            return OwnBotFailure(self.budget.message(), timed_out=True)
        self.launch(str(seed))
        self.launched = None
        deadline = time.monotonic() + timeout
        try:
            self._send(transcript_bytes(lines)[len(self.fed):], deadline, "feeding your bot.py")
            self.proc.stdin.close()
        except (OSError, HookFault):
            pass  # it stopped reading: what it wrote so far is compared
        out, fd = b"", self.proc.stdout.fileno()
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
            code = self.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            return OwnBotFailure(f"your bot.py did not exit within {timeout:.0f} s of the end of its input",
                                 timed_out=True)
        finally:
            self._stop()
        if code != 0:
            return OwnBotFailure(f"your bot.py exited{describe_exit(code)} on the smoke transcript", timed_out=False)
        return out.decode("utf-8", "replace").splitlines()

    def close(self) -> None:
        if self.closed:  # a stage closes its sandbox when done, the grading all of them at the end
            return
        self.closed = True
        self._stop()
        self.isolation.cleanup()
        remove_tree(self.folder)

    def __enter__(self) -> "Sandbox":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def stderr_tail(self, limit: int = 2000) -> str:
        """The end of what the workers wrote to stderr, the running one's last."""
        running = tail_of(self.stderr, limit) if self.stderr else b""
        return (self.stderr_kept + running)[-limit:].decode("utf-8", "replace")

    # ---- calls ---------------------------------------------------------------------
    def _send(self, data: bytes, deadline: float, doing: str) -> None:
        """Write to the worker's stdin without ever blocking past the deadline (a worker that
        stops reading its pipe must not hang the grader)."""
        fd = self.proc.stdin.fileno()  # non-blocking since _spawn
        while data:
            if not ready(fd, select.POLLOUT, deadline):
                raise HookFault(self.budget.message() if self.budget.left() <= 0
                                else f"{doing}: the submission stopped reading its input")
            try:
                data = data[os.write(fd, data):]
            except BlockingIOError:
                continue

    def _read_line(self, timeout: float, doing: str, limit: float | None = None) -> dict:
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while b"\n" not in self._buffer:
            if not ready(fd, select.POLLIN, deadline):
                if self.budget.left() <= 0:
                    raise HookFault(self.budget.message())
                raise HookFault(f"{doing} took longer than {limit or timeout:g} s")
            chunk = os.read(fd, 65536)
            if not chunk:
                code = self.proc.poll()
                raise HookFault(f"the submission's process died while {doing}{describe_exit(code)}")
            self._buffer += chunk
            if len(self._buffer.split(b"\n", 1)[0]) > MAX_REPLY_BYTES:  # this reply alone
                raise HookFault(f"the submission flooded the grader's pipe while {doing}")
        line, self._buffer = self._buffer.split(b"\n", 1)
        try:
            message = json.loads(line)
        except (ValueError, RecursionError):
            message = None
        if not isinstance(message, dict):
            raise HookFault(f"the submission wrote junk on the grader's pipe while {doing}")
        return message

    @timed
    def call(self, hook: str, arg: object) -> Verdict:
        """Ask the request ('request') or name ('name') filter; HookFault on misbehaviour."""
        answer = self.call_many([(hook, arg)])[0]
        if isinstance(answer, HookFault):
            raise answer
        return answer

    @timed
    def call_many(self, calls: list[Call]) -> list[Verdict | HookFault]:
        """Ask several filters in as few round trips as fit the pipe, answering each call as
        `call` would have, in order: each is bounded by its own call_seconds (and what is left
        of the budget), counted from the arrival of the previous call's reply (the worker
        answers in order, so that is the time it had for this one); a call that hangs or
        crashes the worker faults alone, and the calls after it go to a fresh worker."""
        answers: list[Verdict | HookFault] = []
        while len(answers) < len(calls):
            answers += self._pipeline(calls[len(answers):len(answers) + PIPELINE_CALLS])
        return answers

    def _pipeline(self, calls: list[Call]) -> list[Verdict | HookFault]:
        """Some of the calls, sent at once: the answers up to the first that spoiled the worker."""
        if self.dead_reason:
            return [HookFault(self.dead_reason)] * len(calls)
        if self.budget.left() <= 0:
            self._stop()
            self.dead_reason = self.budget.message()
            return [HookFault(self.dead_reason)] * len(calls)
        answers, name = [], HOOK_NAMES[calls[0][0]]
        try:
            if self.proc is None or self.launched is not None:
                self.start()
            lines, size = [], 0
            for hook, arg in calls:  # what the pipe holds at once: the send never waits on a reply
                lines.append(json.dumps({"id": self.next_id + len(lines) + 1, "hook": hook, "arg": arg}) + "\n")
                size += len(lines[-1])
                if size > PIPELINE_BYTES:
                    lines = lines[:-1] or lines
                    break
            started = time.monotonic()
            self._send("".join(lines).encode(), started + min(self.limits.call_seconds, self.budget.left()),
                       f"running {name}")
            for hook, _ in calls[: len(lines)]:
                name = HOOK_NAMES[hook]
                if self.budget.left() <= 0:
                    raise HookFault(self.budget.message())
                self.next_id += 1
                limit = min(self.limits.call_seconds, self.budget.left())
                reply = self._read_line(max(0.0, limit - (time.monotonic() - started)), f"running {name}", limit)
                started = time.monotonic()  # the worker answers in order: the next call starts now
                if reply.get("id") != self.next_id:
                    raise HookFault(f"the submission wrote junk on the grader's pipe while running {name}")
                # a hook that raised leaves the worker fine
                answers.append(HookFault(clean_text(reply["fault"], 200)) if "fault" in reply
                               else verdict_from(reply, name))
        except OSError:
            fault = HookFault(f"the submission's process died while running {name}")
            self._restart_after(fault)
            answers.append(fault)
        except HookFault as fault:  # the worker is in an unknown state: start a fresh one
            self._restart_after(fault)
            answers.append(fault)
        return answers

    def _restart_after(self, exc: BaseException) -> None:
        self._stop()
        if self.import_error or self.dead_reason:
            return
        if self.budget.left() <= 0:
            self.dead_reason = self.budget.message()
            return
        self.restarts += 1
        if self.restarts > self.limits.max_restarts:
            self.dead_reason = (f"the submission's process failed {self.restarts} times "
                                f"(last: {exc}); every later hook call fails closed")


def transcript_bytes(lines: list[str]) -> bytes:
    return "".join(line + "\n" for line in lines).encode()


def tail_of(file, limit: int) -> bytes:
    """The last `limit` bytes of an open file, wherever its writer left the offset."""
    try:
        size = os.fstat(file.fileno()).st_size
        return os.pread(file.fileno(), min(limit, size), max(0, size - limit))
    except OSError:
        return b""


def ready(fd: int, event: int, deadline: float) -> bool:
    """Whether fd is ready for event before the monotonic deadline (a poll object costs no
    descriptor, and the grader asks thousands of times per grading)."""
    left = deadline - time.monotonic()
    if left <= 0:
        return False
    poller = select.poll()
    poller.register(fd, event)
    return bool(poller.poll(left * 1000))


def verdict_from(reply: dict, name: str) -> Verdict:
    """A worker's reply, checked: exact types, bounded and cleaned strings."""
    allowed, reason, by = reply.get("allowed"), reply.get("reason"), reply.get("by")
    if type(allowed) is not bool or type(reason) is not str or type(by) is not str:
        raise HookFault(f"the submission wrote junk on the grader's pipe while running {name}")
    return Verdict(allowed, clean_text(reason, 1000), clean_text(by, VERDICT_SOURCE_CHARS))


def describe_exit(code: int | None) -> str:
    if code is None or code == 0:
        return ""
    if code < 0:
        try:
            return f" (killed by {signal.Signals(-code).name})"
        except ValueError:
            return f" (killed by signal {-code})"
    return f" (exit code {code})"


class SandboxHooks:
    """The Hooks the frozen loop needs, answered by the sandboxed worker."""

    def check_many(self, calls: list[Call]) -> list[Verdict | HookFault]:
        return self.sandbox.call_many([(hook, list(arg) if hook == "request" else arg) for hook, arg in calls])

    def __init__(self, sandbox: Sandbox):
        self.sandbox = sandbox

    def check_request(self, prefixes: list[str]) -> Verdict:
        return self.sandbox.call("request", list(prefixes))

    def check_name(self, name: str) -> Verdict:
        return self.sandbox.call("name", name)
