"""Time the numpy forward against the plain-Python scalar reference on the same sequences.

    python benchmarks/forward_speed.py [--sequences 200]

Prints per-sequence time of each, their ratio (target: numpy >= 50x faster), and how many
names per second the KV-cache sampler produces.
"""
import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
import scalar_gpt  # noqa: E402

from model import BOS, load_model  # noqa: E402


def best_per_sequence(forward, seqs, repeats: int) -> float:
    """Seconds per sequence, the best of several passes (as timeit does: the minimum is
    the run least disturbed by the rest of the machine)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for seq in seqs:
            forward(seq)
        times.append((time.perf_counter() - start) / len(seqs))
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sequences", type=int, default=200)
    args = parser.parse_args()
    model = load_model()
    rng = np.random.default_rng(0)
    seqs = [[BOS] + rng.integers(0, 26, int(rng.integers(3, 16))).tolist()
            for _ in range(args.sequences)]
    state = {k: v.tolist() for k, v in model.params.items()}

    numpy_s = best_per_sequence(lambda seq: model.logits(seq), seqs, repeats=5)
    scalar_s = best_per_sequence(lambda seq: scalar_gpt.forward(state, seq), seqs, repeats=2)

    n_names = 2000
    start = time.perf_counter()
    for _ in range(n_names):
        model.sample("", 0.5, rng)
    names_per_s = n_names / (time.perf_counter() - start)

    mean_len = sum(map(len, seqs)) / len(seqs)
    print(f"sequences: {len(seqs)} (mean length {mean_len:.1f} tokens)")
    print(f"numpy forward (best of 5):  {numpy_s * 1e6:9.1f} us/sequence")
    print(f"scalar forward (best of 2): {scalar_s * 1e6:9.1f} us/sequence")
    print(f"ratio: numpy is {scalar_s / numpy_s:.0f}x faster (target >= 50x)")
    print(f"sampling: {names_per_s:.0f} names/s (KV cache, temperature 0.5)")


if __name__ == "__main__":
    main()
