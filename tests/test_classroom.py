"""The bundles: the Gradescope zip end to end, and the student kit with its GitHub Classroom
workflow, which grades once and reports points in the form Classroom's reporter reads."""
import base64
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from grader.reports.classroom import RUNNERS, render_classroom
from grader.cli import cli
from grader.results import CaseCounts
from platforms import (check_results_json, reporter_console_points, reporter_points,
                       shown_before_the_due_date)

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "policies" / "fruit" / "reference_bot.py"
STARTER = ROOT / "starter" / "bot.py"


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
    check_results_json(doc)
    assert doc["score"] == pytest.approx(100)
    assert {t["visibility"] for t in doc["tests"]} == {"visible", "after_published"}
    assert sum(t.get("max_score", 0) for t in doc["tests"]) == pytest.approx(100, abs=1e-3)
    assert "hidden/" not in shown_before_the_due_date(doc)
    assert "execution_time" not in doc  # students see it, and a hook may choose it


def test_gradescope_without_a_submission_explains(tmp_path, autograder_zip):
    doc = run_autograder(tmp_path, None, autograder_zip)
    assert doc["score"] == 0
    assert doc["output"].startswith("No bot.py found in your submission")


def workflow_step_script(workflow: str, step_id: str) -> str:
    """The `run: |` block of the step with this id (the workflow's own text, unparsed)."""
    lines = workflow.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == f"id: {step_id}")
    at = next(i for i in range(start, len(lines)) if lines[i].strip() == "run: |")
    indent = len(lines[at + 1]) - len(lines[at + 1].lstrip())
    block = []
    for line in lines[at + 1:]:
        if line.strip() and len(line) - len(line.lstrip()) < indent:
            break
        block.append(line[indent:])
    return "\n".join(block) + "\n"


