"""The command line's edge: exit codes from one function, library errors turned into one-line
messages in one place (CliGroup), and what several commands check before any work."""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
from contextlib import contextmanager
from enum import IntEnum
from pathlib import Path

import click

from ..data.cases import Suite
from ..data.policy import DEFAULT_POLICY, POLICIES_DIR
from ..data.rubric import check_rubric_covers
from ..data.suites import load_suite, load_suites, resolve_suite, suite_files
from ..errors import GraderError, GraderFault, IsolationUnavailable, UsageError
from ..grading.plan import DEFAULT_SEED
from ..results import Status
from ..sandbox.request import IsolationRequest


class ExitCode(IntEnum):
    GRADED = 0
    BELOW_THRESHOLD = 1
    USAGE = 2
    GRADER_FAULT = 3
    INTERRUPTED = 130


def exit_code(statuses: list[str], percents: list[float], fail_under: float | None = None,
              interrupted: bool = False) -> ExitCode:
    if interrupted:
        return ExitCode.INTERRUPTED
    if Status.GRADER_FAULT in statuses:
        return ExitCode.GRADER_FAULT
    if fail_under is not None and any(p < fail_under for p in percents):
        return ExitCode.BELOW_THRESHOLD
    return ExitCode.GRADED


def fail(error: GraderError) -> click.ClickException:
    """The one place a library error becomes a message and an exit code."""
    exc = click.ClickException(str(error))
    exc.exit_code = ExitCode.GRADER_FAULT if isinstance(error, GraderFault) else ExitCode.USAGE
    return exc


class CliGroup(click.Group):
    """Usage errors as one line (`Error: ... (see '... -h')`), a library error as its one-line
    message (fail), Ctrl-C as exit 130."""

    def _one_line(self, error: click.UsageError) -> click.ClickException:
        if isinstance(error, click.exceptions.NoArgsIsHelpError):
            return error
        hint = f" (see '{error.ctx.command_path} -h')" if error.ctx is not None else ""
        exc = click.ClickException(error.format_message() + hint)
        exc.exit_code = ExitCode.USAGE
        return exc

    def make_context(self, *args, **kwargs):
        try:
            return super().make_context(*args, **kwargs)
        except click.UsageError as error:
            raise self._one_line(error) from None

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except click.UsageError as error:
            raise self._one_line(error) from None
        except GraderError as error:
            raise fail(error) from None
        except KeyboardInterrupt:
            click.echo("\ninterrupted", err=True)
            ctx.exit(ExitCode.INTERRUPTED)


@contextmanager
def writing(what: str):
    """An OSError while writing becomes a usage error naming what could not be written."""
    try:
        yield
    except OSError as exc:
        raise UsageError(f"{what}: cannot write ({exc.strerror})") from None


def use_color(stream) -> bool:
    """Colour only on a terminal, never with NO_COLOR set (no-color.org) or TERM=dumb."""
    return stream.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


class Progress:
    """On a terminal: one counter line, redrawn with carriage returns (no escape codes, no
    ETA). Elsewhere: with `log`, one line per finished item (for CI logs); else silent."""

    def __init__(self, label: str, total: int, log: bool = False):
        self.label, self.total, self.log, self.done = label, total, log, 0
        self.live = sys.stderr.isatty() and os.environ.get("TERM") != "dumb"
        self.width = shutil.get_terminal_size().columns - 1

    def update(self, text: str = "") -> None:
        self.done += 1
        line = f"{self.label} {self.done}/{self.total} {text}".rstrip()
        if self.live:
            click.echo("\r" + line[: self.width].ljust(self.width), nl=False, err=True)
        elif self.log:
            click.echo(line, err=True)

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc) -> None:
        if self.live and self.done:
            click.echo("\r" + " " * self.width + "\r", nl=False, err=True)


def selected_suites(suites: tuple[str, ...], policy: str | None, public_only: bool) -> list[Suite]:
    """The suites to run, each loaded once: named ones (of the policy, when one is given),
    or every suite of the policy (DEFAULT_POLICY when none is named)."""
    if suites:
        paths = [resolve_suite(s, policy=policy) for s in suites]
    else:
        policy = policy or DEFAULT_POLICY
        paths = suite_files(policy, public_only)
    if not paths:
        raise UsageError(f"policy {policy!r} has no suites in {POLICIES_DIR / policy}/")
    loaded = load_suites([s for s in map(load_suite, paths) if not public_only or s.visibility == "public"])
    check_rubric_covers(loaded)
    return loaded


def check_out(option: str, path: Path, folder_ok: bool = False) -> None:
    """Output goes into an existing folder (a typo must not create folders) that takes a
    file: checked before any grading, so no work is lost to an unwritable --out."""
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise UsageError(f"{option} {path}: the folder {folder} does not exist; create it first")
    if path.is_dir() and not folder_ok:
        raise UsageError(f"{option} {path}: is a folder; give a file name")
    try:
        tempfile.TemporaryFile(dir=folder).close()
    except OSError as exc:
        raise UsageError(f"{option} {path}: cannot write in {folder} ({exc.strerror})") from None


def class_isolation(allow_unisolated: bool, folder: Path) -> IsolationRequest:
    """grade-all's isolation, checked before any work: the strongest layer, or none at all
    only when allowed; the class `folder` closed while a layer without its own view runs."""
    required = IsolationRequest(required=True, private=(folder,))
    try:
        required.choose()
        return required
    except IsolationUnavailable:
        if not allow_unisolated:
            raise
        return IsolationRequest("none", private=(folder,))


def suite_options(command):
    """The options that choose what is graded: the same for run and grade-all."""
    for option in reversed([
        click.option("--suite", "suites", multiple=True, metavar="NAME|PATH",
                     help="Suite to run (repeatable); default: every suite of the policy."),
        click.option("--policy", help=f"Policy whose suites to run (default: {DEFAULT_POLICY}); a --suite "
                     "NAME is looked up in it."),
        click.option("--public-only", is_flag=True, help="Only the public suites (what students run)."),
        click.option("--seed", default=DEFAULT_SEED, show_default=True, type=click.IntRange(min=0),
                     help="Sampling seed: the same seed gives the same report."),
    ]):
        command = option(command)
    return command
