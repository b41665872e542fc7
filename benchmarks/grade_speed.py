"""Time grading the reference solution and the untouched starter with the default suites, in
units of this machine (benchmarks/units.py). Targets (#20): reference <= 10 units, starter
<= 12 units (about 1 s and 1.3 s on the 2-core machine the issue measured).

    python benchmarks/grade_speed.py [--runs 3]
"""
import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
from units import Units  # noqa: E402

from grader import grade, load_kit_model, suite_files  # noqa: E402

TARGETS = {"reference": (ROOT / "policies" / "fruit" / "reference_bot.py", 10),
           "starter": (ROOT / "starter" / "bot.py", 12)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    suites, model = suite_files("fruit"), load_kit_model()
    with Units() as units:
        times = {}
        for label, (path, _) in TARGETS.items():
            for _ in range(args.runs):
                start = time.perf_counter()
                result = grade(path, suites, model=model)
                times.setdefault(label, []).append(time.perf_counter() - start)
            names = sum(c.names_emitted for c in result.cases)
            print(f"{label}: {len(result.cases)} cases, {names} names emitted, score {result.percent:.1f}%")
    print(f"unit: {units.unit:.3f} s (the scalar reference on 30 sequences)")
    for label, (_, target) in TARGETS.items():
        best = min(times[label])
        print(f"{label}: best {best:.2f} s = {units(best):.1f} units over {args.runs} runs (target <= {target})")


if __name__ == "__main__":
    main()
