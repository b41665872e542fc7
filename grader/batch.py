"""Grade a folder of submissions in parallel: a gradebook CSV, one report per submission and
a summary. One submission's failure (or a grader fault on it) never stops the others."""
from __future__ import annotations

import csv
import functools
import os
import statistics
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .errors import GraderError, UsageError
from .report import render
from .kit import load_kit_model
from .runner import grade
from .suites import Suite

EXTENSIONS = {"text": "txt", "json": "json", "gradescope": "json", "junit": "xml"}


@dataclass
class Row:
    submission: str
    status: str  # graded | integrity_failed | grader_fault | error
    score: float = 0.0
    max_score: float = 0.0
    percent: float = 0.0
    categories: dict[str, float] = field(default_factory=dict)
    integrity: str = ""
    seconds: float = 0.0
    note: str = ""
    failed_cases: list[str] = field(default_factory=list)


def find_submissions(directory: Path) -> list[Path]:
    """Every *.py directly in the folder, and every */bot.py one level down."""
    if not directory.is_dir():
        raise UsageError(f"{directory}: not a folder of submissions")
    found = sorted(p for p in directory.glob("*.py") if p.is_file()) + \
        sorted(p for p in directory.glob("*/bot.py") if p.is_file())
    if not found:
        raise UsageError(f"{directory}: no *.py or */bot.py submissions found")
    return found


def report_name(directory: Path, submission: Path, fmt: str) -> str:
    relative = submission.relative_to(directory)
    stem = relative.parent.name if relative.name == "bot.py" and relative.parent.name else relative.stem
    return f"{stem}.{EXTENSIONS[fmt]}"


@functools.cache
def _model():
    return load_kit_model()


def grade_one(directory: Path, submission: Path, suites: list[Path | Suite], seed: int, fmt: str,
              report_dir: Path) -> Row:
    """Grade one submission in a pool process and write its report; never raises."""
    label = str(submission.relative_to(directory))
    try:
        result = grade(submission, suites, seed=seed, model=_model())
    except GraderError as error:
        return Row(label, "error", note=str(error))
    except Exception as exc:  # noqa: BLE001  a grader bug on one submission spares the rest
        return Row(label, "grader_fault", note=f"{type(exc).__name__}: {exc}")
    (report_dir / report_name(directory, submission, fmt)).write_text(render(result, fmt), encoding="utf-8")
    return Row(label, result.status, result.score, result.max_score, round(result.percent, 2),
               {c.name: round(c.score, 4) for c in result.categories},
               "ok" if result.integrity_ok else (result.integrity_findings or ["failed"])[0],
               result.seconds, "; ".join(result.notes)[:300],
               [c.key for c in result.cases if not c.passed])


def grade_all(directory: Path, suites: list[Path | Suite], report_dir: Path, fmt: str = "text",
              seed: int = 1234, jobs: int | None = None,
              on_done: Callable[[Row], None] | None = None) -> list[Row]:
    submissions = find_submissions(directory)
    report_dir.mkdir(parents=True, exist_ok=True)
    report_dir.chmod(0o700)  # sandboxed submissions run as other users: keep reports private
    jobs = jobs or os.cpu_count() or 1
    rows: dict[Path, Row] = {}
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(grade_one, directory, s, suites, seed, fmt, report_dir): s
                   for s in submissions}
        for future in as_completed(futures):
            submission = futures[future]
            try:
                row = future.result()
            except BrokenProcessPool as exc:
                row = Row(str(submission.relative_to(directory)), "grader_fault",
                          note=f"the grading process died: {exc}")
            rows[submission] = row
            if on_done:
                on_done(row)
    return [rows[s] for s in submissions]


def write_gradebook(rows: list[Row], path: Path) -> None:
    categories = sorted({name for row in rows for name in row.categories})
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["submission", "status", "score", "max_score", "percent", *categories,
                         "integrity", "seconds", "note"])
        for row in rows:
            writer.writerow([row.submission, row.status, row.score, row.max_score, row.percent,
                             *[row.categories.get(c, "") for c in categories], row.integrity,
                             row.seconds, row.note])


def summary(rows: list[Row], top: int = 10) -> str:
    graded = [r for r in rows if r.status in ("graded", "integrity_failed")]
    lines = [f"{len(rows)} submissions: {sum(r.status == 'graded' for r in rows)} graded, "
             f"{sum(r.status == 'integrity_failed' for r in rows)} failed integrity, "
             f"{sum(r.status in ('error', 'grader_fault') for r in rows)} not graded"]
    if graded:
        scores = [r.percent for r in graded]
        lines.append(f"score: mean {statistics.mean(scores):.1f}%, median "
                     f"{statistics.median(scores):.1f}%, min {min(scores):.1f}%, max {max(scores):.1f}%")
        buckets = Counter(min(int(s // 10), 9) for s in scores)
        for b in range(9, -1, -1):
            label = f"{b * 10:>3}-{b * 10 + 9 if b < 9 else 100}%"
            lines.append(f"  {label:<8} {'#' * buckets[b]} {buckets[b] or ''}".rstrip())
    failed = Counter(key for r in rows for key in r.failed_cases)
    if failed:
        lines.append(f"most-failed cases (of {len(graded)} graded):")
        lines += [f"  {count:>4}  {key}" for key, count in failed.most_common(top)]
    problems = [r for r in rows if r.status in ("error", "grader_fault")]
    lines += [f"not graded: {r.submission}: {r.note}" for r in problems]
    return "\n".join(lines) + "\n"
