"""Time `grade-all` on 50 submissions (a mix of reference, starter, flawed, broken and tampered
ones) with the default suites, across the machine's cores, in units of this machine
(benchmarks/units.py). Target (#20): at most 6 units per submission with --jobs 2.

    python benchmarks/grade_all_speed.py [--count 40] [--jobs 2]
"""
import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))
from submissions import splice, with_hooks  # noqa: E402
from units import Units  # noqa: E402

from grader.classes.batch import Settings, grade_all  # noqa: E402
from grader.classes.discovery import find_submissions  # noqa: E402
from grader.classes.gradebook import summary  # noqa: E402
from grader.kit import load_kit_model  # noqa: E402
from grader.data.suites import load_suites, suite_files  # noqa: E402

KINDS = {
    "reference": (ROOT / "policies" / "fruit" / "reference_bot.py").read_text(),
    "starter": (ROOT / "starter" / "bot.py").read_text(),
    "always_refuse": splice(with_hooks(request_body="return 'No.'", name_body="return False")),
    "broken": "def is_safe_name(:\n",
    "tampered": splice(with_hooks()).replace("run_bot(is_safe_request,", "run_bot(lambda p: None,"),
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=40)
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "submissions"
        folder.mkdir()
        kinds = list(KINDS)
        for i in range(args.count):
            kind = kinds[i % len(kinds)]
            (folder / f"s{i:03d}_{kind}.py").write_text(KINDS[kind])
        reports = Path(tmp) / "reports"
        reports.mkdir()
        with Units() as units:
            start = time.perf_counter()
            submissions, _ = find_submissions(folder)
            settings = Settings(load_suites(suite_files("fruit")), model=load_kit_model())
            batch = grade_all(submissions, settings, reports, jobs=args.jobs)
            elapsed = time.perf_counter() - start
    print(summary(batch.rows, top=3), end="")
    print(f"unit: {units.unit:.3f} s (the scalar reference on 30 sequences)")
    print(f"{args.count} submissions, {args.jobs} jobs: {elapsed:.1f} s, {elapsed / args.count:.2f} s "
          f"= {units(elapsed / args.count):.1f} units per submission (target <= 6)")


if __name__ == "__main__":
    main()
