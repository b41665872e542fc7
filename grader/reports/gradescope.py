"""Gradescope's results.json, field by field as its published specification reads it
(https://gradescope-autograders.readthedocs.io/en/latest/specs/).

- Top level: `score` (the grade), `output` with its `output_format` (no `execution_time`:
  students see it, and a hook may choose how long it takes)
  ("text": the column-aligned report is never reflowed as simple_format would),
  `visibility`, `stdout_visibility` ("hidden": the log is the instructors'), `tests`.
- One test per rubric category carries its points: `score` within [0, `max_score`] and the
  tests adding up to the total (scoring.points_of: a category that leaks below 0 shows 0,
  and the grade, floored at 0, is shared among the others). A category holding hidden cases
  follows `hidden_visibility`, since its score and counts tell how the hidden cases went;
  until it shows, Gradescope hides the total too (as its specification says).
- Before that, what students may see is visible: the report of the public cases alone
  (scoring.public_part, the same as `--public-only`), as the top-level output and as one
  score-less test per category, its public score in the name.
With `hidden_visibility` "visible", or no hidden case, one visible test per category.
"""
from __future__ import annotations

import json

from .text import UNSCORED_NOTE, failed_case_lines, render_text
from ..results import CaseResult, CategoryScore, GradeResult, Status, integrity_headline, worst_first
from ..grading.scoring import points_of, public_part

MAX_FAILED_SHOWN = 25


def _details(cases: list[CaseResult]) -> str:
    """The worst failures, capped: a results.json is read in a browser, not searched."""
    failed = [c for c in cases if not c.passed]
    shown = worst_first(failed)[:MAX_FAILED_SHOWN]
    more = [f"... and {len(failed) - len(shown)} more failed case(s)"] if len(failed) > len(shown) else []
    return "\n".join([line.strip() for case in shown for line in failed_case_lines(case)] + more)


def _summary(cat: CategoryScore) -> str:
    return (f"{cat.counts.describe()}; leak rate {cat.leaks.describe()}; "
            f"over-refusal {cat.over_refusal.describe()}"
            + (f"; not scored: {UNSCORED_NOTE}" if cat.unscored else ""))


def _test(name: str, output: str, passed: bool, visibility: str, points: tuple[float, float] | None) -> dict:
    test = {"name": name, "status": "passed" if passed else "failed", "output": output,
            "output_format": "text", "visibility": visibility, "tags": [name.split(":")[0]]}
    if points is not None:
        test |= {"score": round(points[0], 4), "max_score": points[1]}
    return test


def _points_note(cat: CategoryScore, points: float) -> str:
    if abs(points - cat.score) < 5e-5:
        return ""
    return (f"category score {cat.score:.2f}/{cat.weight:g}; shown as {points:.2f}: each test lies within "
            "0 and its maximum and the tests add up to the grade, which is floored at 0, so what a "
            "category below 0 takes off the grade comes off the others in proportion")


def graded_tests(result: GradeResult, hidden_visibility: str) -> list[dict]:
    """One test per category carrying its points, and before it, when its hidden cases are
    not shown yet, one score-less visible test of its public cases."""
    public = {c.name: c for c in public_part(result).categories}
    tests = []
    for cat, points in zip(result.categories, points_of(result.categories)):
        mine = [c for c in result.cases if c.category == cat.name]
        has_hidden = any(c.visibility != "public" for c in mine)
        shown_later = has_hidden and hidden_visibility != "visible"
        if shown_later and cat.name in public:
            pub = public[cat.name]
            tests.append(_test(f"{cat.name}: public cases ({pub.score:.2f}/{pub.weight:g} if graded on them "
                               "alone)", "\n".join(filter(None, [_summary(pub), _details(
                                   [c for c in mine if c.visibility == "public"])])),
                               pub.failed == 0, "visible", None))
        output = "\n".join(filter(None, [_points_note(cat, points), _summary(cat), _details(mine)]))
        tests.append(_test(cat.name, output, cat.failed == 0, hidden_visibility if shown_later else "visible",
                           (points, cat.weight)))
    return tests


def render_gradescope(result: GradeResult, hidden_visibility: str = "after_due_date") -> str:
    tests, shown = [], result
    if result.status == Status.GRADED:
        tests = graded_tests(result, hidden_visibility)
        if hidden_visibility != "visible" and any(c.visibility != "public" for c in result.cases):
            shown = public_part(result)
    else:
        fault = result.status == Status.GRADER_FAULT
        head = [] if fault else [f"integrity: {integrity_headline(result.causes)}"]
        tests = [_test("grader" if fault else "integrity",
                       "\n".join(head + result.integrity_findings + result.integrity_diff + result.notes),
                       False, "visible", (0.0, result.max_score))]
    output = render_text(shown)
    if shown is not result:
        output = (f"Your public cases, as --public-only grades them. The grade, with the hidden cases, "
                  f"shows {hidden_visibility.replace('_', ' ')}.\n\n" + output)
    doc = {"score": round(result.score, 4), "output": output,
           "output_format": "text", "visibility": "visible", "stdout_visibility": "hidden", "tests": tests}
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def fallback_gradescope(submission: str, status: str, note: str) -> str:
    """results.json for a submission that has no grading result: why, and no points."""
    return json.dumps({"score": 0, "output": f"{status.replace('_', ' ')}: {note}", "tests": []}, indent=2,
                      ensure_ascii=False) + "\n"
