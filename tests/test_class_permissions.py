"""grade-all under a layer without a view of its own (fresh uid) closes the class folder and
each submission's folder to other users while their code runs, and puts back what it changed
(red team, attack 18: the class folder stayed 0750 after the run)."""
import stat
import subprocess
from pathlib import Path

import pytest

from grader.sandbox.isolation import running_as_root

ROOT = Path(__file__).resolve().parent.parent
# the CLI with the fresh-uid layer chosen (grade-all has no --isolation: it takes the strongest)
FRESH_UID_CLI = """
import sys
import grader.sandbox.request
from grader.cli import cli
from grader.sandbox.isolation import choose_isolation
grader.sandbox.request.choose_isolation = lambda name=None, require=False: choose_isolation("fresh-uid", require)
cli(prog_name="python -m grader", args=sys.argv[1:])
"""


@pytest.mark.skipif(not running_as_root(), reason="needs root: the fresh-uid layer is root's")
def test_grade_all_leaves_the_class_folders_as_it_found_them(tmp_path, others_python):
    folder = tmp_path / "class"
    (folder / "alice").mkdir(parents=True)
    starter = (ROOT / "starter" / "bot.py").read_text()
    (folder / "alice" / "bot.py").write_text(starter)
    (folder / "bob.py").write_text(starter)
    modes = {folder: 0o755, folder / "alice": 0o751}
    for path, mode in modes.items():
        path.chmod(mode)
    proc = subprocess.run([others_python, "-c", FRESH_UID_CLI, "grade-all", str(folder), "--suite", "smoke",
                           "--out", str(tmp_path / "grades.csv"), "--jobs", "2"],
                          capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "isolation: fresh-uid" in "".join(p.read_text() for p in (tmp_path / "grades-reports").iterdir())
    assert {path: stat.S_IMODE(path.stat().st_mode) for path in modes} == modes
