"""The grader's command line: a thin click edge over the library.

Exit codes (computed only in `exit_code_for` and `fail`): 0 graded (whatever the score),
1 graded below --fail-under, 2 usage error (bad arguments or data files), 3 grader fault.
"""
from __future__ import annotations

import sys
from enum import IntEnum
from pathlib import Path

import click

from .errors import DataFileError, GraderError, GraderFault, UsageError
from .datafiles import data_file_kind
from .policy import POLICIES_DIR, load_policy
from .report import FORMATS, render
from .results import GradeResult
from .runner import DEFAULT_SEED, grade
from .suites import load_suites
from .suites import Suite, load_rubric, load_suite, resolve_suite, suite_files


class ExitCode(IntEnum):
    GRADED = 0
    BELOW_THRESHOLD = 1
    USAGE = 2
    GRADER_FAULT = 3


def exit_code_for(result: GradeResult, fail_under: float | None) -> ExitCode:
    if result.status == "grader_fault":
        return ExitCode.GRADER_FAULT
    if fail_under is not None and result.percent < fail_under:
        return ExitCode.BELOW_THRESHOLD
    return ExitCode.GRADED


def fail(error: GraderError) -> click.ClickException:
    """The one place a library error becomes a message and an exit code."""
    exc = click.ClickException(str(error))
    exc.exit_code = ExitCode.GRADER_FAULT if isinstance(error, GraderFault) else ExitCode.USAGE
    return exc


def selected_suites(suites: tuple[str, ...], policy: str, public_only: bool) -> list[Suite]:
    """The suites to run, each loaded once: named ones, or every suite of the policy."""
    paths = [resolve_suite(s) for s in suites] if suites else suite_files(policy, public_only)
    if not paths:
        raise UsageError(f"policy {policy!r} has no suites in {POLICIES_DIR / policy}/")
    return load_suites([s for s in map(load_suite, paths) if not public_only or s.visibility == "public"])


def write_output(text: str, out: str | None) -> None:
    if out is None:
        click.echo(text, nl=False)
        return
    try:
        Path(out).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise fail(UsageError(f"--out {out}: cannot write ({exc.strerror})")) from None


@click.group()
def cli() -> None:
    """guardrail-lab grader: check, run and score a bot.py submission.

    \b
    Exit codes: 0 graded (whatever the score), 1 graded below --fail-under,
    2 usage error (bad arguments or data files), 3 grader fault.
    """


@cli.command()
@click.argument("submission", type=click.Path(dir_okay=False))
@click.option("--suite", "suites", multiple=True, metavar="NAME|PATH",
              help="Suite to run (repeatable); default: every suite of the policy.")
@click.option("--policy", default="fruit", show_default=True, help="Policy whose suites to run.")
@click.option("--public-only", is_flag=True, help="Skip hidden suites (what students can run).")
@click.option("--seed", default=DEFAULT_SEED, show_default=True, type=int)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False), help="Write the report here.")
@click.option("--fail-under", type=click.FloatRange(0, 100), metavar="PERCENT",
              help="Exit 1 when the score is below this percentage.")
@click.option("--hidden-visibility", default="after_due_date", show_default=True,
              type=click.Choice(["hidden", "after_due_date", "after_published", "visible"]),
              help="Gradescope visibility of hidden cases.")
def run(submission, suites, policy, public_only, seed, fmt, out, fail_under, hidden_visibility):
    """Grade SUBMISSION (a bot.py) against the suites and print a report."""
    try:
        loaded = selected_suites(suites, policy, public_only)
        total = sum(len(suite.cases) for suite in loaded)
        with click.progressbar(length=total, label="grading", file=sys.stderr,
                               hidden=not sys.stderr.isatty()) as bar:
            result = grade(submission, loaded, seed=seed, on_case=lambda _: bar.update(1))
    except GraderError as error:
        raise fail(error) from None
    write_output(render(result, fmt, color=out is None and sys.stdout.isatty(),
                        hidden_visibility=hidden_visibility), out)
    sys.exit(exit_code_for(result, fail_under))


@cli.command("grade-all")
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--out", default="grades.csv", show_default=True, type=click.Path(dir_okay=False),
              help="The gradebook CSV.")
@click.option("--reports", type=click.Path(file_okay=False),
              help="Folder for one report per submission (default: next to --out).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
              help="Format of the per-submission reports.")
