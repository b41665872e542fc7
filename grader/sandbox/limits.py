"""What one grading may spend: per-call and per-grading limits, and the Budget of time that
covers everything the submission controls."""
from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    call_seconds: float = 2.0
    total_seconds: float = 60.0  # everything the submission controls in one grading and its reports
    smoke_seconds: float = 20.0  # of which at most this for the smoke stage (first), once started
    replay_seconds: float = 5.0  # and this kept back, after the cases, for the stateless replay
    wall_seconds: float = 70.0  # the whole grading and its reports, however loaded the machine
    start_seconds: float = 20.0
    cpu_seconds: int = 60
    memory_bytes: int = 1 << 30
    file_bytes: int = 1 << 20
    max_restarts: int = 3

    def budget(self) -> "Budget":
        """The one Budget of a grading (and its reports), its wall-clock limit running from now."""
        return Budget(self.total_seconds, wall_seconds=self.wall_seconds)


class Budget:
    """The wall-clock seconds a submission may hold the grader waiting in one grading: its
    imports, hook and pattern calls and its own bot, in every stage, retry and replay (the
    sandbox times each inside `timing()`). The grader's own work between calls is not
    charged, so a loaded machine does not eat an honest submission's time; it is bounded by
    the suites, and by `wall_seconds` from the budget's creation: past that, every later call
    fails closed and the grading is the grader's fault (a machine too loaded to grade on),
    not the submission's. A stage takes a `part`, which charges this budget too."""

    def __init__(self, seconds: float, what: str = "this grading", parent: Budget | None = None,
                 wall_seconds: float | None = None):
        self.seconds = seconds
        self.what = what
        self.parent = parent
        self.spent = 0.0
        self.since: float | None = None  # when the call being timed began
        self.wall_seconds = wall_seconds
        self.deadline = None if wall_seconds is None else time.monotonic() + wall_seconds

    def left(self) -> float:
        now = time.monotonic()
        running = now - self.since if self.since is not None else 0.0
        own = self.seconds - self.spent - running
        if self.deadline is not None:
            own = min(own, self.deadline - now)
        return max(0.0, own if self.parent is None else min(own, self.parent.left()))

    def too_slow(self) -> str:
        """Why a grading cut by the wall-clock limit has no score."""
        return (f"grader fault: the machine was too loaded to finish this grading within {self.wall_seconds:g} s "
                "of wall-clock time; grade it again when the machine is less busy")

    def past_deadline(self) -> bool:
        """The wall-clock limit ran out before the submission used up its seconds: the
        grader's own work, not the submission, took the time."""
        return self.deadline is not None and time.monotonic() >= self.deadline and self.spent < self.seconds

    @contextmanager
    def timing(self):
        """Charge the time spent inside to this budget (and its parents); nested use is
        charged once."""
        if self.since is not None:
            yield
            return
        self.since = time.monotonic()
        try:
            if self.parent is None:
                yield
            else:
                with self.parent.timing():
                    yield
        finally:
            self.spent += time.monotonic() - self.since
            self.since = None

    def part(self, seconds: float, keep: float = 0.0, what: str = "this grading") -> Budget:
        """A stage's share: at most `seconds`, leaving `keep` seconds (at most half of what
        is left) for later stages."""
        left = self.left()
        return Budget(max(0.0, min(seconds, left - min(keep, left / 2))), what, self)

    def message(self) -> str:
        root = self
        while root.parent is not None:
            root = root.parent
        if root.past_deadline():
            return (f"the grading ran past its {root.wall_seconds:.3g} s wall-clock limit on a loaded machine; "
                    "every later call fails closed")
        return (f"the submission used up its {self.seconds:.3g} s of {self.what} (import, hooks, "
                "patterns and its own bot together); every later call fails closed")
