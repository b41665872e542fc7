"""The smoke comparison: the submission's own bot.py against the kit's loop with its hooks."""
from __future__ import annotations

import hashlib
from pathlib import Path
from string import ascii_lowercase

import numpy as np

from model.protocol import Bot, HookFault

from .safeio import clean_text
from .sandbox import Sandbox, SandboxHooks
from .suites import Kind

SMOKE_LINES = ["j", "ab", "a b c", "", "ma pe ol", "x1", "emma"]
SMOKE_TIMEOUT_SECONDS = 30.0


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
        try:
            digest.update(Path(suite.path).read_bytes())
        except OSError:
            digest.update(suite.name.encode())
    return list(np.frombuffer(digest.digest()[:16], dtype="<u4"))  # the same seed on every machine


def smoke_transcript(plan) -> list[str]:
    """A long shuffled transcript: fixed lines, every banned word, prefixes of banned words,
    public requests and random prefixes, its length drawn too. Never a hidden request."""
    policy = plan.suites[0].policy
    rng = np.random.default_rng([plan.seed, *suites_digest(plan.suites)])
    banned = sorted(policy.banned)
    public = sorted({c.text for s in plan.suites if s.visibility == "public" for c in s.cases
                     if c.kind == Kind.REQUEST and len(c.line) <= 200 and valid_utf8(c.line)})
    stems = [w[: rng.integers(1, min(len(w), 5) + 1)] for w in rng.choice(banned, size=40)]
    letters = ["".join(rng.choice(list(ascii_lowercase), size=rng.integers(1, 4))) for _ in range(40)]
    extra = list(rng.choice(public, size=min(len(public), 40), replace=False)) if public else []
    pairs = [" ".join(rng.choice(stems + letters, size=2)) for _ in range(20)]
    lines = banned + stems + letters + extra + pairs
    rng.shuffle(lines)
    return SMOKE_LINES + lines[: rng.integers(len(lines) * 3 // 4, len(lines) + 1)]


def same_answer(own: str, trusted: str) -> bool:
    """OK lines must match exactly; two refusals match whatever their wording."""
    if own.startswith("REFUSE: ") and trusted.startswith("REFUSE: "):
        return True
    return own == trusted


def smoke_compare(plan, model, sandbox: Sandbox, lines: list[str]) -> list[str]:
    """Run the kit's loop and the submission's own bot.py on one transcript; a difference
    (a crash or hang of its own bot included) means the shared behaviour was changed at run
    time. Returns the integrity findings."""
    try:
        sandbox.start()
    except HookFault:
        pass
    bot = Bot(model, SandboxHooks(sandbox))
    rng = np.random.default_rng(plan.seed)
    trusted = [bot.answer(line.encode(), rng) for line in lines]
    own = sandbox.run_own_bot(lines, plan.seed, SMOKE_TIMEOUT_SECONDS)
    if isinstance(own, str):
        return [f"[runtime-behaviour] {own}: run it by hand with the smoke lines to see why"]
    for i, line in enumerate(lines):
        got = own[i] if i < len(own) else "(no line)"
        if not same_answer(got, trusted[i]):
            return [f"[runtime-behaviour] on the request {line!r} your bot.py answered "
                    f"{clean_text(got, 80)!r}, the kit's loop with your hooks answered "
                    f"{clean_text(trusted[i], 80)!r}: the shared behaviour was changed at run "
                    "time, or a hook is not deterministic"]
    if len(own) != len(trusted):
        return [f"[runtime-behaviour] your bot.py wrote {len(own)} lines for {len(trusted)} requests"]
    return []
