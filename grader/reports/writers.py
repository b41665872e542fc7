"""Report writers, registered in one place: each is a Writer (name, file extension, render,
fallback). A writer reads a GradeResult and returns text; none changes it, and none computes
a score (grader/grading/scoring.py does, once). A new format is one Writer in WRITERS."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Callable

from ..results import GradeResult
from .classroom import render_classroom
from .gradescope import fallback_gradescope, render_gradescope
from .html import fallback_html, render_html
from .junit import fallback_junit, render_junit
from .text import render_text


@dataclass(frozen=True)
class Options:
    """What a caller may ask of any writer; each writer reads what concerns it."""
    color: bool = False
    hidden_visibility: str = "after_due_date"  # Gradescope visibility of hidden case details
    traces: dict | None = None  # html: trace.Trace of failed public cases, by case key
    model: object = None  # html: the kit's model, when the caller has it loaded already
    points: float | None = None  # classroom: the assignment's points (default: the rubric's total)


@dataclass(frozen=True)
class Writer:
    name: str
    extension: str
    render: Callable[[GradeResult, Options], str]
    # grade-all's report for a submission that has no grading result: (submission, status, note);
    # None for a format grade-all does not write
    fallback: Callable[[str, str, str], str] | None


def render_json(result: GradeResult) -> str:
    return json.dumps(result.to_dict(), indent=2, ensure_ascii=False) + "\n"


def fallback_json(submission: str, status: str, note: str) -> str:
    return json.dumps({"submission": submission, "status": status, "note": note}, indent=2,
                      ensure_ascii=False) + "\n"


def fallback_text(submission: str, status: str, note: str) -> str:
    return f"guardrail-lab grader: {submission}\n{status.replace('_', ' ')}: {note}\n"


WRITERS = {writer.name: writer for writer in (
    Writer("text", "txt", lambda result, options: render_text(result, options.color), fallback_text),
    Writer("json", "json", lambda result, options: render_json(result), fallback_json),
    Writer("gradescope", "json", lambda result, options: render_gradescope(result, options.hidden_visibility),
           fallback_gradescope),
    Writer("junit", "xml", lambda result, options: render_junit(result), fallback_junit),
    Writer("html", "html", lambda result, options: render_html(result, options.traces, options.model),
           fallback_html),
    # GitHub Classroom's reporter input: one student's own run, never a class's report
    Writer("classroom", "json", lambda result, options: render_classroom(result, options.points), None),
)}
FORMATS = tuple(WRITERS)
CLASS_FORMATS = tuple(name for name, writer in WRITERS.items() if writer.fallback is not None)
EXTENSIONS = {writer.extension for writer in WRITERS.values()}


def render(result: GradeResult, fmt: str, **options) -> str:
    """The report in format `fmt`; `options` are Options' fields."""
    return WRITERS[fmt].render(result, Options(**options))


def fallback(fmt: str, submission: str, status: str, note: str) -> str:
    """grade-all's report in format `fmt` for a submission that has no grading result: why."""
    return WRITERS[fmt].fallback(submission, status, note)
