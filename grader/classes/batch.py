"""Grade a class folder in parallel: one process per submission, each grading, rendering
and writing its own report inside its own failure boundary, so nothing one submission does
(nor a grader fault on it) stops the others.

Ctrl-C (or SIGTERM) stops everything within about 2 s: each running grading gets SIGTERM
and unwinds (its sandbox is killed and its temporary files removed), whatever still runs
after a grace period gets SIGKILL, and everything they wrote to the batch's scratch folder
is removed. The rows of what finished come back, the others marked interrupted. From the
first Ctrl-C on, SIGINT stays ignored: the run can only end, writing what it has. A
grading whose parent dies gets SIGTERM too.
"""
from __future__ import annotations

import ctypes
import multiprocessing
import os
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from multiprocessing.connection import wait
from pathlib import Path
from typing import Callable

from .discovery import Submission
from ..errors import GraderError, GraderFault
from ..grading.explain import trace_failures
from .gradebook import Row, full_report_name, write_full_report
from ..integrity.kitcheck import as_integrity_failure, kit_differences
from ..sandbox.limits import Budget, Limits
from ..sandbox.request import IsolationRequest
from ..sandbox.seccomp import PR_SET_PDEATHSIG
from ..reports.writers import EXTENSIONS, WRITERS, fallback, render
from ..grading.runner import grade
from ..results import Status
from ..safeio import clean_text, write_atomic
from ..data.cases import Suite

GRACE_SECONDS = 1.2
MAX_GRADING_SECONDS = 900  # far beyond the sandbox's budget: past it, the grader is stuck


@dataclass
class Batch:
    rows: list[Row]  # one per submission, in the order given
    interrupted: bool


@dataclass(frozen=True)
class Settings:
    suites: list[Suite]
    fmt: str = "text"
    seed: int = 1234
    model: object = None
    isolation: IsolationRequest = IsolationRequest()  # the grading's, and the HTML replay's
    kit_files: tuple[tuple[str, str], ...] = ()  # (path, sha256) a cloned repository's kit files must match


def grade_one(submission: Submission, settings: Settings, report_dir: Path) -> Row:
    """Grade one submission and write its report; returns its row, never raises."""
    result = None
    budget = Limits().budget()  # one for the grading and the report's replay
    try:
        result = grade(submission.path, settings.suites, seed=settings.seed, model=settings.model,
                       budget=budget, isolation=settings.isolation)
        changed = kit_differences(submission.kit_root, settings.kit_files) \
            if submission.kit_root and settings.kit_files else []
        if changed:
            result = as_integrity_failure(result, changed)
        row = Row.from_result(submission.label, result)
    except GraderFault as error:
        row = Row(submission.label, Status.GRADER_FAULT, note=clean_text(error))
    except GraderError as error:
        row = Row(submission.label, Status.NOT_GRADABLE, note=clean_text(error))
    except Exception as exc:  # noqa: BLE001  a grader bug on one submission spares the rest
        row = Row(submission.label, Status.GRADER_FAULT, note=clean_text(f"{type(exc).__name__}: {exc}"))
    return write_report(submission, settings, report_dir, row, result, budget)


def write_report(submission: Submission, settings: Settings, report_dir: Path, row: Row,
                 result=None, budget: Budget | None = None) -> Row:
    """Write the row's report (the result's, or why there is none); never raises: a report
    that cannot be written turns the row into a grader fault."""
    report = row.report = f"{submission.report_stem}.{WRITERS[settings.fmt].extension}"
    try:
        traces = trace_failures(submission.path, result, settings.suites, model=settings.model,
                                budget=budget, isolation=settings.isolation) \
            if result is not None and settings.fmt == "html" else None  # replays the failures
        text = render(result, settings.fmt, traces=traces, model=settings.model) if result is not None \
            else fallback(settings.fmt, row.submission, row.status, row.note)
        for ext in EXTENSIONS:  # a report of another format would be stale
            (report_dir / f"{submission.report_stem}.{ext}").unlink(missing_ok=True)
        write_atomic(report_dir / report, text)
        write_full_report(report_dir / full_report_name(report), result)
    except Exception as exc:  # noqa: BLE001  the row survives a report that cannot be written
        row.status, row.report, row.categories = Status.GRADER_FAULT, "", {}
        row.note = clean_text(f"the report could not be written ({type(exc).__name__}: {exc}); "
                              f"{row.note}".rstrip("; "))
    return row


