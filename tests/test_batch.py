"""Grading a class with grade-all: every submission one row and a report that never clashes
or goes stale, one failure boundary per submission, Ctrl-C, a stuck grading, --only."""
import csv
import functools
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.cli import cli
from grader.classes.gradebook import FULL_SUFFIX, full_report_name
from grader.sandbox.limits import Limits
from grader.grading.runner import grade
from sandboxes import descendants
from submissions import splice, with_hooks

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "policies" / "fruit" / "reference_bot.py"
STARTER = ROOT / "starter" / "bot.py"
HANG = splice(with_hooks(name_body="while True:\n    pass"))
# hangs while importing: still running seconds later (a hook that hangs fails the smoke stage at once)
SLOW_START = splice(with_hooks(prelude="while True:\n    pass"))
BROKEN = "def is_safe_name(:\n"
FAST = Limits(call_seconds=0.5, total_seconds=4, start_seconds=10, cpu_seconds=20, max_restarts=1)


def student_reports(folder: Path) -> list[str]:
    """The reports folder without the instructors' full reports beside each report."""
    return sorted(p.name for p in folder.iterdir() if not p.name.endswith(FULL_SUFFIX))


def grade_all(folder: Path, out: Path, *extra: str):
    return CliRunner().invoke(cli, ["grade-all", str(folder), "--out", str(out), "--suite", "smoke", *extra])


def gradebook(path: Path) -> dict[str, dict]:
    with open(path, newline="") as f:
        return {r["submission"]: r for r in csv.DictReader(f)}


@pytest.fixture
def fast_limits(monkeypatch):
    """Batch gradings (forked from this process) run with short limits: a hang costs ~2 s."""
    monkeypatch.setattr("grader.classes.batch.grade", functools.partial(grade, limits=FAST))


def test_every_submission_gets_one_row_and_its_own_report(tmp_path, fast_limits):
    folder = tmp_path / "class"
    for name in ("alice", "x.py", "deep/nested", "team/.git"):
        (folder / name).mkdir(parents=True)
    (folder / "alice.py").write_text(REFERENCE.read_text())
    (folder / "alice" / "bot.py").write_text(BROKEN)  # broken ones cost no grading time
    (folder / "alice__bot.py").write_text(BROKEN)  # flattens like alice/bot.py
    (folder / "Bot.PY").write_text(BROKEN)
    (folder / "deep" / "nested" / "bot.py").write_text(STARTER.read_text())
    (folder / "x.py" / "notes.txt").write_text("a folder, not a submission")
    (folder / "team" / ".git" / "bot.py").write_text("not searched")
    (folder / "broken.py").write_text(BROKEN)
    (folder / "hangs.py").write_text(HANG)
    hostile = splice(with_hooks(request_body="return '\\x1b[2J=cmd|calc\\r\\nforged,row'"))
    (folder / "=evil\x1b[31m.py").write_text(hostile)
    (folder / "link.py").symlink_to(REFERENCE)
    out = tmp_path / "grades.csv"
    result = grade_all(folder, out, "--jobs", "2")
    assert result.exit_code == 0, result.output
    rows = gradebook(out)
    assert set(rows) == {"alice.py", "alice/bot.py", "alice__bot.py", "Bot.PY", "deep/nested/bot.py",
                         "broken.py", "hangs.py", "'=evil\\u001b[31m.py"}
    assert rows["alice.py"]["status"] == "graded" and float(rows["alice.py"]["percent"]) == 100
    assert {rows[n]["status"] for n in ("broken.py", "alice/bot.py", "Bot.PY")} == {"integrity_failed"}
    assert rows["deep/nested/bot.py"]["status"] == "graded"
    assert rows["hangs.py"]["status"] in ("graded", "integrity_failed")  # scored, whatever it did
    assert float(rows["hangs.py"]["percent"]) < 100
    reports = tmp_path / "grades-reports"
    names = [r["report"] for r in rows.values()]
    assert len(set(n.casefold() for n in names)) == len(rows)
    assert student_reports(reports) == sorted(names + [".guardrail-reports"])
    full = sorted(p.name for p in reports.iterdir() if p.name.endswith(FULL_SUFFIX))
    assert full == sorted(full_report_name(r["report"]) for r in rows.values())  # every row has a result
    assert rows["alice/bot.py"]["report"].startswith("alice__bot.py-")  # the clash gets a hash
    assert rows["deep/nested/bot.py"]["report"] == "deep__nested__bot.py.txt"
    assert "\x1b" not in out.read_text() + result.stdout
    assert "skipped: x.py/: a folder holding no bot.py" in result.stdout
    assert "skipped: link.py: a symbolic link, not followed" in result.stdout
    assert "skipped: team/" in result.stdout  # .git is not searched
    graded = sum(r["status"] == "graded" for r in rows.values())
    assert result.stdout.startswith(f"8 submissions: {graded} graded, {8 - graded} failed integrity\n")
    assert 3 <= graded <= 4  # the hang may count as runtime tampering
    assert f"most-failed cases (of {graded} graded):" in result.stdout