@click.option("--jobs", type=click.IntRange(1), help="Parallel gradings (default: CPU cores).")
@click.option("--suite", "suites", multiple=True, metavar="NAME|PATH")
@click.option("--policy", default="fruit", show_default=True)
@click.option("--public-only", is_flag=True)
@click.option("--seed", default=DEFAULT_SEED, show_default=True, type=int)
def grade_all_cmd(directory, out, reports, fmt, jobs, suites, policy, public_only, seed):
    """Grade every *.py (or */bot.py) in DIRECTORY in parallel; write a gradebook."""
    from .batch import find_submissions, grade_all, summary, write_gradebook

    out_path = Path(out)
    report_dir = Path(reports) if reports else out_path.with_name(out_path.stem + "-reports")
    try:
        loaded = selected_suites(suites, policy, public_only)  # a broken suite stops it here
        count = len(find_submissions(Path(directory)))
        with click.progressbar(length=count, label="grading", file=sys.stderr,
                               hidden=not sys.stderr.isatty()) as bar:
            rows = grade_all(Path(directory), loaded, report_dir, fmt, seed, jobs,
                             on_done=lambda _: bar.update(1))
        write_gradebook(rows, out_path)
    except GraderError as error:
        raise fail(error) from None
    except OSError as exc:
        raise fail(UsageError(f"cannot write the gradebook or reports: {exc}")) from None
    click.echo(summary(rows), nl=False)
    click.echo(f"gradebook: {out_path}  reports: {report_dir}/")
    faults = any(r.status == "grader_fault" for r in rows)
    sys.exit(ExitCode.GRADER_FAULT if faults else ExitCode.GRADED)


@cli.group()
def bundle():
    """Build the Gradescope autograder zip or the student kit."""


@bundle.command("gradescope")
@click.option("--out", default="autograder.zip", show_default=True, type=click.Path(dir_okay=False))
@click.option("--hidden-visibility", default="after_due_date", show_default=True,
              type=click.Choice(["hidden", "after_due_date", "after_published", "visible"]))
def bundle_gradescope(out, hidden_visibility):
    """The autograder zip: setup.sh, run_autograder and the kit with its hidden suites."""
    from .bundle import build_gradescope

    if not out.endswith(".zip"):
        raise fail(UsageError(f"--out {out}: Gradescope needs a .zip file"))
    try:
        names = build_gradescope(Path(out), hidden_visibility)
    except OSError as exc:
        raise fail(UsageError(f"--out {out}: cannot write ({exc.strerror})")) from None
    click.echo(f"wrote {out} ({len(names)} files; hidden cases visible {hidden_visibility})")


@bundle.command("student")
@click.option("--out", required=True, type=click.Path(), help="A new folder, or a .zip file.")
def bundle_student(out):
    """The student kit: starter, public suites, model, weights, grader; nothing hidden."""
    from .bundle import build_student

    try:
        names = build_student(Path(out))
    except GraderError as error:
        raise fail(error) from None
    except OSError as exc:
        raise fail(UsageError(f"--out {out}: cannot write ({exc.strerror})")) from None
    click.echo(f"wrote {out} ({len(names)} files, no hidden suite, no reference solution)")


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
def validate(paths):
    """Check suite, policy and rubric files; print one line per file."""
    errors = 0
    for raw in paths:
        path = Path(raw)
        try:
            kind = data_file_kind(path)
            if kind == "rubric":
                load_rubric(path)
                click.echo(f"ok: {path} (rubric)")
            elif kind == "suite":
                suite = load_suite(path)
                click.echo(f"ok: {path} (suite {suite.name}, {suite.visibility}, {len(suite.cases)} cases)")
            else:
                policy = load_policy(path)
                click.echo(f"ok: {path} (policy {policy.name}, {len(policy.banned)} banned words)")
        except GraderError as error:
            errors += 1
            click.echo(f"error: {error}", err=True)
    if errors:
        sys.exit(ExitCode.USAGE)


@cli.command("list")
def list_cmd():
    """List the policies and their suites."""
    try:
        for policy_file in sorted(POLICIES_DIR.glob("*.toml")):
            policy = load_policy(policy_file)
            click.echo(f"{policy.name}: {policy.description}")
            for path in suite_files(policy.name):
                suite = load_suite(path)
                click.echo(f"  {suite.name:<16} {suite.visibility:<7} {len(suite.cases):>4} cases  "
                           f"{suite.description}")
    except DataFileError as error:
        raise fail(error) from None
