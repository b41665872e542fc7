"""One grade-all run over a class folder: the submissions it holds (grader/classes/discovery.py),
a reports folder written fresh and put in place of the old one at the end (no stale
report; re-grading only some submissions updates their reports in place), and the
gradebook merged and written atomically at the end, also after Ctrl-C."""
from __future__ import annotations

import contextlib
import os
import stat
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .batch import Batch, Settings, grade_all, write_report
from .dashboard import DASHBOARD_TITLE
from .discovery import Skipped, Submission, find_submissions, select
from ..results import Status
from ..errors import UsageError
from .gradebook import Row, full_report_name, merge, read_gradebook, uncell, write_gradebook
from ..safeio import write_atomic

MARKER = ".guardrail-reports"  # marks a folder grade-all may replace


@dataclass
class ClassPlan:
    out: Path  # the gradebook
    report_dir: Path
    submissions: list[Submission]  # the ones to grade
    skipped: list[Skipped]
    previous: list[dict[str, str]]  # the gradebook's rows, when only some are re-graded
    only: bool
    folder: Path  # the class folder


def plan_class(folder: Path, out: Path, report_dir: Path, only: tuple[str, ...] = (),
               dashboard: Path | None = None) -> ClassPlan:
    """What a run grades: every submission, or `only` the named ones (their gradebook must
    exist). The gradebook's rows are kept for what an interrupted run did not grade."""
    previous = check_outputs(folder, out, report_dir, dashboard, only=bool(only))
    found, skipped = find_submissions(folder)
    chosen = select(found, folder, only) if only else found
    return ClassPlan(out=out, report_dir=report_dir, submissions=chosen, skipped=skipped, previous=previous,
                     only=bool(only), folder=folder)


def check_outputs(folder: Path, out: Path, report_dir: Path, dashboard: Path | None,
                  only: bool) -> list[dict[str, str]]:
    """Before any grading: every output lies outside the class folder (its files are the
    students'), is distinct, and replaces only what grade-all wrote, which it can replace.
    Returns the gradebook's rows (which `only` requires)."""
    outputs = [("--out", out), ("--reports", report_dir), *([("--dashboard", dashboard)] if dashboard else [])]
    for option, path in outputs:
        if path.resolve().is_relative_to(folder.resolve()):
            raise UsageError(f"{option} {path}: inside the class folder {folder}, whose files the students "
                             "control; write it elsewhere")
    if dashboard and (dashboard.resolve() == out.resolve() or dashboard.resolve().is_relative_to(report_dir.resolve())):
        raise UsageError(f"--dashboard {dashboard}: would replace the gradebook or a report; choose another file")
    previous = read_gradebook(out) if only or out.exists() else []  # refuses a file grade-all did not write
    if out.exists():
        replace_in_place(out, "--out")
    if dashboard:
        check_dashboard(dashboard, "--dashboard")
    return previous


def check_dashboard(dashboard: Path, option: str) -> None:
    """A dashboard may replace only a dashboard the grader wrote, and must be writable."""
    if not dashboard.exists():
        return
    try:
        head = dashboard.read_bytes()[:4096]
    except OSError as exc:
        raise UsageError(f"{option} {dashboard}: cannot read ({exc.strerror})") from None
    if f"<title>{DASHBOARD_TITLE}</title>".encode() not in head:
        raise UsageError(f"{option} {dashboard}: not a dashboard grade-all wrote; choose a new file")
    replace_in_place(dashboard, option)


def replace_in_place(path: Path, option: str) -> None:
    """Replace path with its own bytes: what writing it at the end will do, tried first."""
    try:
        write_atomic(path, path.read_bytes())
    except OSError as exc:
        raise UsageError(f"{option} {path}: cannot be replaced ({exc.strerror})") from None


