"""What one grading may spend: per-call and per-grading limits, and the wall-clock Budget
that covers everything the submission controls."""
from __future__ import annotations

import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    call_seconds: float = 2.0
    total_seconds: float = 60.0  # import, hooks, patterns and the own bot of one grading
    smoke_seconds: float = 15.0  # of which kept back for the smoke stage
    start_seconds: float = 20.0
    cpu_seconds: int = 60
    memory_bytes: int = 1 << 30
    file_bytes: int = 1 << 20
    max_restarts: int = 3


class Budget:
    """One wall-clock deadline for everything a submission controls in one grading; the
    last `reserve` seconds are kept back until `release_reserve()` (for the smoke stage)."""

    def __init__(self, seconds: float, reserve: float = 0.0):
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds
        self.reserve = min(reserve, seconds / 2)

    def left(self) -> float:
        return max(0.0, self.deadline - self.reserve - time.monotonic())

    def release_reserve(self) -> None:
        self.reserve = 0.0

    def message(self) -> str:
        return (f"the submission used up its {self.seconds - self.reserve:g} s of this grading "
                "(import, hooks, patterns and its own bot together); every later call fails closed")
