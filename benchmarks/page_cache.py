"""The page-cache timing channel, timed: can one sandbox pass bits to a later one?

With the integrity gate off (as a gate escape would), a writer worker reads the files whose
bit is 1 among 16 files of its view (warming them), and a reader worker in a later sandbox
times a read of each of the 16 and decodes: the faster half is warm (1), the rest cold (0). The
16 files are made cold first (the demo, unlike a worker, may drop them from the cache).
Under bubblewrap the grader reads every file of the view before each worker starts, so the
reader finds them all warm and decodes noise; `--no-warm` skips that warm-up to show the
channel the demo would otherwise measure. The bits are those of two letters of a "hidden
request". The writer also looks up a missing name in /usr/lib per bit 1, and the reader times
a lookup of each: on a disk's file system a name found missing once is found missing faster
after; the view lives on a tmpfs (/dev/shm), which keeps no such entry.

    python benchmarks/page_cache.py [--no-warm] [--on-disk] [--secret zq]
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
import grader.sandbox.view_store  # noqa: E402
from grader.sandbox.client import Sandbox  # noqa: E402
from grader.sandbox.isolation import choose_isolation  # noqa: E402
from grader.sandbox.limits import Limits  # noqa: E402
from submissions import with_hooks, write_submission  # noqa: E402

LIMITS = Limits(call_seconds=60, total_seconds=300, start_seconds=60, cpu_seconds=60)
BITS = 16


def hooks(files: list[str], bits: list[int]) -> str:
    """Asked ['write'], read the files whose bit is 1 and look up a missing name per bit 1;
    asked ['read'], time a read of each file and a lookup of each name (ns), apart by '|'."""
    return with_hooks(prelude=f"import os, time\nFILES = {files!r}\nBITS = {bits!r}\nTAG = {os.getpid()}",
                      request_body="""
        files, names = [], []
        for i, (path, bit) in enumerate(zip(FILES, BITS)):
            if prefixes == ['write'] and not bit:
                continue
            started = time.perf_counter_ns()
            with open(path, 'rb') as f:
                while f.read(1 << 16):
                    pass
            files.append(str(time.perf_counter_ns() - started))
            started = time.perf_counter_ns()
            try:
                os.stat(f'/usr/lib/guardrail-{TAG}-{i}')
            except OSError:
                pass
            names.append(str(time.perf_counter_ns() - started))
        return ' '.join(files) + ' | ' + ' '.join(names)""")


def decoded(times: list[int], secret: list[int]) -> str:
    """A reader's guess, knowing nothing: the faster half was sent (1)."""
    bits = [int(t <= statistics.median(times)) for t in times]
    unsent = statistics.median(t for t, s in zip(times, secret) if not s)
    sent = statistics.median(t for t, s in zip(times, secret) if s)
    return (f"median {unsent / 1e3:.1f} us not sent, {sent / 1e3:.1f} us sent; decoded {''.join(map(str, bits))}: "
            f"{sum(b == s for b, s in zip(bits, secret))}/{len(secret)} bits right")


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
    parser.add_argument("--on-disk", action="store_true",
                        help="make the view on disk, not on a tmpfs (where no tmpfs can hold it)")
    parser.add_argument("--secret", default="zq", help="two letters the writer passes on")
    args = parser.parse_args()
    secret = [int(b) for ch in args.secret[:2].encode() for b in f"{ch:08b}"]
    if args.no_warm:
        grader.sandbox.isolation.warm = lambda paths: None
    if args.on_disk:
        grader.sandbox.view_store.NAME_SAFE = Path("/nonexistent")
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
            files_ns, names_ns = reader.call("request", ["read"]).reason.split(" | ")
    print(f"view {'on disk' if args.on_disk else 'on a tmpfs'}, warm-up {'off' if args.no_warm else 'on'}, "
          f"sent {''.join(map(str, secret))}")
    print("  file reads:  ", decoded([int(t) for t in files_ns.split()], secret))
    print("  name lookups:", decoded([int(t) for t in names_ns.split()], secret))

if __name__ == "__main__":
    main()
