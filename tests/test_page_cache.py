"""The page-cache timing channel (docs/security.md), with the integrity gate off: a worker
that reads a cold file warms it, and a later worker could tell warm from cold by timing its
own read. Under bubblewrap the view holds only the files workers need, and the grader reads
every file of the view before each worker starts, so no file a worker can open is ever cold.

Structural checks, no timing threshold (benchmarks/page_cache.py times the channel itself):
the writer cannot open its chosen file, and every file the reader can open is one that was
warmed before it started."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import grader.sandbox.isolation
from grader.errors import IsolationUnavailable
from grader.sandbox.isolation import SANDBOX_ROOT, choose_isolation, running_as_root
from grader.sandbox.limits import Limits
from grader.sandbox.client import Sandbox
from grader.sandbox.view import needed_view
from sandboxes import UNNEEDED, own_sandboxes, walking_the_view  # noqa: F401,F811  (a fixture)
from submissions import write_submission

ROOT = Path(__file__).resolve().parent.parent
LIMITS = Limits(call_seconds=60, total_seconds=300, start_seconds=60, cpu_seconds=60)


def bubblewrap_works() -> bool:
    try:
        choose_isolation("bubblewrap")
        return True
    except IsolationUnavailable:
        return False


pytestmark = pytest.mark.skipif(not bubblewrap_works(), reason="bubblewrap cannot run here")


def staged_names() -> list[str]:
    """What grader/sandbox/client.py stages, as the worker sees it (its real path inside)."""
    kit = [f"kit/model/{p.name}" for p in (ROOT / "model").glob("*.py")] + ["kit/weights/model.json"]
    return [f"{SANDBOX_ROOT}/{name}" for name in ("worker.py", "guardrail_seccomp.py", "submission.py", *kit)]


def writer_then_reader(folder: Path) -> tuple[str, str, list[set[str]], list[dict[str, str]]]:
    """A writer sandbox warms the file of its choice, then a reader sandbox (a later stage or
    grading) opens every file it can: their answers, each warm-up's files and each worker's
    view (its files inside -> outside)."""
    warmed, views, original = [], [], grader.sandbox.isolation.warm

    def recording(paths):
        warmed.append(set(paths))
        original(paths)

    bot = write_submission(folder, walking_the_view([*needed_view()[1], *staged_names()]))
    grader.sandbox.isolation.warm = recording
    try:
        with Sandbox(bot, LIMITS, choose_isolation("bubblewrap")) as writer:
            wrote = writer.call("request", ["warm"]).reason
            views.append(writer.isolation.view())
        with Sandbox(bot, LIMITS, choose_isolation("bubblewrap")) as reader:
            read = reader.call("request", ["look"]).reason
            views.append(reader.isolation.view())
    finally:
        grader.sandbox.isolation.warm = original
    return wrote, read, warmed, views


def test_no_file_a_worker_can_read_is_cold_when_it_starts(tmp_path, own_sandboxes):
    wrote, read, warmed, views = writer_then_reader(tmp_path)
    assert wrote == "warmed:FileNotFoundError"  # the file of its choice is not in its view
    counts = dict(item.split(":") for item in read.split()[:2])
    assert int(counts["read"]) >= len(views[1]) > 100  # the reader opened its whole view...
    assert counts["unlisted"] == "0", read  # ...and nothing else
    assert len(warmed) == 2  # one warm-up before each worker, of every file of its view
    for before, view in zip(warmed, views):
        assert set(view.values()) <= before
    assert set(views[1]) == set(needed_view()[1]) | set(staged_names())


AS_NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "env", "HOME=/tmp"]
AS_NOBODY_SCRIPT = """
import sys, tempfile
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from test_page_cache import writer_then_reader
wrote, read, warmed, views = writer_then_reader(Path(tempfile.mkdtemp()))
print(wrote, read.split()[1], len(warmed), all(set(v.values()) <= w for w, v in zip(warmed, views)))
"""


@pytest.mark.skipif(not (running_as_root() and shutil.which("setpriv")),
                    reason="needs root (to become an ordinary user) and setpriv")
def test_an_ordinary_user_gets_the_same_view(others_python):
    kit_tests = Path(others_python).parent.parent.parent / "kit" / "tests"
    proc = subprocess.run([*AS_NOBODY, others_python, "-c", AS_NOBODY_SCRIPT, str(kit_tests)], cwd="/",
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["warmed:FileNotFoundError", "unlisted:0", "2", "True"]
