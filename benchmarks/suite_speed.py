"""Time the kit's whole test suite as the README runs it (target: under 2 minutes on a
2-core machine). It runs from a temporary folder, as the tests must pass from anywhere.

    python benchmarks/suite_speed.py [--runs 1]
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_SECONDS = 120


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    times = []
    with tempfile.TemporaryDirectory(prefix="suite-speed-") as elsewhere:
        for _ in range(args.runs):
            start = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", str(ROOT / "tests")],
                                  cwd=elsewhere, capture_output=True, text=True)
            times.append(time.perf_counter() - start)
            if proc.returncode != 0:
                sys.exit(f"the suite failed (exit {proc.returncode}):\n{proc.stdout[-2000:]}")
    summary = proc.stdout.strip().splitlines()[-1]
    print(f"{summary}; {os.cpu_count()} cores")
    print(f"wall time of the suite: best {min(times):.0f} s, worst {max(times):.0f} s over "
          f"{args.runs} run(s) (target < {TARGET_SECONDS} s on 2 cores)")


if __name__ == "__main__":
    main()