def test_a_second_run_replaces_the_reports_and_only_updates_one_row(tmp_path):
    folder = tmp_path / "class"
    folder.mkdir()
    for name in ("a.py", "b.py", "c.py"):
        (folder / name).write_text(BROKEN)
    out = tmp_path / "grades.csv"
    assert grade_all(folder, out, "--format", "json").exit_code == 0
    (folder / "c.py").unlink()
    assert grade_all(folder, out).exit_code == 0
    reports = tmp_path / "grades-reports"
    assert student_reports(reports) == [".guardrail-reports", "a.py.txt", "b.py.txt"]
    before = gradebook(out)
    (folder / "b.py").write_text(REFERENCE.read_text())
    result = grade_all(folder, out, "--only", "b.py")
    assert result.exit_code == 0, result.output
    after = gradebook(out)
    assert {k: after["a.py"][k] for k in before["a.py"]} == before["a.py"]  # as it was
    assert gradebook(out)["b.py"]["status"] == "graded" and gradebook(out)["b.py"]["percent"] == "100.0"
    assert student_reports(reports) == [".guardrail-reports", "a.py.txt", "b.py.txt"]
    unknown = grade_all(folder, out, "--only", "zed.py")
    assert unknown.exit_code == 2 and unknown.stderr.startswith("Error: --only zed.py: no submission")


def test_grade_all_refuses_a_reports_folder_it_did_not_make(tmp_path):
    (tmp_path / "class").mkdir()
    (tmp_path / "class" / "a.py").write_text(STARTER.read_text())
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("keep me")
    result = grade_all(tmp_path / "class", tmp_path / "g.csv", "--reports", str(tmp_path / "mine"))
    assert result.exit_code == 2
    assert "holds files grade-all did not write" in result.stderr
    assert (tmp_path / "mine" / "thesis.tex").read_text() == "keep me"


def test_a_report_that_cannot_be_written_spares_the_others(tmp_path, monkeypatch):
    from grader.classes import batch
    real = batch.write_atomic

    def failing(path, text):
        if path.name.startswith("b."):
            raise OSError(28, "No space left on device")
        real(path, text)
    monkeypatch.setattr(batch, "write_atomic", failing)
    folder = tmp_path / "class"
    folder.mkdir()
    for name in ("a.py", "b.py", "c.py"):
        (folder / name).write_text(BROKEN)
    result = grade_all(folder, tmp_path / "g.csv")
    assert result.exit_code == 3  # a grader fault on any row
    rows = gradebook(tmp_path / "g.csv")
    assert [r["status"] for r in rows.values()] == ["integrity_failed", "grader_fault", "integrity_failed"]
    assert rows["b.py"]["note"].startswith("the report could not be written (OSError")


def test_a_grading_stuck_past_its_limit_is_stopped_as_a_grader_fault(tmp_path, monkeypatch):
    monkeypatch.setattr("grader.classes.batch.MAX_GRADING_SECONDS", 1.0)
    folder = tmp_path / "class"
    folder.mkdir()
    (folder / "hang.py").write_text(HANG)
    started = time.monotonic()
    result = grade_all(folder, tmp_path / "g.csv")
    assert result.exit_code == 3 and time.monotonic() - started < 5
    row = gradebook(tmp_path / "g.csv")["hang.py"]
    assert row["status"] == "grader_fault"
    assert row["note"] == "the grading took over 1.0 s and was stopped"
    assert (tmp_path / "g-reports" / row["report"]).read_text().endswith("grader fault: " + row["note"] + "\n")


def test_foreign_weights_stop_grade_all_as_a_grader_fault_like_run(tmp_path, monkeypatch):
    monkeypatch.setattr("grader.kit.SHIPPED_SHA256", "0" * 64)
    (tmp_path / "class").mkdir()
    (tmp_path / "class" / "a.py").write_text(STARTER.read_text())
    results = [grade_all(tmp_path / "class", tmp_path / "g.csv"),
               CliRunner().invoke(cli, ["run", str(STARTER), "--suite", "smoke"])]
    for result in results:
        assert result.exit_code == 3
        assert result.stderr.startswith("Error: ") and "is not the kit's" in result.stderr
    assert not (tmp_path / "g.csv").exists()


