"""The page-cache timing channel (docs/security.md), with the integrity gate off: a worker
that reads a cold file warms it, and a later worker could tell warm from cold by timing its
own read. Under bubblewrap the view holds only the files workers need, and the grader reads
every file of the view before each worker starts, so no file a worker can open is ever cold.

Structural checks, no timing threshold (benchmarks/page_cache.py times the channel itself):
the writer cannot open its chosen file, and every file the reader can open is one that was
warmed before it started."""
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from cache_probe import needed_view, staged_names, writer_then_reader
from grader.errors import IsolationUnavailable
from grader.sandbox.isolation import SANDBOX_ROOT, choose_isolation, running_as_root
from grader.sandbox.view_store import NAME_SAFE, on_tmpfs, remove_orphaned_views, reusable, shared_view
from others import AS_NOBODY
from sandboxes import own_sandboxes  # noqa: F401  (a fixture)


def bubblewrap_works() -> bool:
    try:
        choose_isolation("bubblewrap")
        return True
    except IsolationUnavailable:
        return False


# in CI (.ci/run installs bubblewrap) the module runs, and fails where bubblewrap cannot
pytestmark = pytest.mark.skipif(not bubblewrap_works() and os.environ.get("CI") != "true",
                                reason="bubblewrap cannot run here")


def test_no_file_a_worker_can_read_is_cold_when_it_starts(tmp_path, own_sandboxes):  # noqa: F811
    wrote, read, warmed, views = writer_then_reader(tmp_path)
    assert wrote == "warmed:FileNotFoundError"  # the file of its choice is not in its view
    counts = dict(item.split(":") for item in read.split()[:2])
    assert int(counts["read"]) >= len(views[1]) > 100  # the reader opened its whole view...
    assert counts["unlisted"] == "0", read  # ...and nothing else
    assert len(warmed) == 2  # one warm-up before each worker, of every file of its view
    for before, view in zip(warmed, views):
        assert set(view.values()) <= before
    assert set(views[1]) == set(needed_view()[1]) | set(staged_names())
    if on_tmpfs(NAME_SAFE):  # a name looked up and not found leaves no entry there for a later worker
        assert all(Path(out).is_relative_to(NAME_SAFE) for inside, out in views[1].items()
                   if not inside.startswith(SANDBOX_ROOT))


AS_NOBODY_SCRIPT = """
import sys, tempfile
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from cache_probe import writer_then_reader
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


def test_a_view_left_by_a_killed_grader_is_removed(tmp_path):
    """A grader killed outright leaves its copy of the view (atexit does not run): the next
    one removes the views of processes that are gone, never a live one's."""
    orphan, live = tmp_path / "guardrail-view-999999999-ab", tmp_path / f"guardrail-view-{os.getpid()}-cd"
    for folder in (orphan, live):
        (folder / "usr").mkdir(parents=True)
    remove_orphaned_views(tmp_path)
    assert not orphan.exists() and live.exists()


def test_the_view_is_made_once_and_shared_while_its_sources_are_unchanged(tmp_path):
    """Census and copy cost seconds, so the view is kept for the next grading; a package
    changed under it (a copied file's size or time differs) makes a new one, and a folder
    others could write to is never used."""
    first = shared_view(tmp_path)
    folder = first.tree.parent
    made = folder.stat().st_ino
    assert shared_view(tmp_path) == first and folder.stat().st_ino == made
    manifest = json.loads((folder / "manifest.json").read_text())
    changed = next(iter(manifest["sources"]))
    manifest["sources"][changed][1] += 1
    (folder / "manifest.json").write_text(json.dumps(manifest))
    assert reusable(folder) is None
    again = shared_view(tmp_path)
    assert again.files == first.files and folder.stat().st_ino != made and reusable(folder) == again
    folder.chmod(0o777)
    assert reusable(folder) is None
