"""One `grader run` reads each data file (policy, derived names, rubric, every suite, the
model's weights) once: the plan is made once and passed on, a suite keeps the bytes it was
loaded from, and every sandbox's copy of the weights is written from the bytes checked."""
from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Python's audit hook sees every open() of the process, whoever makes it.
COUNTING_RUN = r"""
import json, os, sys
opened = []
def hook(event, args):
    if event == "open" and isinstance(args[0], (str, bytes, os.PathLike)):
        opened.append(os.path.realpath(os.fsdecode(args[0])))
sys.addaudithook(hook)
from grader.cli import cli
try:
    cli(sys.argv[1:], prog_name="grader")
except SystemExit:
    pass
print(json.dumps(opened), file=sys.stderr)
"""


def test_one_run_reads_each_data_file_once(tmp_path):
    out = tmp_path / "report.html"  # html: the report's replay of failures loads nothing again
    proc = subprocess.run([sys.executable, "-c", COUNTING_RUN, "run", "starter/bot.py", "--format", "html",
                           "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.is_file(), proc.stderr[-2000:]
    opened = Counter(json.loads(proc.stderr.strip().splitlines()[-1]))
    policies = (ROOT / "policies").resolve()
    data = {p: n for p, n in opened.items() if p.endswith(".toml") and Path(p).is_relative_to(policies)}
    expected = {str(p.resolve()) for p in [policies / "fruit.toml", *(policies / "fruit").rglob("*.toml")]}
    assert set(data) == expected
    assert {p: n for p, n in data.items() if n != 1} == {}
    # the check and the stages' sandboxes (three, and the report's replay) share one read
    assert opened[str((ROOT / "weights" / "model.json").resolve())] == 1