def test_grade_all_refuses_to_grade_unisolated_unless_allowed(tmp_path, monkeypatch):
    monkeypatch.setattr("grader.sandbox.isolation.bwrap_binary", lambda: None)
    monkeypatch.setattr("grader.sandbox.isolation.running_as_root", lambda: False)
    (tmp_path / "class").mkdir()
    (tmp_path / "class" / "a.py").write_text(STARTER.read_text())
    refused = grade_all(tmp_path / "class", tmp_path / "g.csv")
    assert refused.exit_code == 2 and refused.stderr.count("\n") == 1
    assert "pass --allow-unisolated to grade anyway" in refused.stderr
    assert not (tmp_path / "g.csv").exists()
    allowed = grade_all(tmp_path / "class", tmp_path / "g.csv", "--allow-unisolated")
    assert allowed.exit_code == 0
    assert gradebook(tmp_path / "g.csv")["a.py"]["note"].startswith("isolation: none")


def test_grade_all_rejects_an_empty_folder(tmp_path):
    folder = tmp_path / "class"
    folder.mkdir()
    result = CliRunner().invoke(cli, ["grade-all", str(folder), "--out", str(tmp_path / "g.csv")])
    assert result.exit_code == 2
    assert result.stderr == (f"Error: {folder}: no submissions found (a *.py file, or a folder "
                             "holding a bot.py)\n")


def alive(pids: set[int]) -> list[int]:
    """The pids still running (not zombies waiting to be reaped)."""
    found = []
    for pid in pids:
        try:
            if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
                found.append(pid)
        except (OSError, IndexError):
            continue
    return found


