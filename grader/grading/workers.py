"""The workers of one grading's stages: launched together when it starts, each stage's
sandbox closed in the background once the stage is done.

A worker's start-up (the isolation layer, the interpreter, the submission's import) takes
longer than most stages' work, so the grading starts them all at once, the submission's own
bot.py first (its start-up, numpy, the model and click, is the longest), and each overlaps
the grader's work and the stages before it. Each stage still gets a worker that was asked
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

    def close(self) -> None:
        for sandbox in (self.smoke, self.own_bot, self.cases, self.replay):
            sandbox.close()

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
    """The sandboxes of `plan`'s stages (no worker launched when it has no case); on exit the
    background closes end, then every sandbox is closed."""
    with contextlib.ExitStack() as stack:
        own_bot = stack.enter_context(plan.sandbox(budget))
        if plan.cases:
            own_bot.launch(str(plan.seed))
        workers = Workers(stack.enter_context(plan.sandbox(budget)), own_bot,
                          *(stack.enter_context(plan.sandbox(budget)) for _ in range(2)))
        stack.callback(workers.join)  # runs before the sandboxes' exits
        if plan.cases:
            workers.smoke.launch()
            workers.cases.launch()
            workers.replay.launch()
        yield workers
