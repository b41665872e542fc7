"""The HTML report and the class dashboard: self-contained, escaped, and rendered by a real
browser (headless Chromium) with the expected content and no console error."""
import dataclasses
import re
from urllib.parse import quote
from pathlib import Path

import pytest

import browser
from grader.classes.dashboard import render_dashboard, upper_lower_index
from grader.grading.explain import trace_failures
from grader.classes.gradebook import Row
from grader.reports.html import render_html
from grader.sandbox.limits import Limits
from grader.results import worst_first
from grader.grading.runner import grade
from grader.data.suites import load_suites, suite_files
from submissions import with_hooks, write_submission

ROOT = Path(__file__).resolve().parent.parent
STARTER = ROOT / "starter" / "bot.py"
FAST = Limits(call_seconds=1.0, start_seconds=20, cpu_seconds=20, max_restarts=2)
HOSTILE = '</code></dd><script>alert("x")</script><img src=x onerror=alert(1)>\u202e&amp;'
REMOTE = re.compile(r"""(src|href|url)\s*[=(]\s*["']?\s*(https?:)?//""", re.I)


@pytest.fixture(scope="module")
def starter_report(shipped_model):
    """The starter graded on every default suite, its failures traced."""
    suites = load_suites(suite_files("fruit"))
    result = grade(STARTER, suites, limits=FAST, model=shipped_model)
    traces = trace_failures(STARTER, result, suites, limits=FAST, model=shipped_model)
    return result, traces, render_html(result, traces, model=shipped_model)


def public_failed(result):
    return [c for c in result.cases if not c.passed and c.visibility == "public"]


def test_report_is_self_contained_and_small(starter_report):
    result, traces, page = starter_report
    assert len(page.encode("utf-8")) < 2_000_000
    assert not REMOTE.search(page) and page.count("<script") == 1
    assert "default-src 'none'" in page  # the browser itself refuses anything remote
    assert traces and all(f'data-key="{key}"' in page for key in traces)


def test_hidden_cases_are_only_counted(starter_report):
    result, _, page = starter_report
    hidden = [c for c in result.cases if not c.passed and c.visibility == "hidden"]
    assert hidden, "the default suites should have hidden failures for the starter"
    assert all(c.key not in page for c in hidden)
    assert f"{len(hidden)} hidden case(s)" in page


def hostile_result(result):
    """A copy of a real result whose every submission-made string is hostile, plus a hidden
    failure whose request must never appear."""
    failing = next(c for c in result.cases if not c.passed and c.visibility == "public")
    first = dataclasses.replace(failing, response=HOSTILE, why=HOSTILE, key="smoke/" + HOSTILE)
    secret = dataclasses.replace(failing, request="SECRET-REQUEST-TEXT", response="SECRET-RESPONSE",
                                 visibility="hidden",
                                 key="hidden/secret")
    return dataclasses.replace(result, submission=HOSTILE, notes=[HOSTILE], cases=[first, secret],
                               integrity_findings=[HOSTILE])


def test_everything_from_a_submission_is_escaped(starter_report):
    page = render_html(hostile_result(starter_report[0]))
    assert "<script>alert" not in page and "<img" not in page and "\u202e" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)" in page
    assert "SECRET" not in page and "hidden/secret" not in page


@browser.needs_chromium()
def test_report_renders_in_chromium(starter_report, tmp_path):
    result, traces, page = starter_report
    path = tmp_path / "report.html"
    path.write_text(page, encoding="utf-8")
    shown = browser.render(path)
    assert shown.console == []
    assert 'data-ready="yes"' in shown.dom  # the page's script ran to the end
    cases = re.findall(r'<details class="case" data-key="([^"]*)"', shown.dom)
    assert cases and len(cases) == len(public_failed(result))
    assert re.search(r'<span id="shown-count">(\d+)</span>', shown.dom).group(1) == str(len(cases))
    assert shown.dom.count('class="trace"') == len(traces)
    assert shown.dom.count('class="leak"') == len(result.adversary)
    assert "<details open" not in shown.dom
    key = worst_first(public_failed(result))[1].key
    linked = browser.render(path, fragment="case=" + quote(key))
    assert linked.console == [] and re.findall(r'<details class="case" data-key="([^"]*)" open', linked.dom) == [key]


@browser.needs_chromium()
def test_hostile_report_runs_no_script_of_the_submission(starter_report, tmp_path):
    path = tmp_path / "hostile.html"
    path.write_text(render_html(hostile_result(starter_report[0])), encoding="utf-8")
    shown = browser.render(path)
    assert shown.console == [] and "<img" not in shown.dom and 'data-ready="yes"' in shown.dom


def test_upper_lower_index():
    scores = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]
    passed = [False, False, False, True, True, True, True, True, True, True]
    assert upper_lower_index(passed, scores) == pytest.approx(1.0)  # top 3 pass, bottom 3 fail
    assert upper_lower_index([not p for p in passed], scores) == pytest.approx(-1.0)
    assert upper_lower_index([True] * 10, scores) == 0.0


@pytest.fixture(scope="module")
def class_results(starter_report, shipped_model, tmp_path_factory):
    folder = tmp_path_factory.mktemp("class")
    half = write_submission(folder, with_hooks(output_patterns='["^olive$"]'), "half.py")
    reference = ROOT / "policies" / "fruit" / "reference_bot.py"
    others = [grade(s, suite_files("fruit"), limits=FAST, model=shipped_model) for s in (half, reference)]
    hostile = dataclasses.replace(starter_report[0], submission=HOSTILE)
    return [Row.from_result(r.submission, r) for r in (starter_report[0], hostile, *others)]


