"""The grader end to end: scores, hostile submissions, reports and the CLI."""
import json
import os
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.cli import cli
from grader.report import render_gradescope, render_junit
from grader.runner import grade
from grader.sandbox import Limits
from sandboxes import own_sandboxes  # noqa: F401  (a fixture)
from submissions import splice, with_hooks, write_submission

ROOT = Path(__file__).resolve().parent.parent
SMOKE = ROOT / "policies" / "fruit" / "public" / "smoke.toml"
REFERENCE = ROOT / "policies" / "fruit" / "reference_bot.py"
FAST = Limits(call_seconds=1.0, start_seconds=20, cpu_seconds=20, max_restarts=2)


def test_reference_scores_full_and_starter_loses_points():
    ref = grade(REFERENCE, [SMOKE])
    start = grade(ROOT / "starter" / "bot.py", [SMOKE])
    assert ref.status == start.status == "graded"
    assert ref.score == ref.max_score == 5  # the smoke category's weight
    assert start.score < ref.score
    assert {c.case_id for c in start.cases if not c.passed} == {"refuse-apple", "probe-olive"}


def test_same_seed_gives_identical_results():
    first, second = grade(REFERENCE, [SMOKE], seed=9), grade(REFERENCE, [SMOKE], seed=9)
    strip = lambda r: {**r.to_dict(), "seconds": 0}  # noqa: E731
    assert strip(first) == strip(second)


def test_tampered_frozen_code_scores_zero_with_diff(tmp_path):
    path = tmp_path / "bot.py"
    path.write_text(splice(with_hooks()).replace("run_bot(is_safe_request,", "run_bot(lambda p: None,"))
    result = grade(path, [SMOKE])
    assert result.status == "integrity_failed" and result.score == 0
    assert result.integrity_findings[0].endswith("copy it back from starter/bot.py")
    assert result.integrity_diff


def test_unparsable_submission_is_a_finding_not_a_traceback(tmp_path):
    path = tmp_path / "bot.py"
    path.write_bytes(b"\xff\xfe not python")
    result = grade(path, [SMOKE])
    assert result.status == "integrity_failed"
    assert result.integrity_findings == ["line 1: [encoding] the file is not UTF-8 (invalid start byte)"]


HOSTILE = {
    "infinite loop": with_hooks(name_body="while True:\n    pass"),
    "memory hog": with_hooks(name_body="blob = bytearray(4 * 1024 ** 3)\nreturn True"),
    "os._exit": with_hooks(prelude="import os\nEXIT = getattr(os, '_' + 'exit')", name_body="EXIT(0)"),
    "spawns processes": with_hooks(
        prelude="import os\nSPAWN = getattr(os, 'posix_' + 'spawn')",
        request_body="SPAWN('/bin/sleep', ['sleep', '300'], {})\nreturn None"),
    "prints protocol lines": with_hooks(
        prelude="import os\nWRITE = getattr(os, 'wri' + 'te')",
        name_body="print('OK: apple')\nfor fd in range(3, 12):\n"
                  "    try:\n        WRITE(fd, b'{\"id\": 1, \"value\": true}\\n')\n"
                  "    except OSError:\n        pass\nreturn True"),
    "flood": with_hooks(name_body="print('x' * 10_000_000)\nreturn True"),
    "import error": with_hooks(prelude="raise RuntimeError('broken at import')"),
    "sleeps at import": with_hooks(prelude="import time\ntime.sleep(600)"),
}


@pytest.mark.parametrize("which", HOSTILE)
def test_hostile_submissions_end_as_scored_results(tmp_path, which, own_sandboxes):
    started = time.monotonic()
    result = grade(write_submission(tmp_path, HOSTILE[which]), [SMOKE], limits=FAST)
    assert result.status in ("graded", "integrity_failed")
    assert time.monotonic() - started < 90
    assert result.score < result.max_score  # nothing hostile earns full marks on the smoke suite
    for case in result.cases:
        assert case.response.startswith(("OK: ", "REFUSE: ", "is_safe"))


def test_a_hang_is_reported_as_a_fault(tmp_path):
    result = grade(write_submission(tmp_path, HOSTILE["infinite loop"]), [SMOKE], limits=FAST)
    assert any("took longer than 1 s" in c.response for c in result.cases)
    assert any("restarted" in n for n in result.notes)


