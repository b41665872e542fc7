"""What the platforms' own published code and specifications read in our reports, written
out independently of the writers: Gradescope's results.json (the repository
gradescope/autograder_samples, its docs/specs.md) and GitHub Classroom's
autograding-grading-reporter v1 (src/*.js)."""
from __future__ import annotations

import math

import pytest

VISIBILITIES = {"hidden", "after_due_date", "after_published", "visible"}
FORMATS = {"text", "html", "simple_format", "md", "ansi"}
TOP_LEVEL = {"score", "execution_time", "output", "output_format", "test_output_format", "test_name_format",
             "visibility", "stdout_visibility", "extra_data", "tests", "leaderboard"}
TEST_FIELDS = {"score", "max_score", "status", "name", "name_format", "number", "output", "output_format",
               "tags", "visibility", "extra_data"}


def check_results_json(doc: dict) -> None:
    """Gradescope's specification, field by field, and what it implies for a grade: each
    test's score within [0, max_score], the tests adding up to the top-level score."""
    assert set(doc) <= TOP_LEVEL, set(doc) - TOP_LEVEL
    assert doc["output_format"] in FORMATS and doc["visibility"] in VISIBILITIES
    assert doc["stdout_visibility"] in VISIBILITIES
    assert isinstance(doc["output"], str) and doc["score"] >= 0
    for test in doc["tests"]:
        assert set(test) <= TEST_FIELDS, set(test) - TEST_FIELDS
        assert test["status"] in ("passed", "failed") and test["visibility"] in VISIBILITIES
        assert test.get("output_format", "text") in FORMATS and isinstance(test["name"], str)
        if "score" in test:
            assert 0 <= test["score"] <= test["max_score"] + 1e-9, test["name"]
    assert sum(t.get("score", 0) for t in doc["tests"]) == pytest.approx(doc["score"], abs=1e-3)


def shown_before_the_due_date(doc: dict) -> str:
    """Everything a student sees while hidden tests are not shown yet."""
    return doc["output"] + "".join(t["name"] + t["output"] for t in doc["tests"] if t["visibility"] == "visible")


def reporter_points(runners: dict[str, dict]) -> tuple[float, float]:
    """notify-classroom.js: "Points T/M", T every test's score added in order from 0, M the
    runners' max_score added, runners without a max_score left out."""
    total = maximum = 0.0
    for doc in runners.values():
        if not doc["max_score"]:
            continue
        maximum += doc["max_score"]
        for test in doc["tests"]:
            total += test["score"]
    return total, maximum


def reporter_console_points(runners: dict[str, dict]) -> dict[str, float]:
    """console-results.js: "Total points for RUNNER: S/max", S the share of its tests whose
    status is "pass" times its max_score; printed only for a runner with a max_score."""
    out = {}
    for name, doc in runners.items():
        if doc["max_score"]:
            passed = sum(t["status"] == "pass" for t in doc["tests"])
            out[name] = passed / len(doc["tests"]) * doc["max_score"]
            assert not math.isnan(out[name])
    return out
