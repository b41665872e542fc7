"""CLI conventions: -h and --version, one-line usage errors with exit 2, one exit-code rule,
NO_COLOR and TERM=dumb on a real terminal, Ctrl-C, validate and list."""
import glob
import os
import pty
import re
import select
import signal
import subprocess
import sys
import time
import unicodedata
from importlib.metadata import version
from itertools import takewhile
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.cli import cli
from grader.cli.edge import ExitCode, exit_code
from submissions import splice, with_hooks

ROOT = Path(__file__).resolve().parent.parent
STARTER = str(ROOT / "starter" / "bot.py")
SMOKE = ROOT / "policies" / "fruit" / "public" / "smoke.toml"


@pytest.mark.parametrize("args", [["-h"], ["run", "-h"], ["grade-all", "--help"], ["bundle", "student", "-h"]])
def test_help(args):
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0 and result.stdout.startswith("Usage: ")
    assert max(map(len, result.stdout.splitlines())) <= 80


def test_version():
    result = CliRunner().invoke(cli, ["--version"], prog_name="python -m grader")
    assert result.stdout == f"python -m grader {version('guardrail-lab')}\n"


@pytest.mark.parametrize("args, message", [
    (["run", STARTER, "--seed", "-5"], "Invalid value for '--seed': -5 is not in the range x>=0."),
    (["run"], "Missing argument 'SUBMISSION'."),
    (["run", STARTER, "--bogus"], "No such option '--bogus'."),
    (["nosuch"], "No such command 'nosuch'."),
    (["run", STARTER, "--points", "5"], "--points applies to --format classroom only"),
    (["run", STARTER, "--out", "/nonexistent/dir/r.txt"], "--out /nonexistent/dir/r.txt: the folder"),
    (["grade-all", str(ROOT / "starter"), "--out", "/nonexistent/dir/g.csv"], "--out /nonexistent/dir/g.csv"),
    (["bundle", "gradescope", "--out", "/nonexistent/dir/a.zip"], "--out /nonexistent/dir/a.zip: the folder"),
    (["bundle", "student", "--out", "/nonexistent/dir/kit"], "--out /nonexistent/dir/kit: the folder"),
])
def test_usage_errors_are_one_line_and_exit_2(args, message):
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: " + message) and result.stderr.count("\n") == 1
    assert not Path("/nonexistent").exists()