def test_import_error_is_explained(tmp_path):
    result = grade(write_submission(tmp_path, HOSTILE["import error"]), [SMOKE], limits=FAST)
    assert result.notes[0].startswith("the submission failed to import (RuntimeError: broken at import)")


def test_patching_builtins_in_the_worker_does_not_touch_the_grader(tmp_path):
    body = with_hooks(prelude="B = getattr(getattr, '_' + '_self__')\nB.len = lambda x: 0\n"
                              "B.isinstance = lambda *a: True")
    result = grade(write_submission(tmp_path, body), [SMOKE], limits=FAST)
    assert result.status == "graded"  # its own hooks may break; the grader's process does not
    assert len([1, 2]) == 2 and isinstance(result.score, float)
    assert grade(ROOT / "starter" / "bot.py", [SMOKE]).score == pytest.approx(2.5)


@pytest.mark.skipif(os.geteuid() != 0, reason="the sandbox drops privileges only when run as root")
def test_a_submission_searching_the_disk_finds_no_hidden_suite_or_solution(tmp_path):
    body = with_hooks(prelude="import os\nimport model", request_body="""
        kit = os.path.dirname(os.path.dirname(model.__file__))
        read, denied = [], 0
        for folder, _, files in os.walk(kit):
            for name in files:
                if name.endswith((".toml", ".py")) and ("hidden" in folder or "reference" in name):
                    try:
                        with open(os.path.join(folder, name)) as f:
                            read.append(name + ":" + f.read(10))
                    except OSError:
                        denied += 1
        hidden_dirs = sum("hidden" in d for _, dirs, _ in os.walk(kit) for d in dirs)
        return f"read {read} denied {denied} hidden dirs {hidden_dirs}"
        """)
    result = grade(write_submission(tmp_path, body), [SMOKE], limits=FAST)
    refused = next(c for c in result.cases if c.case_id == "refuse-apple")
    # it sees that hidden folders exist, cannot list them, and cannot open the reference
    hidden_dirs = len(list(ROOT.glob("policies/*/hidden")))
    references = len(list(ROOT.glob("policies/*/reference_bot.py")))
    assert refused.response == f"REFUSE: read [] denied {references} hidden dirs {hidden_dirs}"


def test_runtime_tampering_is_an_integrity_failure(tmp_path):
    # passes the static rules, but the submission's own bot answers differently
    body = with_hooks(prelude="import sys\nIS_MAIN = '--seed' in sys.argv",
                      request_body="return 'tampered' if IS_MAIN else None")
    result = grade(write_submission(tmp_path, body), [SMOKE], limits=FAST)
    assert result.status == "integrity_failed" and result.score == 0
    assert result.integrity_findings[0].startswith("[runtime-behaviour] on smoke request 'j'")


def test_gradescope_output_follows_the_schema():
    result = grade(REFERENCE, [SMOKE])
    doc = json.loads(render_gradescope(result, "after_due_date"))
    assert set(doc) == {"score", "execution_time", "output", "visibility", "stdout_visibility", "tests"}
    assert doc["score"] == pytest.approx(sum(t["score"] for t in doc["tests"]), abs=1e-3)
    assert sum(t["max_score"] for t in doc["tests"]) == pytest.approx(result.max_score, abs=1e-3)
    for test in doc["tests"]:
        assert set(test) == {"name", "score", "max_score", "status", "output", "tags", "visibility"}
        assert test["status"] in ("passed", "failed")
        assert test["visibility"] in ("hidden", "after_due_date", "after_published", "visible")


def test_junit_output_parses_and_counts_failures():
    result = grade(ROOT / "starter" / "bot.py", [SMOKE])
    root = ET.fromstring(render_junit(result))
    assert root.tag == "testsuites" and root.get("failures") == "2"
    failures = root.findall(".//testcase/failure")
    assert {f.get("message") for f in failures} == {"answered a request that must be refused",
                                                   "let a fruit through"}
    assert all(tc.get("classname").startswith("smoke.") for tc in root.iter("testcase"))


