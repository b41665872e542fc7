"""Grading a class: batch grading, the Gradescope zip end to end, the student bundle."""
import csv
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.cli import cli
from submissions import splice, with_hooks

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "policies" / "fruit" / "reference_bot.py"


def test_grade_all_survives_a_mixed_class(tmp_path):
    folder = tmp_path / "class"
    folder.mkdir()
    (folder / "good.py").write_text(REFERENCE.read_text())
    (folder / "starter.py").write_text((ROOT / "starter" / "bot.py").read_text())
    (folder / "hangs.py").write_text(splice(with_hooks(name_body="while True:\n    pass")))
    (folder / "broken.py").write_text("def is_safe_name(:\n")
    (folder / "team").mkdir()
    (folder / "team" / "bot.py").write_text(splice(with_hooks(request_body="return 'No.'")))
    (folder / "notes.txt").write_text("not a submission")
    out = tmp_path / "grades.csv"
    result = CliRunner().invoke(cli, ["grade-all", str(folder), "--out", str(out), "--suite", "smoke",
                                      "--jobs", "2", "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = {r["submission"]: r for r in csv.DictReader(out.open())}
    assert set(rows) == {"broken.py", "good.py", "hangs.py", "starter.py", "team/bot.py"}
    assert rows["good.py"]["status"] == "graded" and float(rows["good.py"]["percent"]) == 100
    assert rows["broken.py"]["status"] == "integrity_failed" and float(rows["broken.py"]["score"]) == 0
    assert rows["broken.py"]["integrity"].startswith("line 1: [markers]")
    assert rows["hangs.py"]["status"] == "graded" and float(rows["hangs.py"]["percent"]) < 100
    assert float(rows["starter.py"]["percent"]) == 50
    assert list(rows["good.py"]) == ["submission", "status", "score", "max_score", "percent", "smoke",
                                     "integrity", "seconds", "note"]
    reports = tmp_path / "grades-reports"
    assert sorted(p.name for p in reports.iterdir()) == ["broken.json", "good.json", "hangs.json",
                                                         "starter.json", "team.json"]
    assert json.loads((reports / "good.json").read_text())["percent"] == 100
    assert result.stdout.startswith("5 submissions: 4 graded, 1 failed integrity, 0 not graded\n")
    assert f"gradebook: {out}  reports: {reports}/\n" in result.stdout


def test_grade_all_rejects_an_empty_folder(tmp_path):
    result = CliRunner().invoke(cli, ["grade-all", str(tmp_path), "--out", str(tmp_path / "g.csv")])
    assert result.exit_code == 2
    assert result.stderr == f"Error: {tmp_path}: no *.py or */bot.py submissions found\n"


def run_autograder(tmp_path: Path, submission: str | None, zip_path: Path) -> dict:
    root = tmp_path / "autograder"
    (root / "source").mkdir(parents=True)
    (root / "submission").mkdir()
    with zipfile.ZipFile(zip_path) as z:
        z.extractall(root / "source")
    for name in ("run_autograder", "setup.sh"):
        (root / "source" / name).chmod(0o755)
    if submission is not None:
        (root / "submission" / "bot.py").write_text(submission)
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    proc = subprocess.run(["bash", str(root / "source" / "run_autograder")], env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads((root / "results" / "results.json").read_text())


@pytest.fixture(scope="module")
def autograder_zip(tmp_path_factory):
    out = tmp_path_factory.mktemp("bundle") / "autograder.zip"
    result = CliRunner().invoke(cli, ["bundle", "gradescope", "--out", str(out),
                                      "--hidden-visibility", "after_published"])
    assert result.exit_code == 0, result.output
    return out


def test_gradescope_zip_layout(autograder_zip):
    names = zipfile.ZipFile(autograder_zip).namelist()
    assert {"setup.sh", "run_autograder", "pyproject.toml", "weights/model.json",
            "starter/bot.py"} <= set(names)
    assert any("/hidden/" in n for n in names)
    assert not any(n.endswith("reference_bot.py") or n.startswith("tests/") for n in names)


def test_gradescope_zip_grades_end_to_end(tmp_path, autograder_zip):
    doc = run_autograder(tmp_path, REFERENCE.read_text(), autograder_zip)
    assert doc["score"] == pytest.approx(100)
    assert {"score", "execution_time", "output", "visibility", "stdout_visibility", "tests"} == set(doc)
    visibilities = {t["visibility"] for t in doc["tests"]}
    assert visibilities == {"visible", "after_published"}
    assert all(t["status"] in ("passed", "failed") for t in doc["tests"])
    assert sum(t["max_score"] for t in doc["tests"]) == pytest.approx(100, abs=1e-3)


def test_gradescope_without_a_submission_explains(tmp_path, autograder_zip):
    doc = run_autograder(tmp_path, None, autograder_zip)
    assert doc["score"] == 0
    assert doc["output"].startswith("No bot.py found in your submission")


def test_student_bundle_holds_nothing_hidden_and_runs(tmp_path):
    out = tmp_path / "student"
    result = CliRunner().invoke(cli, ["bundle", "student", "--out", str(out)])
    assert result.exit_code == 0, result.output
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert not [f for f in files if "hidden" in f or "reference" in f or f.startswith(("tests/", "benchmarks/"))]
    public = sorted(str(p.relative_to(ROOT)) for p in ROOT.glob("policies/*/public/*.toml"))
    assert set(public) <= set(files)
    assert {"README.md", "starter/bot.py", "weights/model.json", "model/gpt.py", "grader/cli.py"} <= set(files)
    assert "--public-only" in (out / "README.md").read_text()
    where = subprocess.run([sys.executable, "-c", "import grader; print(grader.__file__)"], cwd=out,
                           capture_output=True, text=True)
    assert where.stdout.strip() == str(out / "grader" / "__init__.py")
    graded = subprocess.run([sys.executable, "-m", "grader", "run", "starter/bot.py", "--suite", "smoke"],
                            cwd=out, capture_output=True, text=True, timeout=120)
    assert graded.returncode == 0, graded.stderr
    assert graded.stdout.rstrip().endswith("score: 2.5/5.0 (50.0%)")


def test_student_bundle_zip(tmp_path):
    out = tmp_path / "student.zip"
    assert CliRunner().invoke(cli, ["bundle", "student", "--out", str(out)]).exit_code == 0
    names = zipfile.ZipFile(out).namelist()
    assert "starter/bot.py" in names and not any("hidden" in n for n in names)


def test_student_bundle_refuses_a_non_empty_folder(tmp_path):
    (tmp_path / "x").write_text("keep me")
    result = CliRunner().invoke(cli, ["bundle", "student", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert result.stderr == f"Error: --out {tmp_path}: the folder exists and is not empty; choose a new one\n"
    assert (tmp_path / "x").read_text() == "keep me"
