"""Wall time of the worst submission, in each output format (target: under 90 s each).

One Budget (grader/sandbox/limits.py, 60 s) covers everything a submission controls in a grading
and its report, the HTML report's replay of failures included; this checks the bound from
the outside, as `python -m grader run` is used.

    python benchmarks/worst_case.py [--formats html text ...] [--sleep 1.9]
"""
import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from submissions import with_hooks, write_submission  # noqa: E402

TARGET_SECONDS = 90
FORMATS = ["text", "json", "gradescope", "junit", "html", "classroom"]


# the CLI with the static gate off: the hooks sleep (the gate refuses `import time`, and a
# busy loop's duration would follow the machine's load)
GATE_OFF = ("import sys, grader.grading.runner as r; from grader.integrity.gate import IntegrityReport; "
            "r.check_file = lambda path: IntegrityReport(True, [], []); from grader.cli import cli; "
            "sys.argv[0] = 'grader'; cli()")


def sleepy(seconds: float, variant: str) -> str:
    """Hooks that take just under the per-call limit: on every call (the smoke stage runs out
    of time: score 0 at once), or only on requests naming 'liam' (about one line of the smoke
    transcript, 68 cases of the default suites: it passes the smoke stage, then spends the
    whole budget on the cases, and the HTML report has failures to replay)."""
    when = "" if variant == "every" else "if 'liam' in prefixes:\n    "
    return with_hooks(prelude="import time", request_body=f"{when}time.sleep({seconds})\nreturn None")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--formats", nargs="+", default=["html"], choices=FORMATS)
    parser.add_argument("--sleep", type=float, default=1.9, help="seconds per hook call")
    parser.add_argument("--variant", choices=["every", "liam"], default="liam",
                        help="which calls sleep (default: requests naming liam, the slower one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        bot = write_submission(Path(folder), sleepy(args.sleep, args.variant))
        for fmt in args.formats:
            started = time.perf_counter()
            proc = subprocess.run([sys.executable, "-c", GATE_OFF, "run", str(bot), "--format", fmt,
                                   "--out", str(Path(folder) / f"report.{fmt}")], cwd=ROOT,
                                  capture_output=True, text=True)
            took = time.perf_counter() - started
            print(f"{args.variant:<8} {fmt:<10} {took:6.1f} s  exit {proc.returncode}  "
                  f"({'within' if took < TARGET_SECONDS else 'OVER'} the {TARGET_SECONDS} s target)")


if __name__ == "__main__":
    main()
