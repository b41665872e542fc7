"""The class dashboard rebuilt from the gradebook and the instructors' full reports: after
grade-all --only, and by the `dashboard` command, without grading anyone again."""
import csv
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.cli import cli
from grader.classes.dashboard import render_dashboard
from grader.classes.gradebook import Row

ROOT = Path(__file__).resolve().parent.parent
STARTER = ROOT / "starter" / "bot.py"
REFERENCE = ROOT / "policies" / "fruit" / "reference_bot.py"


def submissions(links: str) -> list[str]:
    return sorted(re.findall(r"<tr><td><code>([^<]*)</code></td><td>", links.split('id="submissions"')[1]))


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("class")
    subs = tmp / "subs"
    subs.mkdir()
    (subs / "starter.py").write_text(STARTER.read_text(encoding="utf-8"), encoding="utf-8")
    (subs / "ref.py").write_text(REFERENCE.read_text(encoding="utf-8"), encoding="utf-8")
    (subs / "broken.py").write_text("def (:\n", encoding="utf-8")
    args = ["grade-all", str(subs), "--suite", "smoke", "--out", str(tmp / "g.csv"), "--allow-unisolated"]
    first = CliRunner().invoke(cli, [*args, "--dashboard", str(tmp / "class.html")])
    assert first.exit_code == 0, first.output
    return tmp, args


def test_full_reports_sit_beside_the_student_safe_ones(graded):
    tmp, _ = graded
    reports = tmp / "g-reports"
    full = json.loads((reports / "ref.py.full.json").read_text(encoding="utf-8"))
    assert full["status"] == "graded" and full["cases"] and all("visibility" in c for c in full["cases"])
    assert (reports / "ref.py.txt").is_file()
    # an integrity failure still has its result; nothing else lacks one here
    assert json.loads((reports / "broken.py.full.json").read_text())["status"] == "integrity_failed"


def test_only_rebuilds_the_dashboard_of_the_whole_class(graded):
    tmp, args = graded
    before = (tmp / "class.html").read_text(encoding="utf-8")
    again = CliRunner().invoke(cli, [*args, "--only", "starter.py", "--dashboard", str(tmp / "class.html")])
    assert again.exit_code == 0, again.output
    assert "1 submission:" in again.output  # only one was graded
    after = (tmp / "class.html").read_text(encoding="utf-8")
    assert submissions(after) == submissions(before) == ["broken.py", "ref.py", "starter.py"]
    assert after.split('id="item-analysis"')[1] == before.split('id="item-analysis"')[1]


def test_the_dashboard_command_grades_nothing(graded):
    tmp, _ = graded
    page = tmp / "again.html"
    done = CliRunner().invoke(cli, ["dashboard", str(tmp / "g.csv"), "--out", str(page)])
    assert done.exit_code == 0, done.output
    text = page.read_text(encoding="utf-8")
    assert submissions(text) == ["broken.py", "ref.py", "starter.py"]
    assert text.split('id="items"')[1] == (tmp / "class.html").read_text(encoding="utf-8").split('id="items"')[1]
    refused = CliRunner().invoke(cli, ["dashboard", str(tmp / "g.csv"), "--out", str(tmp / "g.csv")])
    assert refused.exit_code == 2 and "not a dashboard grade-all wrote" in refused.output


def test_gradebook_cells_mean_the_same_for_every_status(graded):
    tmp, _ = graded
    with open(tmp / "g.csv", newline="", encoding="utf-8") as f:
        rows = {r["submission"]: r for r in csv.DictReader(f)}
    assert rows["broken.py"]["status"] == "integrity_failed" and rows["broken.py"]["score"] == "0.0"
    assert rows["broken.py"]["smoke"] == ""  # no category score for a row that was not graded
    assert rows["ref.py"]["status"] == "graded" and float(rows["ref.py"]["smoke"]) > 0


def test_the_dashboard_shows_weighted_categories_only():
    rows = [Row("a.py", "graded", percent=50.0, categories={"direct": -3.0, "lookalike": 0.0}),
            Row("b.py", "graded", percent=70.0, categories={"direct": 10.0, "lookalike": 0.0})]
    page = render_dashboard(rows, {}, {"direct": 20, "lookalike": 0})
    table = page.split('id="category-distributions"')[1].split("</table>")[0]
    assert "lookalike" not in table and "3.50/20" in table  # (-3 + 10) / 2: negatives count as they are
    assert "negative" in page.split('id="scores"')[1]


def test_a_note_is_never_cut_mid_word():
    from grader.safeio import clean_words

    text = "the submission's process was restarted 3 time(s) after hangs; " * 10
    cut = clean_words(text, 100)
    assert len(cut) <= 100 and cut.endswith(" ...") and text.startswith(cut[:-4])
    assert text[len(cut) - 4] in " ;"  # the cut falls between words