def grade_class(plan: ClassPlan, settings: Settings, jobs: int | None = None,
                on_done: Callable[[Row], None] | None = None) -> Batch:
    """Grade the plan's submissions, then put the reports and the gradebook in place."""
    staged = open_reports(plan.report_dir, fresh=not plan.only)
    try:
        with modes_restored([plan.folder, *(s.path.parent for s in plan.submissions)]):
            batch = grade_all(plan.submissions, settings, staged, jobs, on_done)
        kept = {r["submission"] for r in plan.previous}
        for submission, row in zip(plan.submissions, batch.rows):  # what keeps no old row says why
            if row.status == Status.INTERRUPTED and row.key not in kept:
                write_report(submission, settings, staged, row)
        if plan.only:
            records = merge(plan.previous, batch.rows)
            remove_replaced_reports(plan.report_dir, plan.previous, batch.rows)
        elif batch.interrupted:  # what was not graded keeps its row and report
            current = {row.key for row in batch.rows}
            records = merge([r for r in plan.previous if r["submission"] in current], batch.rows)
            update_reports(staged, open_reports(plan.report_dir, fresh=False))
        else:
            records = merge([], batch.rows)
            publish_reports(staged, plan.report_dir)
        write_gradebook(plan.out, records)
    finally:
        if staged != plan.report_dir:
            shutil.rmtree(staged, ignore_errors=True)
    return batch


@contextlib.contextmanager
def modes_restored(folders: list[Path]):
    """The folders' permissions as they were before the run: a layer without a view of its own
    (fresh uid) closes the class folder and each submission's folder to other users while
    their code runs; afterwards the instructor's folders are as the instructor left them."""
    before = {}
    for folder in folders:
        with contextlib.suppress(OSError):
            before[folder] = folder.lstat()
    try:
        yield
    finally:
        for folder, was in before.items():
            with contextlib.suppress(OSError):
                now = folder.lstat()
                if stat.S_ISDIR(now.st_mode) and (now.st_dev, now.st_ino) == (was.st_dev, was.st_ino) \
                        and stat.S_IMODE(now.st_mode) != stat.S_IMODE(was.st_mode):
                    os.chmod(folder, stat.S_IMODE(was.st_mode))


def open_reports(report_dir: Path, fresh: bool) -> Path:
    """The folder this run writes reports into: a new one beside report_dir (fresh, put in
    place by `publish_reports`), or report_dir itself. Refuses a folder grade-all did not make."""
    if report_dir.exists() and not report_dir.is_dir():
        raise UsageError(f"--reports {report_dir}: is a file; give a folder")
    if report_dir.is_dir() and any(report_dir.iterdir()) and not (report_dir / MARKER).exists():
        raise UsageError(f"--reports {report_dir}: the folder holds files grade-all did not write; "
                         "choose a new or empty folder")
    if not report_dir.parent.is_dir():
        raise UsageError(f"--reports {report_dir}: the folder {report_dir.parent} does not exist; create it first")
    try:
        target = Path(tempfile.mkdtemp(prefix=f".{report_dir.name}.new-", dir=report_dir.parent)) \
            if fresh else report_dir
        target.mkdir(mode=0o700, exist_ok=True)  # submissions run as other users: keep reports private
        (target / MARKER).write_text("Reports of guardrail-lab grade-all: the next run replaces this folder.\n")
    except OSError as exc:
        raise UsageError(f"--reports {report_dir}: cannot write ({exc.strerror})") from None
    return target


def update_reports(staged: Path, report_dir: Path) -> None:
    """Move the reports of an interrupted run into report_dir, over those of the same name."""
    for report in staged.iterdir():
        if report.name != MARKER:
            os.replace(report, report_dir / report.name)


def remove_replaced_reports(report_dir: Path, previous: list[dict[str, str]], rows: list[Row]) -> None:
    """The old report of a re-graded row whose report has a new name (a stale file otherwise).
    Only a plain file name inside report_dir is removed: the gradebook is only a CSV file."""
    old = {r["submission"]: uncell(r.get("report", "")) for r in previous}
    for row in rows:
        name = old.get(row.key, "")
        if row.status != Status.INTERRUPTED and name and name != row.report and Path(name).name == name \
                and not name.startswith("."):
            (report_dir / name).unlink(missing_ok=True)
            (report_dir / full_report_name(name)).unlink(missing_ok=True)


def publish_reports(staged: Path, report_dir: Path) -> None:
    """Put a fresh reports folder in place of the old one."""
    old = None
    if report_dir.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{report_dir.name}.old-", dir=report_dir.parent))
        os.replace(report_dir, old / "reports")
    os.replace(staged, report_dir)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
