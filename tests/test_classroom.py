"""The bundles: the Gradescope zip end to end, and the student kit with its GitHub Classroom
workflow, which grades once and reports points in the form Classroom's reporter reads."""
import base64
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from grader.classroom import render_classroom
from grader.cli import cli

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
    public = sorted(str(p.relative_to(ROOT)) for p in ROOT.glob("policies/*/public/*.toml"))
    assert set(public) <= set(files)
    assert {"README.md", "starter/bot.py", "weights/model.json", "model/gpt.py", "grader/cli.py",
            ".github/workflows/classroom.yml"} <= set(files)
    assert "--public-only" in (student_kit / "README.md").read_text()
    where = subprocess.run([sys.executable, "-c", "import grader; print(grader.__file__)"], cwd=student_kit,
                           capture_output=True, text=True)
    assert where.stdout.strip() == str(student_kit / "grader" / "__init__.py")


def reporter_points(doc: dict) -> float:
    """What the reporter sends to Classroom: the tests' scores added in order from 0, as
    floats (notify-classroom.js), so float noise would show as "Points 57.900000000000006"."""
    total = 0.0
    for test in doc["tests"]:
        total += test["score"]
    return total


def test_classroom_points_are_the_grade_exactly(tmp_path):
    awkward = [SimpleNamespace(name=f"c{i}", score=score, weight=20.0, cases=4, failed=1)
               for i, score in enumerate([12.345, 7.77, -3.9, 19.01, 0.1])]
    for score in (sum(c.score for c in awkward), 0.0):  # a grade, and one floored at 0
        result = SimpleNamespace(status="graded", score=score, max_score=100.0, seconds=1.0,
                                 categories=awkward, cases=[])
        for points in (100, 10, 7):
            doc = json.loads(render_classroom(result, points))
            assert reporter_points(doc) == round(score * points / 100, 2)
            assert doc["tests"][0]["name"] == f"grade: {score * points / 100:.2f}/{points} points"


@pytest.mark.parametrize("bot, code", [(STARTER, 1), (REFERENCE, 0)])
def test_the_classroom_workflow_grades_once_and_reports_points(tmp_path, student_kit, bot, code):
    workflow = (student_kit / ".github" / "workflows" / "classroom.yml").read_text()
    assert workflow.count("python -m grader run") == 1  # graded once
    assert "classroom-resources/autograding-grading-reporter@v1" in workflow
    assert 'GUARDRAIL_RESULTS: "${{ steps.guardrail.outputs.result }}"' in workflow
    assert "runners: guardrail" in workflow
    kit = tmp_path / "repo"
    subprocess.run(["cp", "-r", str(student_kit), str(kit)], check=True)
    (kit / "starter" / "bot.py").write_text(bot.read_text())
    output = tmp_path / "github_output"
    settings = dict(re.findall(r'^  (POINTS|PASS_PERCENT): "(\d+)"$', workflow, re.M))
    assert settings == {"POINTS": "100", "PASS_PERCENT": "80"}  # the untouched starter fails
    env = {**os.environ, **settings, "POINTS": "10", "RUNNER_TEMP": str(tmp_path), "GITHUB_OUTPUT": str(output),
           "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    step = subprocess.run(["bash", "-e", "-c", workflow_step_script(workflow, "guardrail")], cwd=kit, env=env,
                          capture_output=True, text=True, timeout=120)
    assert step.returncode == code, step.stderr  # the job fails below PASS_PERCENT
    key, _, value = output.read_text().strip().partition("=")
    assert key == "result"
    doc = json.loads(base64.b64decode(value))
    assert doc["version"] == 1 and doc["max_score"] == 10 and doc["status"] == "pass"
    assert reporter_points(doc) == (10 if bot == REFERENCE else 0)  # the starter's categories go negative
    assert {t["status"] for t in doc["tests"]} <= {"pass", "fail"}
    assert all(set(t) >= {"name", "status", "score", "message", "test_code", "line_no"} for t in doc["tests"])


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
