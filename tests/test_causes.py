"""One cause per integrity failure, written alike in every format: the text, HTML, JUnit,
Gradescope and gradebook reports name a syntax error as such and a hang as a hang (with the
request it stopped at and how to replay it), never as changed shared code."""
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import grader.grading.runner

from grader.reports.classroom import render_classroom
from grader.classes.gradebook import Row
from grader.reports.html import render_html
from grader.integrity.gate import IntegrityReport
from grader.sandbox.limits import Limits
from grader.reports.writers import render
from grader.results import Cause
from grader.grading.runner import grade
from submissions import with_hooks, write_submission

ROOT = Path(__file__).resolve().parent.parent
SMOKE = ROOT / "policies" / "fruit" / "public" / "smoke.toml"
LIMITS = Limits(call_seconds=2.0, total_seconds=40, smoke_seconds=20, start_seconds=20, cpu_seconds=40,
                max_restarts=2)
# its own bot.py (run as `bot.py --seed N`) hangs at 'emma'; in the kit's loop the hooks answer
HANGS = with_hooks(prelude="import sys\nOWN_RUN = '--seed' in sys.argv", request_body="""
    while OWN_RUN and prefixes == ['emma']:
        pass
    return None""")


def headlines(result) -> dict[str, str]:
    """The integrity line of each format."""
    junit = ET.fromstring(render(result, "junit")).find(".//failure").get("message")
    gradescope = json.loads(render(result, "gradescope"))["tests"][0]["output"].splitlines()[0]
    text = next(line for line in render(result, "text").splitlines() if line.startswith("integrity:"))
    html = render_html(result, {}, model=None).split('id="score"')[1].split("</p>")[0]
    return {"text": text.removeprefix("integrity: "), "junit": junit,
            "gradescope": gradescope.removeprefix("integrity: "),
            "gradebook": Row.from_result("x", result).integrity, "html": html,
            "classroom": json.dumps(json.loads(render_classroom(result, 100)), ensure_ascii=False)}


@pytest.mark.parametrize("source, cause", [
    (with_hooks(request_body="return ("), Cause.SYNTAX),
    (with_hooks().replace("def is_safe_name", "def is_safe_nam"), Cause.MISSING),
    (with_hooks(prelude="import ctypes"), Cause.FORBIDDEN),
])
def test_a_static_cause_is_named_alike_everywhere(tmp_path, source, cause):
    result = grade(write_submission(tmp_path, source), [SMOKE], limits=LIMITS)
    assert result.causes == [cause]
    for fmt, line in headlines(result).items():
        assert f"FAILED (score 0): {cause.value}" in line, fmt
        assert "shared code was changed" not in line or cause == Cause.FROZEN, fmt


def test_a_hang_is_named_with_its_request_and_replay(tmp_path, monkeypatch):
    # the static rules refuse sys.argv; the smoke stage must hold without them
    monkeypatch.setattr(grader.grading.runner, "check_file", lambda path: IntegrityReport(True, [], []))
    result = grade(write_submission(tmp_path, HANGS), [SMOKE], limits=LIMITS)
    assert result.status == "integrity_failed" and result.causes == [Cause.HANG]
    finding = result.integrity_findings[0]
    assert "it stopped at the request 'emma'" in finding
    assert "python -m grader explain bot.py 'emma'" in finding and "--seed" in finding
    for fmt, line in headlines(result).items():
        assert "FAILED (score 0): hang: your bot.py did not finish in time" in line, fmt