def test_the_bot_rejects_a_negative_seed_as_a_usage_error():
    proc = subprocess.run([sys.executable, STARTER, "--seed", "-5"], input="", capture_output=True, text=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr == "Error: Invalid value for '--seed': -5 is not in the range x>=0. (see bot.py --help)\n"


def test_one_exit_code_rule():
    assert exit_code(["graded"], [40.0]) == ExitCode.GRADED
    assert exit_code(["graded"], [40.0], fail_under=50) == ExitCode.BELOW_THRESHOLD
    assert exit_code(["graded", "grader_fault"], [40.0], fail_under=50) == ExitCode.GRADER_FAULT
    assert exit_code(["integrity_failed", "not_gradable"], []) == ExitCode.GRADED
    assert exit_code(["grader_fault"], [], interrupted=True) == ExitCode.INTERRUPTED == 130


def on_a_terminal(args: list[str], **env: str) -> str:
    """Everything the command writes to a pseudo-terminal (stdout and stderr)."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "grader", *args], stdin=subprocess.DEVNULL, stdout=follower,
                            stderr=follower, cwd=ROOT, env={**os.environ, "TERM": "xterm", **env})
    os.close(follower)
    chunks = []
    while True:
        if select.select([leader], [], [], 60)[0]:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the terminal's other side closed
                break
            if not chunk:
                break
            chunks.append(chunk)
    assert proc.wait(timeout=60) == 0
    os.close(leader)
    return b"".join(chunks).decode()


def test_no_escape_codes_on_a_terminal_with_no_color_or_a_dumb_terminal():
    args = ["run", STARTER, "--suite", "smoke"]
    assert "\x1b[" in on_a_terminal(args)  # colour by default on a terminal
    for env in ({"NO_COLOR": "1"}, {"TERM": "dumb"}):
        output = on_a_terminal(args, **env)
        assert "\x1b" not in output and "score: " in output


def test_ctrl_c_in_run_exits_130(tmp_path, spawn):
    bot = tmp_path / "bot.py"
    bot.write_text(splice(with_hooks(name_body="while True:\n    pass")))
    proc = spawn([sys.executable, "-m", "grader", "run", str(bot), "--suite", "smoke"], cwd=ROOT,
                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
    waited = time.monotonic()  # not a fixed sleep: Ctrl-C while it still imports exits 130 silently
    while not children.read_text().split() and proc.poll() is None and time.monotonic() - waited < 60:
        time.sleep(0.05)  # grading has begun once it starts a sandbox
    started = time.monotonic()
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=10) == 130
    assert time.monotonic() - started < 2
    assert proc.stderr.read().strip() == "interrupted"


def test_readme_validates_every_data_file():
    readme = (ROOT / "README.md").read_text()
    command = re.search(r"^python -m grader validate (.*)$", readme, re.M).group(1).split()
    named = {p for pattern in command for p in glob.glob(pattern, root_dir=ROOT)}
    data = {str(p.relative_to(ROOT)) for p in ROOT.glob("policies/**/*.toml")} | {"weights/model.json"}
    assert named == data
    result = CliRunner().invoke(cli, ["validate", *sorted(named)])
    assert result.exit_code == 0, result.stderr
    assert "ok: weights/model.json (weights, 4,192 parameters, the kit's own)" in result.stdout


def test_validate_applies_the_checks_of_run(tmp_path):
    suite = tmp_path / "extra.toml"
    suite.write_text(SMOKE.read_text().replace('name = "smoke"', 'name = "extra"')
                     .replace('category = "smoke"', 'category = "nowhere"'))
    weights = tmp_path / "model.json"
    weights.write_text((ROOT / "weights" / "model.json").read_text().replace("0.", "0.0", 1))
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    result = CliRunner().invoke(cli, ["validate", str(suite), str(weights), str(notes)])
    assert result.exit_code == 2
    errors = result.stderr.splitlines()
    assert errors[0].startswith(f"error: {suite}: ") and "category 'nowhere' has no weight in " in errors[0]
    assert errors[1].startswith(f"error: {weights}: valid weights, but not the kit's")
    assert errors[2] == f"error: {notes}: not a data file (suites, policies and rubrics are .toml; weights are .json)"
    run = CliRunner().invoke(cli, ["run", STARTER, "--suite", str(suite)])
    assert run.exit_code == 2 and "category 'nowhere' has no weight" in run.stderr


def test_list_aligns_its_columns():
    columns = {}
    for block in re.split(r"^(?=\S)", CliRunner().invoke(cli, ["list"]).stdout, flags=re.M)[1:]:
        suites = block.splitlines()[1:]
        columns[block.split(":")[0]] = {line.index(" cases  ") for line in suites}
    assert set(columns) == {"animals", "fruit"} and all(len(c) == 1 for c in columns.values())


def test_the_text_report_fits_80_columns():
    lines = CliRunner().invoke(cli, ["run", STARTER, "--public-only"]).stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("  category "))
    table = list(takewhile(lambda line: line.strip() and "hook probes" not in line, lines[start:]))
    assert len(table) > 5  # the table is all there: the header and a row per category
    assert any(line.startswith("       hint:") for line in lines)
    # terminal columns: wide and fullwidth characters take two, combining accents none
    columns = [sum(2 if unicodedata.east_asian_width(ch) in "WF" else 0 if unicodedata.combining(ch) else 1
                   for ch in line) for line in lines]
    assert [line for line, n in zip(lines, columns) if n > 80] == []


def test_run_takes_an_isolation_layer_by_name():
    result = CliRunner().invoke(cli, ["run", STARTER, "--suite", "smoke", "--isolation", "none"])
    assert result.exit_code == 0
    assert "note: isolation: none (" in result.stdout


def test_the_bot_takes_h_for_help():
    proc = subprocess.run([sys.executable, STARTER, "-h"], input="", capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.startswith("Usage: bot.py [OPTIONS]")
