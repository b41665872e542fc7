"""The page-cache timing channel, timed: can one sandbox pass bits to a later one?

With the integrity gate off (as a gate escape would), a writer worker reads the files whose
bit is 1 among 16 files of its view (warming them), and a reader worker in a later sandbox
times a read of each of the 16 and decodes: three times slower than the fastest is cold (0),
else warm (1). The
16 files are made cold first (the demo, unlike a worker, may drop them from the cache).
Under bubblewrap the grader reads every file of the view before each worker starts, so the
reader finds them all warm and decodes noise; `--no-warm` skips that warm-up to show the
channel the demo would otherwise measure. The bits are those of two letters of a "hidden
request".

    python benchmarks/page_cache.py [--no-warm] [--secret zq]
"""
import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import grader.sandbox.isolation  # noqa: E402
from grader.sandbox.client import Sandbox  # noqa: E402
from grader.sandbox.isolation import choose_isolation  # noqa: E402
from grader.sandbox.limits import Limits  # noqa: E402
from submissions import with_hooks, write_submission  # noqa: E402

LIMITS = Limits(call_seconds=60, total_seconds=300, start_seconds=60, cpu_seconds=60)
BITS = 16


def hooks(files: list[str], bits: list[int]) -> str:
    """Asked ['write'], read the files whose bit is 1; asked ['read'], time a read of each (ns)."""
    return with_hooks(prelude=f"import time\nFILES = {files!r}\nBITS = {bits!r}", request_body="""
        times = []
        for path, bit in zip(FILES, BITS):
            if prefixes == ['write'] and not bit:
                continue
            started = time.perf_counter_ns()
            with open(path, 'rb') as f:
                while f.read(1 << 16):
                    pass
            times.append(str(time.perf_counter_ns() - started))
        return ' '.join(times)""")


def make_cold(paths: list[str]) -> None:
    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)  # a page still to be written back cannot be dropped
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--no-warm", action="store_true", help="skip the grader's warm-up (the channel open)")
    parser.add_argument("--secret", default="zq", help="two letters the writer passes on")
    args = parser.parse_args()
    secret = [int(b) for ch in args.secret[:2].encode() for b in f"{ch:08b}"]
    if args.no_warm:
        grader.sandbox.isolation.warm = lambda paths: None
    with tempfile.TemporaryDirectory() as folder:
        layer = choose_isolation("bubblewrap")
        with Sandbox(write_submission(Path(folder), "pass"), LIMITS, layer) as probe:
            view = probe.isolation.view()
        # the largest module sources of the view: a worker imports their cached bytecode and
        # reads a source only for a traceback, so nothing but the writer warms them
        files = sorted((p for p in view if p.endswith(".py") and not p.startswith(grader.sandbox.isolation.SANDBOX_ROOT)),
                       key=lambda p: -os.path.getsize(view[p]))[:BITS]
        bot = write_submission(Path(folder), hooks(files, secret))
        make_cold([view[p] for p in files])
        with Sandbox(bot, LIMITS, choose_isolation("bubblewrap")) as writer:
            writer.call("request", ["write"])
        with Sandbox(bot, LIMITS, choose_isolation("bubblewrap")) as reader:
            times = [int(t) for t in reader.call("request", ["read"]).reason.split()]
    decoded = [int(t <= 3 * min(times)) for t in times]
    right = sum(d == s for d, s in zip(decoded, secret))
    print(f"warm-up {'off' if args.no_warm else 'on'}: read times {min(times) / 1e6:.2f}-{max(times) / 1e6:.2f} ms; "
          f"cold files {statistics.mean(t for t, s in zip(times, secret) if not s) / 1e6:.2f} ms on average, "
          f"warmed {statistics.mean(t for t, s in zip(times, secret) if s) / 1e6:.2f} ms; "
          f"sent {''.join(map(str, secret))}, decoded {''.join(map(str, decoded))}: {right}/{BITS} bits right")


if __name__ == "__main__":
    main()
