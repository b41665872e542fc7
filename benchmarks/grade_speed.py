"""Time grading the reference solution with the default suites (target: under 10 s).

    python benchmarks/grade_speed.py [--runs 3]
"""
import argparse
import time
from pathlib import Path

from grader.runner import grade
from grader.suites import suite_files

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    suites = suite_files("fruit")
    times = []
    for _ in range(args.runs):
        start = time.perf_counter()
        result = grade(ROOT / "policies" / "fruit" / "reference_bot.py", suites)
        times.append(time.perf_counter() - start)
    cases = len(result.cases)
    names = sum(c.names_emitted for c in result.cases)
    print(f"reference solution, default suites: {cases} cases, {names} names emitted, "
          f"score {result.percent:.1f}%")
    print(f"wall time per grading: best {min(times):.2f} s, worst {max(times):.2f} s "
          f"over {args.runs} runs (target < 10 s)")


if __name__ == "__main__":
    main()
