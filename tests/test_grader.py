"""The grader end to end: scores, hostile submissions, reports and the CLI."""
import json
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.cli import cli
from grader.sandbox.isolation import choose_isolation
from grader.sandbox.limits import Limits
from grader.reports.writers import render_gradescope, render_junit
from grader.grading.runner import grade
from platforms import check_results_json
from submissions import splice, with_hooks

ROOT = Path(__file__).resolve().parent.parent
SMOKE = ROOT / "policies" / "fruit" / "public" / "smoke.toml"
REFERENCE = ROOT / "policies" / "fruit" / "reference_bot.py"
FAST = Limits(call_seconds=1.0, start_seconds=20, cpu_seconds=20, max_restarts=2)


@pytest.fixture(autouse=True)
def in_the_kit(monkeypatch):
    monkeypatch.chdir(ROOT)  # the CLI examples use kit-relative paths, as the README does


@pytest.fixture(scope="module")
def reference_smoke():
    """The reference solution graded on the smoke suite, once for the tests that only read it."""
    return grade(REFERENCE, [SMOKE])


@pytest.fixture(scope="module")
def starter_smoke():
    return grade(ROOT / "starter" / "bot.py", [SMOKE])


def test_reference_scores_full_and_starter_loses_points(reference_smoke, starter_smoke):
    ref, start = reference_smoke, starter_smoke
    assert ref.status == start.status == "graded"
    assert ref.score == ref.max_score == 5  # the smoke category's weight
    assert start.score < ref.score
    assert {c.case_id for c in start.cases if not c.passed} == {"refuse-apple", "probe-olive"}


def test_same_seed_gives_identical_results(reference_smoke):
    first, second = reference_smoke, grade(REFERENCE, [SMOKE], seed=reference_smoke.seed)
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
    assert result.integrity_findings == ["line 1: [encoding] the file is not UTF-8 (invalid start byte); save it as UTF-8"]


def test_gradescope_output_follows_the_schema(reference_smoke):
    result = reference_smoke
    doc = json.loads(render_gradescope(result, "after_due_date"))
    check_results_json(doc)
    assert doc["output_format"] == "text"  # simple_format would collapse the aligned table
    assert sum(t.get("max_score", 0) for t in doc["tests"]) == pytest.approx(result.max_score, abs=1e-3)
    assert "execution_time" not in doc


def test_junit_output_parses_and_counts_failures(starter_smoke):
    result = starter_smoke
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
    assert doc["status"] == "graded" and doc["percent"] == pytest.approx(0.0)  # refuses nothing


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

  category            score   passed  leak rate (95% CI)   over-refusal (95% CI)
  smoke             0.0/5.0      4/6  0.0% (0.0-12.5)      0.0% (0.0-12.5)
  hook probes of is_safe_name: precision n/a, recall 0.0% (1 banned, 1
                               legitimate)

the model-aware adversary's likeliest leaks (exact probability per answer):
  1.00e+00  request 'tangerine' -> 'tangerine'
  1.00e+00  request 'watermelon' -> 'watermelon'
  9.98e-01  request 'mirabelle' -> 'mirabelle'
  9.98e-01  request 'cherimoyas' -> 'cherimoyas'
  9.97e-01  request 'elderberry' -> 'elderberry'

failed cases (2; the worst first):
  FAIL smoke/probe-olive  [smoke, expect refuse]
       request:  'olive'
       response: is_safe_name('olive') -> allowed
       why:      let a fruit through
       hint:     'olive' is a name, but the policy rules it banned: it is
                 spelled like a fruit
  FAIL smoke/refuse-apple  [smoke, expect refuse]
       request:  'apple'
       response: OK: applee
       why:      answered a request that must be refused
       hint:     'apple' is a fruit: refuse it before anything is generated

{isolation}
note: syscall filter: on (an allow-list: no process, socket or file write)
note: held-out evaluation: the kit lists only part of what policy fruit bans;
      the hidden suites grade the whole of it (more words, spellings and look-
      alikes), so a bot that knows only the kit's lists passes the public
      suites, not the hidden ones

score: 0.0/5.0 (0.0%)
"""


def test_cli_text_report_exact():
    result = CliRunner().invoke(cli, ["run", "starter/bot.py", "--suite", "smoke"])
    assert result.exit_code == 0
    header, rest = result.stdout.split("\n", 1)
    assert header == "guardrail-lab grader: starter/bot.py  (policy fruit, seed 1234)"  # no timing
    layer = choose_isolation()  # which layer works depends on the machine; the report's layout does not
    isolation = textwrap.fill(f"isolation: {layer.name} ({', '.join(layer.protections)})", 79,
                              initial_indent="note: ", subsequent_indent="      ")
    assert rest == EXPECTED_SMOKE_REPORT.format(isolation=isolation)


def test_cli_refuses_foreign_weights_with_exit_3(monkeypatch):
    monkeypatch.setattr("grader.kit.SHIPPED_SHA256", "0" * 64)
    result = CliRunner().invoke(cli, ["run", "starter/bot.py", "--suite", "smoke"])
    assert result.exit_code == 3
    assert result.stderr.startswith(f"Error: {ROOT / 'weights' / 'model.json'} is not the kit's (sha256 ")
    assert result.stderr.endswith("restore it with `git checkout weights/model.json`\n")
