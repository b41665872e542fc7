"""A GradeResult as GitHub Classroom's autograding reporter reads it
(classroom-resources/autograding-grading-reporter v1, run by the workflow in
.github/workflows/classroom.yml of the student kit).

The reporter takes one base64 JSON object `{"version": 1, "status", "max_score", "tests"}`
per runner. It records on the assignment "Points T/M": T the sum of every test's `score`
(added in order from 0, in JavaScript) and M the sum of the runners' `max_score`. Its
console prints, per runner with a `max_score`, "Total points for RUNNER: S/max" where S is
the share of its tests whose status is "pass" times its max_score, whatever their scores.
So the grade G (scaled to `points`, rounded to 0.01) is split over three runners, and
both readings agree:
- `earned`: max_score G, one passing test of score G (its console line: G/G);
- `missed`: max_score points - G, one failing test of score 0 (its line: 0/points - G);
- `categories`: max_score 0 (no points, no console line), one test per rubric category,
  its points and failed cases in its name and details.
A runner whose `status` is "fail" or "error" fails the job: `categories` carries it
(integrity failure, grader fault); the threshold is the grading step's exit code
(run --fail-under).
"""
from __future__ import annotations

import json

from .text import failed_case_lines
from ..results import GradeResult, Status, integrity_headline

MAX_CASES_SHOWN = 10
RUNNERS = ("categories", "earned", "missed")


def _test(name: str, passed: bool, score: float = 0.0, message: str = "", details: str = "",
          status: str | None = None) -> dict:
    return {"name": name, "status": status or ("pass" if passed else "fail"), "score": score,
            "message": message, "test_code": details, "filename": "", "line_no": 0, "execution_time": ""}


def _runner(status: str, max_score: float, tests: list[dict]) -> dict:
    return {"version": 1, "status": status, "max_score": max_score, "tests": tests}


def split_points(grade: float, points: float) -> tuple[float, float]:
    """(earned, missed), each rounded to 0.01, whose JavaScript sum is `points` exactly."""
    earned = min(points, max(0.0, round(grade, 2)))
    missed = round(points - earned, 2)
    return earned, missed if earned + missed == points else points - earned


def category_tests(result: GradeResult, scale: float) -> list[dict]:
    tests = []
    for cat in result.categories:
        failed = [c for c in result.cases if c.category == cat.name and c.scored and not c.passed]
        shown = [c for c in failed if c.visibility == "public"][:MAX_CASES_SHOWN]
        details = "\n".join(line for case in shown for line in failed_case_lines(case, color=False))
        if len(failed) > len(shown):
            details += f"\n  ... and {len(failed) - len(shown)} more failed case(s)"
        name = (f"{cat.name}: {cat.score * scale:.2f}/{cat.weight * scale:.2f} points, "
                f"{cat.counts.describe()}")
        tests.append(_test(name, cat.failed == 0 and not failed, message=f"{len(failed)} case(s) failed" if failed else "",
                           details=details.strip("\n")))
    return tests


def _problem(result: GradeResult, status: Status) -> dict:
    """The one test of a submission that was not graded."""
    if status == Status.GRADER_FAULT:
        return _test("grader", False, message="the grader failed, not your submission",
                     details="\n".join(result.notes), status="error")
    return _test("integrity", False, message=f"integrity: {integrity_headline(result.causes)}",
                 details="\n".join(result.integrity_findings + result.integrity_diff))


def render_classroom(result: GradeResult, points: float | None = None) -> str:
    """The three runners' results as one JSON object {runner: result}; the workflow hands
    each to the reporter base64-encoded."""
    status = Status(result.status)
    max_points = result.max_score if points is None else points
    scale = max_points / result.max_score if result.max_score else 0.0
    earned, missed = split_points(result.score * scale if status == Status.GRADED else 0.0, max_points)
    problem = None if status == Status.GRADED else _problem(result, status)
    runner_status = {Status.GRADED: "pass", Status.INTEGRITY_FAILED: "fail"}.get(status, "error")
    doc = {
        "categories": _runner(runner_status, 0, [problem] if problem else category_tests(result, scale)),
        "earned": _runner("pass", earned, [_test(f"grade: {earned:.2f}/{max_points:g} points", earned > 0,
                                                 earned, "the sum of the categories (never below 0)")]),
        "missed": _runner("pass", missed, [_test(f"missed: {missed:.2f} points", missed == 0)]),
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
