"""Where one grading's time goes: the stages, the waits on workers' start-ups and on the
submission's own bot.py, the round trips to workers and the closes, timed in the grader's
process (the second of two gradings, so per-process caches are warm), with the CPU of the
grader and of its workers; seconds and units of this machine (benchmarks/units.py).

    python benchmarks/grade_breakdown.py [SUBMISSION ...]   (default: the reference, the starter)
"""
import collections
import functools
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
from units import Units  # noqa: E402

import grader.grading.runner as runner  # noqa: E402
import grader.grading.smoke as smoke  # noqa: E402
from grader.data.suites import suite_files  # noqa: E402
from grader.kit import load_kit_model  # noqa: E402
from grader.sandbox.client import Sandbox  # noqa: E402

SPANS = collections.defaultdict(float)
COUNTS = collections.Counter()
TIMED = [(runner, "plan", "plan (suites, rubric)"), (runner, "check_file", "static gate"),
         (runner, "smoke", "smoke stage"), (runner, "run_cases", "cases stage"),
         (runner, "stateless_check", "replay stage"), (runner, "find_leaks", "  adversary"),
         (Sandbox, "__init__", "  staging a sandbox"), (Sandbox, "start", "  waiting for a worker's start-up"),
         (smoke, "run_own_bot", "  waiting for its own bot.py"), (Sandbox, "_pipeline", "  round trips"),
         (Sandbox, "close", "  closing a sandbox (in the background)")]


def timed(function, label):
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            SPANS[label] += time.perf_counter() - start
            COUNTS[label] += 1
    return wrapper


def cpu(who) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    for owner, name, label in TIMED:
        setattr(owner, name, timed(getattr(owner, name), label))
    paths = sys.argv[1:] or [ROOT / "policies" / "fruit" / "reference_bot.py", ROOT / "starter" / "bot.py"]
    suites, model = suite_files("fruit"), load_kit_model()
    rows = []
    with Units() as units:
        for path in paths:
            runner.grade(path, suites, model=model)
            SPANS.clear()
            COUNTS.clear()
            children, own, start = cpu(resource.RUSAGE_CHILDREN), cpu(resource.RUSAGE_SELF), time.perf_counter()
            runner.grade(path, suites, model=model)
            rows.append((path, time.perf_counter() - start, cpu(resource.RUSAGE_SELF) - own,
                         cpu(resource.RUSAGE_CHILDREN) - children, dict(SPANS), dict(COUNTS)))
    print(f"unit: {units.unit:.3f} s (the scalar reference on 30 sequences)")
    for path, wall, own, children, spans, counts in rows:
        print(f"{path}: wall {wall:.3f} s = {units(wall):.1f} units; CPU: grader {own:.3f} s, "
              f"workers {children:.3f} s")
        for label, seconds in spans.items():  # in the order they first ran
            print(f"  {label:36s} {seconds:6.3f} s {units(seconds):5.1f} units  x{counts[label]}")


if __name__ == "__main__":
    main()