@pytest.fixture(scope="module")
def student_kit(tmp_path_factory):
    out = tmp_path_factory.mktemp("kit") / "student"
    result = CliRunner().invoke(cli, ["bundle", "student", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def test_student_kit_holds_nothing_hidden_and_runs_from_its_folder(student_kit):
    files = sorted(str(p.relative_to(student_kit)) for p in student_kit.rglob("*") if p.is_file())
    assert not [f for f in files if "hidden" in f or "reference" in f or f.startswith(("tests/", "benchmarks/"))]
    public = sorted(str(p.relative_to(ROOT)) for p in ROOT.glob("policies/fruit/public/*.toml"))
    assert set(public) <= set(files) and not [f for f in files if f.startswith("policies/animals")]
    assert {"README.md", "starter/bot.py", "weights/model.json", "model/gpt.py", "grader/cli/__init__.py",
            ".github/workflows/classroom.yml"} <= set(files)
    assert "--public-only" in (student_kit / "README.md").read_text()
    where = subprocess.run([sys.executable, "-c", "import grader; print(grader.__file__)"], cwd=student_kit,
                           capture_output=True, text=True)
    assert where.stdout.strip() == str(student_kit / "grader" / "__init__.py")


def runners_of(text: str) -> dict[str, dict]:
    return json.loads(text)


def test_classroom_points_are_the_grade_exactly_and_the_console_agrees():
    awkward = [SimpleNamespace(name=f"c{i}", score=score, weight=20.0, cases=4, failed=1,
                               counts=CaseCounts(passed=3, scored=4, unscored=0))
               for i, score in enumerate([12.345, 7.77, -3.9, 19.01, 0.1])]
    for score in (sum(c.score for c in awkward), 0.0, 100.0, 33.333):  # a grade floored at 0, a full one
        result = SimpleNamespace(status="graded", score=score, max_score=100.0, seconds=1.0,
                                 categories=awkward, cases=[])
        for points in (100, 10, 7, 12.5):
            runners = runners_of(render_classroom(result, points))
            grade = round(score * points / 100, 2)
            assert reporter_points(runners) == (grade, points)  # no float noise either
            console = reporter_console_points(runners)
            assert console.get("earned", 0) == grade and console.get("missed", 0) == 0
            assert all(t["score"] == 0 for t in runners["categories"]["tests"])


def graded_in_the_workflow(tmp_path: Path, student_kit: Path, bot_text: str, points: str = "10") -> tuple:
    """The workflow's grading step as GitHub runs it: the student's repository and the
    instructor's kit (the template at its pinned commit) checked out side by side."""
    workflow = (student_kit / ".github" / "workflows" / "classroom.yml").read_text()
    workspace = tmp_path / "workspace"
    workspace.mkdir(parents=True)
    for name in ("submission", "kit"):
        subprocess.run(["cp", "-r", str(student_kit), str(workspace / name)], check=True)
    (workspace / "submission" / "starter" / "bot.py").write_text(bot_text)
    # what the student controls in their copy of the kit takes no part in grading
    (workspace / "submission" / "grader" / "integrity" / "gate.py").write_text("raise SystemExit('never imported')\n")
    output = tmp_path / "github_output"
    env = {**os.environ, "POINTS": points, "PASS_PERCENT": "80", "RUNNER_TEMP": str(tmp_path),
           "GITHUB_OUTPUT": str(output), "GITHUB_WORKSPACE": str(workspace),
           "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    step = subprocess.run(["bash", "-e", "-c", workflow_step_script(workflow, "guardrail")],
                          cwd=workspace / "kit", env=env, capture_output=True, text=True, timeout=180)
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines())
    return step, {name: json.loads(base64.b64decode(value)) for name, value in outputs.items()}


def test_the_classroom_workflow_grades_with_the_instructors_kit(tmp_path, student_kit):
    workflow = (student_kit / ".github" / "workflows" / "classroom.yml").read_text()
    assert workflow.count("python -m grader run") == 1  # graded once
    assert "repository: \"${{ env.KIT_REPOSITORY }}\"" in workflow and "path: kit" in workflow
    assert "classroom-resources/autograding-grading-reporter@v1" in workflow
    assert "runners: categories,earned,missed" in workflow
    cheat = REFERENCE.read_text() + "EXTRA = 1  # a line outside the markers\n"
    for bot, code, grade, status in ((REFERENCE.read_text(), 0, 10.0, "pass"), (STARTER.read_text(), 1, 0.0, "pass"),
                                     (cheat, 1, 0.0, "fail")):
        step, runners = graded_in_the_workflow(tmp_path / str(code) / status, student_kit, bot)
        assert step.returncode == code, step.stderr  # the job fails below PASS_PERCENT
        assert set(runners) == set(RUNNERS) and runners["categories"]["status"] == status
        assert reporter_points(runners) == (grade, 10)
        assert reporter_console_points(runners).get("earned", 0) == grade
        assert all(set(t) >= {"name", "status", "score", "message", "test_code", "line_no"}
                   for doc in runners.values() for t in doc["tests"])


REPORTER = os.environ.get("CLASSROOM_REPORTER", "")  # autograding-grading-reporter's dist/main.js


@pytest.mark.skipif(not (Path(REPORTER).is_file() and shutil.which("node")),
                    reason="set CLASSROOM_REPORTER to classroom-resources/autograding-grading-reporter's "
                           "dist/main.js (v1) and install node 20 to run the real reporter")
def test_the_real_reporter_records_the_grade_and_its_console_agrees(tmp_path, student_kit):
    step, runners = graded_in_the_workflow(tmp_path, student_kit, REFERENCE.read_text(), points="7")
    env = {"PATH": os.environ["PATH"], "INPUT_RUNNERS": ",".join(RUNNERS),
           **{f"{name.upper()}_RESULTS": base64.b64encode(json.dumps(doc).encode()).decode()
              for name, doc in runners.items()}}
    proc = subprocess.run(["node", REPORTER], env=env, capture_output=True, text=True, timeout=60)
    assert "::notice title=Autograding complete::Points 7/7" in proc.stdout, proc.stdout
    assert re.findall(r"Total points for (\w+): ([\d.]+)/", proc.stdout) == [("earned", "7.00")]


def test_student_bundle_zip(tmp_path):
    out = tmp_path / "student.zip"
    assert CliRunner().invoke(cli, ["bundle", "student", "--out", str(out)]).exit_code == 0
    names = zipfile.ZipFile(out).namelist()
    assert "starter/bot.py" in names and ".github/workflows/classroom.yml" in names
    assert not any("hidden" in n for n in names)


def test_student_bundle_refuses_a_non_empty_folder(tmp_path):
    (tmp_path / "x").write_text("keep me")
    result = CliRunner().invoke(cli, ["bundle", "student", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert result.stderr == f"Error: --out {tmp_path}: the folder exists and is not empty; choose a new one\n"
    assert (tmp_path / "x").read_text() == "keep me"