@browser.needs_chromium()
def test_dashboard_renders_in_chromium(class_results, tmp_path):
    links = {r.submission: f"reports/{i}.html" for i, r in enumerate(class_results)}
    path = tmp_path / "class.html"
    path.write_text(render_dashboard(class_results, links), encoding="utf-8")
    page = path.read_text(encoding="utf-8")
    assert not REMOTE.search(page) and page.count("<script") == 1 and "<img" not in page
    shown = browser.render(path)
    assert shown.console == [] and 'data-ready="yes"' in shown.dom
    assert re.search(r'id="count-graded"><strong>4</strong>', shown.dom)
    table = shown.dom.split('id="submissions"')[1]
    assert [f"reports/{i}.html" for i in range(4)] == sorted(re.findall(r'href="([^"]*)"', table))
    items = shown.dom.split('id="item-analysis"')[1].split("</table>")[0]
    assert 0 < items.count("<tr>") - 1 <= 60
    likeliest = class_results[0].exposed[0]
    assert f"<code>{likeliest}</code>" in shown.dom.split('id="exposed"')[1]


def test_dashboard_counts_rows_that_were_not_graded(class_results):
    rows = [*class_results, Row(submission="broken.py", status="error")]
    page = render_dashboard(rows, {})
    assert 'id="count-error"><strong>1</strong>' in page and "broken.py" in page
    assert render_dashboard(rows[:2]) and 'id="item-analysis"' in page


def test_grade_all_writes_the_dashboard(tmp_path):
    from click.testing import CliRunner

    from grader.cli import cli

    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "starter.py").write_text(STARTER.read_text(encoding="utf-8"), encoding="utf-8")
    (subs / "ref.py").write_text((ROOT / "policies" / "fruit" / "reference_bot.py").read_text(encoding="utf-8"),
                                 encoding="utf-8")
    board = tmp_path / "class.html"
    done = CliRunner().invoke(cli, ["grade-all", str(subs), "--suite", "smoke", "--out", str(tmp_path / "g.csv"),
                                    "--format", "html", "--dashboard", str(board), "--allow-unisolated"])
    assert done.exit_code == 0, done.output
    links = sorted(re.findall(r'href="([^"]*)"', board.read_text(encoding="utf-8")))
    assert len(links) == 2 and all((tmp_path / link).is_file() for link in links)
    starter_report = (tmp_path / links[1]).read_text(encoding="utf-8")
    assert links[1].endswith("starter.py.html") and 'class="trace"' in starter_report


def test_run_format_html(tmp_path):
    from click.testing import CliRunner

    from grader.cli import cli

    out = tmp_path / "report.html"
    done = CliRunner().invoke(cli, ["run", str(STARTER), "--public-only", "--format", "html", "--out", str(out)])
    assert done.exit_code == 0, done.output
    page = out.read_text(encoding="utf-8")
    failed = page.count('<details class="case"')
    assert page.startswith("<!DOCTYPE html>") and failed > 0
    assert page.count('class="trace"') == min(failed, 60)  # the worst are traced, the rest say how
    # the rest say how (a long traced case may point there for its remaining attempts too)
    assert page.count("For the letter-by-letter trace run <code>python -m grader explain") == failed - min(failed, 60)


def test_the_html_replay_is_isolated_as_the_grading_was(tmp_path, monkeypatch):
    """Root without bubblewrap: --isolation none is allowed when asked for, and the replay
    of the failures must take the same layer rather than choose (and refuse) again."""
    from click.testing import CliRunner

    from grader.cli import cli

    monkeypatch.setattr("grader.sandbox.isolation.bwrap_binary", lambda: None)
    monkeypatch.setattr("grader.sandbox.isolation.reachable_by_others", lambda path: False)
    monkeypatch.setattr("grader.sandbox.isolation.root_on_the_host", lambda: True)
    out = tmp_path / "report.html"
    done = CliRunner().invoke(cli, ["run", str(STARTER), "--suite", "smoke", "--isolation", "none",
                                    "--format", "html", "--out", str(out)])
    assert done.exit_code == 0, done.output
    assert 'class="trace"' in out.read_text(encoding="utf-8")


def test_a_trace_draws_a_bounded_number_of_names():
    from grader.grading.explain import NameTrace, SampleTrace, Trace
    from grader.grading.probability import Step
    from grader.reports.html import MAX_ATTEMPTS_DRAWN, trace_block

    name = NameTrace("a", "ab", (Step("a", "b", 0.5), Step("ab", "<end>", 0.9)), 0.45, "is_safe_name", False)
    sample = SampleTrace(0, "REFUSE: no", "refused", "resampling", "refused a legitimate request", (name,) * 100)
    trace = Trace("bot.py", "direct/x", "request", "answer", "public", 1, 0.5, "a " * 100, ["a"] * 100,
                  ["a"] * 100, 3, 3, [sample] * 3, 0.0, "no")
    block = trace_block(trace)
    assert block.count('<ol class="path"') == MAX_ATTEMPTS_DRAWN
    assert f"... and {100 - MAX_ATTEMPTS_DRAWN} more attempt(s)" in block and "... and 100 more" in block