def test_cli_json_and_fail_under(tmp_path):
    out = tmp_path / "r.json"
    result = CliRunner().invoke(cli, ["run", "starter/bot.py", "--suite", "smoke", "--format", "json",
                                      "--out", str(out), "--fail-under", "90"])
    assert result.exit_code == 1 and result.stdout == ""
    doc = json.loads(out.read_text())
    assert doc["status"] == "graded" and doc["percent"] == pytest.approx(50.0)


def test_cli_usage_errors_exit_2(tmp_path):
    runner = CliRunner()
    missing = runner.invoke(cli, ["run", str(tmp_path / "nope.py")])
    assert missing.exit_code == 2
    assert missing.stderr == f"Error: {tmp_path / 'nope.py'}: no such file; pass the path of your bot.py\n"
    unknown = runner.invoke(cli, ["run", "starter/bot.py", "--suite", "nosuch"])
    assert unknown.exit_code == 2
    assert unknown.stderr.startswith("Error: --suite nosuch: no suite of that name (known: ")


def test_cli_reports_a_broken_suite_with_file_field_and_reason(tmp_path):
    suite = tmp_path / "broken.toml"
    suite.write_text('name = "broken"\npolicy = "fruit"\nvisibility = "public"\ndescription = "x"\n'
                     '[[cases]]\nid = "a"\ncategory = "smoke"\nexpect = "maybe"\nrequest = "a"\n')
    result = CliRunner().invoke(cli, ["run", "starter/bot.py", "--suite", str(suite)])
    assert result.exit_code == 2
    assert result.stderr == (f"Error: {suite}: cases[0].expect: Input should be 'refuse', "
                             "'answer' or 'either'\n")
    bad_toml = tmp_path / "bad.toml"
    bad_toml.write_text("name = \n")
    result = CliRunner().invoke(cli, ["validate", str(bad_toml)])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {bad_toml}: not valid TOML (")


def test_cli_validate_and_list():
    result = CliRunner().invoke(cli, ["validate", "policies/fruit.toml", str(SMOKE)])
    assert result.exit_code == 0
    assert result.stdout.splitlines()[1] == f"ok: {SMOKE} (suite smoke, public, 6 cases)"
    listing = CliRunner().invoke(cli, ["list"])
    assert "  smoke                 public     6 cases  A first look: one case of each kind." in listing.stdout


EXPECTED_SMOKE_REPORT = """\
integrity: shared code intact

  category             score   passed  leak rate (95% CI)                 over-refusal (95% CI)
  smoke            2.5/5.0      4/6    0.0% (0/27; 95% CI 0.0%-12.5%)     0.0% (0/27; 95% CI 0.0%-12.5%)
  hook probes of is_safe_name: precision n/a, recall 0.0% (1 banned, 1 legitimate)

most likely leaks found by the model-aware adversary (exact probability per answer):
  1.00e+00  request 'tangerine' -> 'tangerine'
  1.00e+00  request 'nectarine' -> 'nectarine'
  1.00e+00  request 'watermelon' -> 'watermelon'
  9.99e-01  request 'mangosteen' -> 'mangosteen'
  9.99e-01  request 'citron' -> 'citron'

failed cases (2; the worst first):
  FAIL smoke/probe-olive  [smoke, expect refuse]
       request:  'olive'
       response: is_safe_name('olive') -> allowed
       why:      let a fruit through
       hint:     is_safe_name('olive') must return False.
  FAIL smoke/refuse-apple  [smoke, expect refuse]
       request:  'apple'
       response: OK: applee
       why:      answered a request that must be refused
       hint:     A prefix that is itself a fruit must be refused before anything is generated.

score: 2.5/5.0 (50.0%)
"""


def test_cli_text_report_exact():
    result = CliRunner().invoke(cli, ["run", "starter/bot.py", "--suite", "smoke"])
    assert result.exit_code == 0
    header, rest = result.stdout.split("\n", 1)
    assert header.startswith("guardrail-lab grader: starter/bot.py  (policy fruit, seed 1234, ")
    assert rest == EXPECTED_SMOKE_REPORT


def test_a_full_stderr_does_not_kill_the_worker(tmp_path):
    # every call prints a traceback; far more than the 2 KiB file limit allows
    body = with_hooks(request_body="raise ValueError('x' * 500)")
    limits = Limits(call_seconds=1.0, cpu_seconds=20, max_restarts=2, file_bytes=2048)
    result = grade(write_submission(tmp_path, body), [SMOKE], limits=limits)
    assert not any("restarted" in n for n in result.notes)
    refusals = [c.response for c in result.cases if c.kind == "request"]
    assert set(refusals) == {"REFUSE: is_safe_request raised ValueError; refusing to stay safe."}


def test_slow_hooks_share_one_time_budget(tmp_path):
    body = with_hooks(prelude="import time", name_body="time.sleep(0.3)\nreturn True")
    limits = Limits(call_seconds=1.0, total_seconds=2.0, cpu_seconds=20, max_restarts=2)
    started = time.monotonic()
    result = grade(write_submission(tmp_path, body), [SMOKE], limits=limits)
    assert time.monotonic() - started < 30
    assert any("used up their 2 s" in c.response for c in result.cases)


def test_smoke_transcript_holds_suite_requests():
    from grader.smoke import SMOKE_LINES, smoke_transcript
    from grader.suites import load_suite
    lines = smoke_transcript(list(load_suite(SMOKE).cases), seed=3)
    assert lines[: len(SMOKE_LINES)] == SMOKE_LINES
    assert set(lines[len(SMOKE_LINES):]) == {"apple", "pearl", "ma", "ol"}


def test_cli_refuses_foreign_weights_with_exit_3(monkeypatch):
    monkeypatch.setattr("grader.kit.SHIPPED_SHA256", "0" * 64)
    result = CliRunner().invoke(cli, ["run", "starter/bot.py", "--suite", "smoke"])
    assert result.exit_code == 3
    assert result.stderr.startswith(f"Error: {ROOT / 'weights' / 'model.json'} is not the kit's (sha256 ")
    assert result.stderr.endswith("restore it with `git checkout weights/model.json`\n")


def test_hooks_have_no_network(tmp_path):
    import socket
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    body = with_hooks(prelude="import urllib.request", request_body=f"""
        try:
            urllib.request.urlopen("http://127.0.0.1:{port}/", timeout=1)
            return "reached the network"
        except Exception as exc:
            return "no network: " + str(getattr(exc, "reason", exc))""")
    try:
        result = grade(write_submission(tmp_path, body), [SMOKE], limits=FAST)
    finally:
        listener.close()
    refused = next(c for c in result.cases if c.case_id == "refuse-apple")
    assert refused.response == "REFUSE: no network: [Errno 101] Network is unreachable"
    assert not any("network namespace" in n for n in result.notes)


AS_NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "env", "HOME=/tmp"]


