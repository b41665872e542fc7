"""The gradebook: one row per submission, as CSV (written atomically), and the summary.

Statuses: graded; integrity_failed (score 0); not_gradable (the reason is in `note`);
grader_fault (a failure of the grader, not of the submission); interrupted (Ctrl-C came
before its grading finished: the gradebook is partial).

Cells mean the same for every status: score, max_score and percent are filled for the
scored statuses (graded, and integrity_failed with score 0); a category cell holds that
category's points toward the total only for a graded row (it can be negative: leaks cost
more than the decisions earn, docs/scoring.md), and is empty for every other status.
Beside each report, grade-all writes the instructors' full report (FULL_SUFFIX, hidden
cases included); `read_rows` rebuilds the class from the gradebook and those.
"""
from __future__ import annotations

import csv
import io
import json
import statistics
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import UsageError
from ..results import Status, integrity_headline
from ..safeio import clean_words, write_atomic

HEAD = ["submission", "status", "score", "max_score", "percent"]
TAIL = ["integrity", "seconds", "report", "note"]
SCORED = (Status.GRADED, Status.INTEGRITY_FAILED)
FULL_SUFFIX = ".full.json"
KEPT_NOTE = "kept from the previous run (this one was interrupted before grading it)"


@dataclass
class Row:
    submission: str
    status: Status
    score: float = 0.0
    max_score: float = 0.0
    percent: float = 0.0
    categories: dict[str, float] = field(default_factory=dict)
    integrity: str = ""
    seconds: float = 0.0
    report: str = ""
    note: str = ""
    failed_cases: list[str] = field(default_factory=list)  # keys; for the summary only
    leaks: list[str] = field(default_factory=list)  # banned words emitted; for the dashboard
    exposed: list[str] = field(default_factory=list)  # the adversary's likeliest leaks; same

    @classmethod
    def from_result(cls, label: str, result) -> "Row":
        status = Status(result.status)
        integrity = "ok" if result.integrity_ok else clean_words("; ".join(
            [integrity_headline(result.causes), *result.integrity_findings[:1]]), 1000)
        return cls(submission=label, status=status, score=result.score, max_score=result.max_score,
                   percent=round(result.percent, 2),
                   categories={c.name: round(c.score, 4) for c in result.categories} if status == Status.GRADED else {},
                   integrity=integrity,
                   seconds=result.seconds, note=clean_words("; ".join(result.notes + result.hidden_notes)),
                   failed_cases=[c.key for c in result.cases if not c.passed],
                   leaks=sorted({w for c in result.cases for w in c.leaked}),
                   exposed=[f.banned_name for f in result.adversary])

    @property
    def key(self) -> str:
        """The row's submission cell, which keys it in a gradebook."""
        return _cell(self.submission)

    def record(self) -> dict[str, str]:
        """The row as CSV cells (text cells defused for spreadsheets)."""
        scored = self.status in SCORED
        cells = {"submission": self.key, "status": self.status,
                 "score": self.score if scored else "", "max_score": self.max_score if scored else "",
                 "percent": self.percent if scored else "", "integrity": _cell(self.integrity),
                 "seconds": self.seconds if scored else "", "report": _cell(self.report),
                 "note": _cell(self.note)}
        return {k: str(v) for k, v in {**cells, **self.categories}.items()}


def full_report_name(report: str) -> str:
    """The instructors' full report beside a student-safe one: every case, hidden ones too,
    as --format json writes it. The dashboard is rebuilt from these and the gradebook."""
    return f"{Path(report).stem}{FULL_SUFFIX}"


def write_full_report(path: Path, result) -> None:
    """The full report of a result; a row without one (not gradable, a fault) has none."""
    if result is None:
        path.unlink(missing_ok=True)
    else:
        write_atomic(path, json.dumps(result.to_dict(), indent=2, ensure_ascii=False) + "\n")


