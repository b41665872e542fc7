"""The unit the speed goals are stated in, so they survive a noisy or different machine: one
unit is the time the plain-Python scalar reference (tests/scalar_gpt.py) takes to compute the
logits of 30 fixed sequences (about 0.11 s on the 2-core machine of issue #20).

A benchmark measures the unit before and after its own timing and divides by the smaller:
the least disturbed measure of the machine's speed, as timeit takes the minimum.
"""
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
import scalar_gpt  # noqa: E402

from model import BOS, load_model  # noqa: E402

SEQUENCES = 30


def unit_seconds(repeats: int = 3) -> float:
    """Seconds for one unit on this machine now (the best of `repeats`)."""
    rng = np.random.default_rng(0)
    seqs = [[BOS] + rng.integers(0, 26, int(rng.integers(3, 16))).tolist() for _ in range(SEQUENCES)]
    state = {k: v.tolist() for k, v in load_model().params.items()}
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for seq in seqs:
            scalar_gpt.forward(state, seq)
        times.append(time.perf_counter() - start)
    return min(times)


class Units:
    """Measures the unit around a benchmark: `with Units() as u: ...` then `u(seconds)`."""

    def __enter__(self) -> "Units":
        self.before = unit_seconds()
        return self

    def __exit__(self, *exc) -> None:
        self.unit = min(self.before, unit_seconds())

    def __call__(self, seconds: float) -> float:
        return seconds / self.unit
