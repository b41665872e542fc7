"""A GradeResult as GitHub Classroom's autograding reporter reads a runner's result.

classroom-resources/autograding-grading-reporter takes, for each runner step, a base64
JSON object `{"version": 1, "status", "max_score", "tests": [...]}`. The points it sends to
Classroom are the sum of the tests' `score` (added in order from 0, in JavaScript); it
shows each test's name and pass mark, never a test's score, and fails the job when
`status` is "fail" or "error". So the first test carries the whole grade, scaled to
`points` and rounded to 0.01: the sum is then exactly the grade, never below 0 (a
category may be negative, the grade never is) and without float noise. One test per
rubric category follows, its points in its name. `status` is "pass" for a graded
submission (the workflow's threshold is run's --fail-under), "fail" when the shared code
was changed, "error" on a grader fault.
"""
from __future__ import annotations

import json

from .report import failed_case_lines
from .results import GradeResult

MAX_CASES_SHOWN = 10


def _test(name: str, status: str, score: float, message: str, details: str, seconds: float) -> dict:
    return {"name": name, "status": status, "score": score, "message": message, "test_code": details,
            "filename": "", "line_no": 0, "execution_time": f"{seconds:.1f}s"}


def render_classroom(result: GradeResult, points: float | None = None) -> str:
    status = getattr(result.status, "value", result.status)
    max_points = result.max_score if points is None else points
    scale = max_points / result.max_score if result.max_score else 0.0
    if status == "grader_fault":
        tests = [_test("grader", "error", 0, "the grader failed, not your submission",
                       "\n".join(result.notes), result.seconds)]
    elif status == "integrity_failed":
        tests = [_test("integrity", "fail", 0, "the shared code was changed: score 0",
                       "\n".join(result.integrity_findings + result.integrity_diff), result.seconds)]
    else:
        full = all(c.failed == 0 for c in result.categories)
        tests = [_test(f"grade: {result.score * scale:.2f}/{max_points:g} points", "pass" if full else "fail",
                       round(result.score * scale, 2), "the sum of the categories below (never below 0)",
                       "\n".join(f"{c.name}: {c.score * scale:.2f}/{c.weight * scale:.2f}"
                                 for c in result.categories if c.weight), result.seconds)]
        for cat in result.categories:
            failed = [c for c in result.cases if c.category == cat.name and not c.passed]
            shown = [c for c in failed if c.visibility == "public"][:MAX_CASES_SHOWN]
            details = "\n".join(line for case in shown for line in failed_case_lines(case, color=False))
            if len(failed) > len(shown):
                details += f"\n  ... and {len(failed) - len(shown)} more failed case(s)"
            name = (f"{cat.name}: {cat.score * scale:.2f}/{cat.weight * scale:.2f} points, "
                    f"{cat.cases - cat.failed}/{cat.cases} cases passed")
            tests.append(_test(name, "fail" if failed else "pass", 0, f"{len(failed)} case(s) failed"
                               if failed else "", details.strip("\n"), 0.0))  # counted in the grade
    doc = {"version": 1, "status": {"graded": "pass", "integrity_failed": "fail"}.get(status, "error"),
           "max_score": max_points, "tests": tests}
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