@pytest.fixture
def scratch():
    """A temporary folder of this test's own that sandbox users can traverse (as /tmp)."""
    folder = Path(tempfile.mkdtemp(prefix="guardrail-test-"))
    folder.chmod(0o711)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_ctrl_c_stops_within_2_s_with_a_partial_gradebook(tmp_path, scratch, spawn):
    folder = tmp_path / "class"
    folder.mkdir()
    (folder / "a.py").write_text(REFERENCE.read_text())
    for i in range(4):
        (folder / f"hang{i}.py").write_text(SLOW_START)
    out, reports = tmp_path / "g.csv", tmp_path / "g-reports"
    reports.mkdir()  # a previous run's: hang0.py keeps its row and report
    (reports / ".guardrail-reports").write_text("")
    (reports / "hang0.py.txt").write_text("the previous report")
    out.write_text("submission,status,score,max_score,percent,report,note\n"
                   "hang0.py,graded,1.0,5.0,20.0,hang0.py.txt,\ngone.py,graded,5.0,5.0,100.0,gone.py.txt,\n")
    proc = spawn([sys.executable, "-m", "grader", "grade-all", str(folder), "--out", str(out), "--suite", "smoke",
                  "--jobs", "2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                 env={**os.environ, "TMPDIR": str(scratch)})
    assert proc.stderr.readline().startswith("graded 1/5 a.py: graded 100.0%")
    time.sleep(0.5)  # the hangs are running now
    running = descendants(proc.pid)
    assert running
    started = time.monotonic()
    proc.send_signal(signal.SIGINT)
    time.sleep(0.05)
    proc.send_signal(signal.SIGINT)  # an impatient second Ctrl-C changes nothing
    code = proc.wait(timeout=10)
    stopped_in = time.monotonic() - started
    assert stopped_in < 2, stopped_in
    assert code == 130
    assert "the gradebook is partial" in proc.stderr.read()
    deadline = time.monotonic() + 1  # SIGKILLed processes may take a moment to be gone
    while alive(running) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(running)
    assert list(scratch.iterdir()) == []
    rows = gradebook(out)
    assert set(rows) == {"a.py", "hang0.py", "hang1.py", "hang2.py", "hang3.py"}  # gone.py is gone
    assert rows["a.py"]["status"] == "graded"
    assert rows["hang0.py"]["percent"] == "20.0" and rows["hang0.py"]["note"].startswith("kept from the previous")
    assert {rows[f"hang{i}.py"]["status"] for i in range(1, 4)} == {"interrupted"}
    assert student_reports(reports) == [".guardrail-reports", "a.py.txt",
                                                         *(f"hang{i}.py.txt" for i in range(4))]
    assert (reports / "hang0.py.txt").read_text() == "the previous report"
    assert "interrupted: grading was interrupted" in (reports / "hang1.py.txt").read_text()


def test_odd_names_each_keep_their_own_row_and_every_skip_is_listed(tmp_path):
    folder = tmp_path / "class"
    (folder / "carol" / "a" / "b" / "c" / "d").mkdir(parents=True)
    (folder / "bob").mkdir()
    (folder / "__pycache__").mkdir()
    (folder / "=x.py").write_text(BROKEN)
    (folder / "'=x.py").write_text(BROKEN)  # its cell must differ from =x.py's spreadsheet-safe one
    Path(os.fsdecode(os.fsencode(folder) + b"/bad\xffname.py")).write_text(REFERENCE.read_text())
    (folder / "carol" / "bot.py").write_text(BROKEN)
    (folder / "carol" / "a" / "b" / "c" / "d" / "bot.py").write_text(BROKEN)
    os.mkfifo(folder / "carol" / "BOT.py")
    (folder / "bob" / "bot.py").symlink_to(REFERENCE)
    (folder / "__pycache__" / "bot.py").write_text(BROKEN)
    out = tmp_path / "grades.csv"
    result = grade_all(folder, out)
    assert result.exit_code == 0, result.output
    rows = gradebook(out)
    assert set(rows) == {"'=x.py", "''=x.py", "bad\\udcffname.py", "carol/bot.py"}
    assert rows["bad\\udcffname.py"]["status"] == "graded" and rows["bad\\udcffname.py"]["percent"] == "100.0"
    for skipped in ("__pycache__/: a folder of caches", "bob/bot.py: a symbolic link", "carol/BOT.py: not a "
                    "regular file", "carol/a/b/c/d/bot.py: more than 4 folders down"):
        assert f"skipped: {skipped}" in result.stdout
    assert [line for line in result.stdout.splitlines() if len(line) > 80
            and not line.startswith(("gradebook: ", "reports: "))] == []  # paths are never wrapped
    again = grade_all(folder, out, "--only", "''=x.py")  # the name as the gradebook shows it
    assert again.exit_code == 0, again.output
    assert gradebook(out) == rows | {"''=x.py": gradebook(out)["''=x.py"]}


def test_outputs_are_checked_before_grading_and_replace_only_what_grade_all_wrote(tmp_path):
    folder = tmp_path / "class"
    folder.mkdir()
    (folder / "amy.py").write_text(BROKEN)
    notes = tmp_path / "notes.csv"
    notes.write_text("precious")
    good = tmp_path / "g.csv"
    for args, message in ((["--out", str(folder / "amy.py")], "inside the class folder"),
                          (["--out", str(folder / "grades.csv")], "inside the class folder"),
                          (["--out", str(good), "--reports", str(folder / "reports")], "inside the class folder"),
                          (["--out", str(good), "--dashboard", str(folder / "amy.py")], "inside the class folder"),
                          (["--out", str(good), "--dashboard", str(good)], "would replace the gradebook"),
                          (["--out", str(notes)], "not a gradebook written by grade-all"),
                          (["--out", str(good), "--dashboard", str(notes)], "not a dashboard grade-all wrote"),
                          (["--out", "/proc/g.csv"], "cannot write in /proc")):
        result = CliRunner().invoke(cli, ["grade-all", str(folder), "--suite", "smoke", *args])
        assert result.exit_code == 2 and message in result.stderr and len(result.stderr.splitlines()) == 1
        assert result.stdout == ""  # refused before any grading
    assert (folder / "amy.py").read_text() == BROKEN and notes.read_text() == "precious"
    assert sorted(p.name for p in folder.iterdir()) == ["amy.py"]


def test_only_removes_the_report_a_new_name_replaces(tmp_path):
    folder = tmp_path / "class"
    folder.mkdir()
    (folder / "alice.py").write_text(BROKEN)
    out = tmp_path / "grades.csv"
    assert grade_all(folder, out).exit_code == 0
    (folder / "ALICE.py").write_text(BROKEN)  # alice.py's report now needs a hashed name
    assert grade_all(folder, out, "--only", "alice.py").exit_code == 0
    report = gradebook(out)["alice.py"]["report"]
    assert report.startswith("alice.py-")
    assert student_reports(tmp_path / "grades-reports") == [".guardrail-reports", report]
    assert sorted(p.name for p in (tmp_path / "grades-reports").glob(f"*{FULL_SUFFIX}")) == [full_report_name(report)]
