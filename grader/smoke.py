"""The smoke comparison: the submission's own bot.py against the kit's loop with its hooks."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from model.protocol import Bot, HookFault

from .sandbox import Limits, Sandbox, SandboxHooks
from .suites import Case, Kind

SMOKE_LINES = ["j", "ab", "a b c", "", "ma pe ol", "x1", "emma"]
SMOKE_TIMEOUT_SECONDS = 30.0


def valid_utf8(line: bytes) -> bool:
    try:
        line.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def smoke_transcript(cases: list[Case], seed: int, extra: int = 8) -> list[str]:
    """Fixed lines plus a seeded draw of the suites' requests, so that a submission cannot
    behave well on the smoke lines alone."""
    pool = [c.text for c in cases if c.kind == Kind.REQUEST and len(c.line) <= 200 and valid_utf8(c.line)]
    rng = np.random.default_rng([seed, 7])
    picks = rng.choice(len(pool), size=min(extra, len(pool)), replace=False) if pool else []
    return SMOKE_LINES + [pool[i] for i in sorted(picks)]


def smoke_compare(submission: Path, model, seed: int, limits: Limits,
                  lines: list[str]) -> tuple[list[str], str]:
    """Run the kit's loop and the submission's own bot.py on one transcript; a difference
    means the shared behaviour was changed at run time. Returns (findings, note)."""
    with Sandbox(submission, limits) as sandbox:
        try:
            sandbox.start()
        except HookFault:
            pass
        bot = Bot(model, SandboxHooks(sandbox))
        rng = np.random.default_rng(seed)
        trusted = [bot.answer(line.encode(), rng) for line in lines]
        if sandbox.restarts or sandbox.dead_reason:
            # its hooks hang or crash, and the bot has no time limit: nothing to compare
            return [], "the smoke comparison was skipped: the hooks hung or crashed on it"
        own = sandbox.run_own_bot(lines, seed, SMOKE_TIMEOUT_SECONDS)
    if isinstance(own, str):
        return [f"[runtime-behaviour] {own}"], ""
    for i, line in enumerate(lines):
        got = own[i] if i < len(own) else "(no line)"
        if got != trusted[i]:
            return [f"[runtime-behaviour] on smoke request {line!r} your bot.py answered {got[:80]!r}, "
                    f"the kit's loop with your hooks answered {trusted[i][:80]!r}: the shared "
                    "behaviour was changed at run time (or a hook is not deterministic)"], ""
    if len(own) != len(trusted):
        return [f"[runtime-behaviour] your bot.py wrote {len(own)} lines for {len(trusted)} requests"], ""
    return [], ""
