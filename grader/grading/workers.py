"""The workers of one grading's stages: launched early, each stage's sandbox closed in the
background once the stage is done.

A worker's start-up (the isolation layer, the interpreter, the submission's import) takes
longer than most stages' work, so the grading starts the smoke worker at once and, as soon
as it has started, the three others, and each start-up overlaps the grader's work and the
stages before it. Each stage still gets a worker that was asked
nothing before; the runner says when each is taken up (grader/grading/runner.py).
"""
from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass, field
from typing import Iterator

from ..sandbox.client import Sandbox
from ..sandbox.limits import Budget


@dataclass
class Workers:
    smoke: Sandbox  # the smoke comparison's hooks, then the adversary's
    own_bot: Sandbox  # the submission's own bot.py, for the smoke comparison
    cases: Sandbox
    replay: Sandbox  # the stateless replay's
    closing: list[threading.Thread] = field(default_factory=list)

    def launch_the_rest(self, seed: int) -> None:
        """Once the smoke worker has started (the submission's import ends), the other three,
        its own bot.py first (its start-up, numpy, the model and click, is the longest): an
        import that hangs keeps one worker busy, not four."""
        self.own_bot.launch(str(seed))
        self.cases.launch()
        self.replay.launch()

    def retire(self, sandbox: Sandbox) -> None:
        """Close a stage's sandbox while the next stage runs: its worker is idle (it answers
        nothing unasked), and the sweep after it waits for dying processes."""
        self.closing.append(threading.Thread(target=sandbox.close, daemon=True))
        self.closing[-1].start()

    def join(self) -> None:
        for thread in self.closing:
            thread.join()


@contextlib.contextmanager
def launched(plan, budget: Budget) -> Iterator[Workers]:
    """The sandboxes of `plan`'s stages, the smoke worker launched (when the plan has cases);
    on exit the background closes end, and the sandboxes still open (an interrupted grading's) are killed
    at once and closed together, so that Ctrl-C stops a grading as fast as with one worker."""
    sandboxes: list[Sandbox] = []
    try:
        sandboxes.append(plan.sandbox(budget))
        if plan.cases:
            sandboxes[0].launch()
        sandboxes += [plan.sandbox(budget) for _ in range(3)]
        workers = Workers(*sandboxes)
        try:
            yield workers
        finally:
            workers.join()
    finally:
        for sandbox in sandboxes:
            sandbox.kill()
        closing = [threading.Thread(target=sandbox.close) for sandbox in sandboxes]
        for thread in closing:
            thread.start()
        for thread in closing:
            thread.join()
