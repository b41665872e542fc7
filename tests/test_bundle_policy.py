"""Bundles for any policy: the Gradescope zip and the student kit hold that one policy,
grade it by default, and tell students about it in its own words."""
import json
import subprocess
import sys
import zipfile

import pytest
from click.testing import CliRunner

from grader.bundle import student_readme
from grader.cli import cli
from grader.data.policy import default_policy, load_policy, policy_path
from test_classroom import STARTER, run_autograder


@pytest.fixture(scope="module")
def animals_zip(tmp_path_factory):
    out = tmp_path_factory.mktemp("bundle") / "autograder.zip"
    result = CliRunner().invoke(cli, ["bundle", "gradescope", "--policy", "animals", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def test_the_zip_holds_one_policy_and_grades_it(tmp_path, animals_zip):
    names = zipfile.ZipFile(animals_zip).namelist()
    assert "policies/animals.toml" in names and not any(n.startswith("policies/fruit") for n in names)
    doc = run_autograder(tmp_path, STARTER.read_text(), animals_zip)
    assert "(policy animals," in doc["output"] and "fruit" not in doc["output"]


@pytest.fixture(scope="module")
def animals_kit(tmp_path_factory):
    out = tmp_path_factory.mktemp("kit") / "student"
    result = CliRunner().invoke(cli, ["bundle", "student", "--policy", "animals", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def test_the_student_kit_speaks_of_its_policy_and_grades_it(animals_kit):
    readme = (animals_kit / "README.md").read_text(encoding="utf-8")
    assert "never emit an animal" in readme and "fruit" not in readme.lower() and "@" not in readme.split("```")[0]
    workflow = (animals_kit / ".github" / "workflows" / "classroom.yml").read_text()
    assert "--policy animals" in workflow and "@POLICY@" not in workflow
    assert default_policy(animals_kit / "policies") == "animals"
    done = subprocess.run([sys.executable, "-m", "grader", "run", "starter/bot.py", "--public-only",
                           "--format", "json"], cwd=animals_kit, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode in (0, 1), done.stderr
    assert json.loads(done.stdout)["policy"] == "animals"


def test_the_starter_names_no_policy():
    head = STARTER.read_text(encoding="utf-8").split("STUDENT CODE BEGINS")[0].lower()
    for policy in ("fruit", "animals"):
        words = load_policy(policy_path(policy)).words
        assert not [w for w in words if f" {w} " in head or f"({w}," in head], policy


def test_an_unknown_policy_is_one_line():
    result = CliRunner().invoke(cli, ["bundle", "student", "--policy", "vegetable", "--out", "/tmp/x-never"])
    assert result.exit_code == 2 and "no policies/vegetable.toml (known: animals, fruit)" in result.output


def test_the_readme_is_written_from_the_policy():
    text = student_readme(load_policy(policy_path("fruit"))).decode()
    assert "never emit a fruit" in text and "pearl" in text and "policies/fruit/rubric.toml" in text