def _cell(text: str) -> str:
    """A spreadsheet runs a cell starting with = + - @ as a formula: make it text. A cell
    starting with ' gets one more, so no two texts share a cell (the cell keys a row)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "'") else text


def uncell(cell: str) -> str:
    """The text of a cell `_cell` wrote."""
    return cell[1:] if cell[:1] == "'" else cell


def read_gradebook(path: Path) -> list[dict[str, str]]:
    """The rows of a gradebook that grade-all wrote, as CSV cells."""
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            rows = list(reader)
            header = reader.fieldnames or []
    except FileNotFoundError:
        raise UsageError(f"{path}: no gradebook to update; run grade-all without --only first") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise UsageError(f"{path}: cannot read the gradebook ({exc})") from None
    if header[:2] != HEAD[:2]:
        raise UsageError(f"{path}: not a gradebook written by grade-all (its header is not "
                         f"{','.join(HEAD)},...)")
    return rows


def row_status(gradebook: Path, cell: str) -> Status:
    try:
        return Status(cell)
    except ValueError:
        raise UsageError(f"{gradebook}: status {cell!r} is none grade-all writes "
                         f"({', '.join(Status)}); restore the gradebook or grade again") from None


def read_rows(gradebook: Path, report_dir: Path) -> list[Row]:
    """The class as grade-all left it: the gradebook's rows, each with what its full report
    says (failed cases, leaks, the adversary's), for the dashboard. Never grades."""
    rows = []
    for cells in read_gradebook(gradebook):
        known = set(HEAD) | set(TAIL)
        row = Row(uncell(cells["submission"]), row_status(gradebook, cells["status"]), percent=_number(cells.get("percent")) or 0.0,
                  categories={k: float(v) for k, v in cells.items() if k not in known and _number(v) is not None},
                  report=uncell(cells.get("report", "")), note=uncell(cells.get("note", "")))
        full = report_dir / full_report_name(row.report) if row.report else None
        if full is not None and full.is_file():
            doc = read_full_report(full)
            row.failed_cases = [c["key"] for c in doc["cases"] if not c["passed"]]
            row.leaks = sorted({w for c in doc["cases"] for w in c["leaked"]})
            row.exposed = [f["banned_name"] for f in doc["adversary"]]
        rows.append(row)
    return rows


def read_full_report(path: Path) -> dict:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(doc.get("cases"), list) and isinstance(doc.get("adversary"), list):
            return doc
    except (OSError, UnicodeDecodeError, ValueError, AttributeError):
        pass
    raise UsageError(f"{path}: not a full report grade-all wrote; re-grade that submission with --only")


def _number(cell: str | None) -> float | None:
    try:
        return float(cell) if cell not in (None, "") else None
    except ValueError:
        return None


def write_gradebook(path: Path, records: list[dict[str, str]]) -> None:
    """All rows, sorted by submission, with every category any row has."""
    known = set(HEAD) | set(TAIL)
    categories = sorted({k for r in records for k in r if k not in known})
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, HEAD + categories + TAIL, restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows(sorted(records, key=lambda r: r["submission"]))
    write_atomic(path, buffer.getvalue())


def merge(old: list[dict[str, str]], new: list[Row]) -> list[dict[str, str]]:
    """The old rows with the new ones in place of (or beside) those of the same submission;
    an interrupted new row keeps the old row, which says so."""
    records = {r["submission"]: r for r in old}
    for row in new:
        kept = records.get(row.key)
        if row.status != Status.INTERRUPTED or kept is None:
            records[row.key] = row.record()
        elif not kept.get("note", "").startswith(KEPT_NOTE):
            kept["note"] = _cell(f"{KEPT_NOTE}; {uncell(kept.get('note', ''))}".rstrip("; "))
    return list(records.values())


def summary(rows: list[Row], top: int = 10) -> str:
    counts = Counter(r.status for r in rows)
    parts = [f"{counts[s]} {label}" for s, label in (
        (Status.GRADED, "graded"), (Status.INTEGRITY_FAILED, "failed integrity"),
        (Status.NOT_GRADABLE, "not gradable"), (Status.GRADER_FAULT, "grader fault(s)"),
        (Status.INTERRUPTED, "interrupted")) if counts[s] or s == Status.GRADED]
    lines = [f"{len(rows)} submission{'s' * (len(rows) != 1)}: " + ", ".join(parts)]
    scored = [r.percent for r in rows if r.status in SCORED]
    if scored:
        lines.append(f"score of {len(scored)} scored: mean {statistics.mean(scored):.1f}%, median "
                     f"{statistics.median(scored):.1f}%, min {min(scored):.1f}%, max {max(scored):.1f}%")
        buckets = Counter(min(int(s // 10), 9) for s in scored)
        for b in range(9, -1, -1):
            label = f"{b * 10:>3}-{b * 10 + 9 if b < 9 else 100}%"
            lines.append(f"  {label:<8} {'#' * buckets[b]} {buckets[b] or ''}".rstrip())
    graded = [r for r in rows if r.status == Status.GRADED]
    failed = Counter(key for r in graded for key in r.failed_cases)
    if failed:
        lines.append(f"most-failed cases (of {len(graded)} graded):")
        lines += [f"  {count:>4}  {key}" for key, count in failed.most_common(top)]
    lines += [f"{r.status.replace('_', ' ')}: {r.submission}: {r.note}" for r in rows
              if r.status in (Status.NOT_GRADABLE, Status.GRADER_FAULT)]
    return "\n".join(lines) + "\n"