def _terminated(signum, frame):
    raise SystemExit(128 + signum)  # unwinds: the sandbox is killed, temporary files removed


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _child(conn, scratch: str, submission: Submission, settings: Settings, report_dir: Path) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides what Ctrl-C does
    signal.signal(signal.SIGTERM, _terminated)
    if sys.platform == "linux":  # grade-all killed: unwind too
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    tempfile.tempdir = tempfile.mkdtemp(dir=scratch)
    os.chmod(tempfile.tempdir, 0o711)  # sandbox users traverse to their stage folders
    conn.send(grade_one(submission, settings, report_dir))


def _stop(processes: list) -> None:
    """SIGTERM, a grace period, then SIGKILL; a second Ctrl-C does not cut this short."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        for proc in processes:
            proc.terminate()
        deadline = time.monotonic() + GRACE_SECONDS
        for proc in processes:
            proc.join(max(0.0, deadline - time.monotonic()))
        for proc in processes:
            if proc.is_alive():
                proc.kill()
                proc.join()
    finally:
        signal.signal(signal.SIGINT, previous)


def _finished(receive, proc, overdue: bool) -> tuple[bool, Row | None]:
    """(done, its row or None when it died or was stopped) for one running grading."""
    if receive.poll():
        try:
            return True, receive.recv()
        except (EOFError, OSError):
            return True, None
    if proc.is_alive() and not overdue:
        return False, None
    _stop([proc])
    return True, None


def grade_all(submissions: list[Submission], settings: Settings, report_dir: Path, jobs: int | None = None,
              on_done: Callable[[Row], None] | None = None) -> Batch:
    """Grade every submission, `jobs` at a time; reports go into report_dir (which exists)."""
    context = multiprocessing.get_context("fork")
    jobs = jobs or os.cpu_count() or 1
    pending, running, rows = list(submissions), {}, {}
    scratch = tempfile.mkdtemp(prefix="guardrail-batch-")
    os.chmod(scratch, 0o711)
    interrupted = False
    previous = signal.signal(signal.SIGTERM, _interrupt)  # a cancelled CI job: as Ctrl-C
    try:
        while pending or running:
            while pending and len(running) < jobs:
                submission = pending.pop(0)
                receive, send = context.Pipe(duplex=False)
                proc = context.Process(target=_child, daemon=True,
                                       args=(send, scratch, submission, settings, report_dir))
                proc.start()
                send.close()
                running[receive] = (proc, submission, time.monotonic() + MAX_GRADING_SECONDS)
            first_deadline = min(deadline for _, _, deadline in running.values())
            ready = set(wait([*running, *(p.sentinel for p, _, _ in running.values())],
                             timeout=max(0.0, first_deadline - time.monotonic())))
            for receive, (proc, submission, deadline) in list(running.items()):
                overdue = time.monotonic() > deadline
                if receive not in ready and proc.sentinel not in ready and not overdue:
                    continue
                done, row = _finished(receive, proc, overdue)
                if not done:
                    continue
                proc.join()
                receive.close()
                del running[receive]
                rows[submission] = row or write_report(submission, settings, report_dir, Row(
                    submission.label, Status.GRADER_FAULT, note=f"the grading took over {MAX_GRADING_SECONDS} s "
                    "and was stopped" if overdue else f"the grading process died (exit code {proc.exitcode})"))
                if on_done:
                    on_done(rows[submission])
    except KeyboardInterrupt:
        interrupted = True
        # a second Ctrl-C must not cut short the stopping, nor the gradebook written after it
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    finally:
        _stop([proc for proc, _, _ in running.values()])
        shutil.rmtree(scratch, ignore_errors=True)
        signal.signal(signal.SIGTERM, previous)
    unfinished = "grading was interrupted (Ctrl-C); re-grade it with --only"
    return Batch([rows.get(s) or Row(s.label, Status.INTERRUPTED, note=unfinished) for s in submissions], interrupted)