def nobody_can_run_the_kit() -> bool:
    import shutil
    import subprocess
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        return False
    probe = subprocess.run([*AS_NOBODY, sys.executable, "-c", "import grader, model"], cwd=ROOT,
                           capture_output=True)
    return probe.returncode == 0


@pytest.mark.skipif(not nobody_can_run_the_kit(), reason="needs root, setpriv and a kit readable by all")
def test_grading_as_an_unprivileged_user(tmp_path):
    """What students run: no uid to drop to, yet no processes and no network for hooks."""
    import subprocess
    folder = Path(tempfile.mkdtemp())
    folder.chmod(0o755)
    body = with_hooks(prelude="import os\nSPAWN = getattr(os, 'posix_' + 'spawn')",
                      request_body="SPAWN('/bin/sleep', ['sleep', '300'], {})\nreturn None")
    bot = write_submission(folder, body)
    bot.chmod(0o644)
    proc = subprocess.run([*AS_NOBODY, sys.executable, "-m", "grader", "run", str(bot), "--suite", "smoke",
                           "--format", "json"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["status"] == "graded"
    refusals = {c["response"] for c in doc["cases"] if c["kind"] == "request" and c["expect"] == "refuse"}
    assert refusals == {"REFUSE: is_safe_request raised BlockingIOError; refusing to stay safe."}
    assert not any("network namespace" in n for n in doc["notes"])
    leftovers = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and entry.stat().st_uid == 65534 and \
                    b"submission.py" in (entry / "cmdline").read_bytes():
                leftovers.append(entry.name)
        except OSError:
            continue
    assert leftovers == []
    import shutil
    shutil.rmtree(folder)
