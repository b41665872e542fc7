"""The grader's command line: a thin click edge over the library.

Exit codes come from `exit_code` alone (run and grade-all follow one rule): 0 graded
(whatever the score), 1 graded below --fail-under, 2 usage error (bad arguments or data
files; one line on stderr), 3 grader fault (in any submission of grade-all), 130 Ctrl-C.
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import click

from .data.rubric import check_rubric_covers, rubric_for
from .data.validate import check_data_file
from .console import ExitCode, OneLineGroup, Progress, fit, use_color
from .errors import GraderError, GraderFault, IsolationUnavailable, UsageError
from .sandbox.isolation import LAYERS, choose_isolation
from .sandbox.limits import Limits
from .data.policy import DEFAULT_POLICY, POLICIES_DIR, load_policy
from .reports.writers import CLASS_FORMATS, FORMATS, render
from .grading.runner import DEFAULT_SEED, grade
from .safeio import write_atomic
from .data.cases import Suite
from .data.suites import load_suite, load_suites, resolve_suite, suite_files

VISIBILITIES = ["hidden", "after_due_date", "after_published", "visible"]


def exit_code(statuses: list[str], percents: list[float], fail_under: float | None = None,
              interrupted: bool = False) -> ExitCode:
    if interrupted:
        return ExitCode.INTERRUPTED
    if "grader_fault" in statuses:
        return ExitCode.GRADER_FAULT
    if fail_under is not None and any(p < fail_under for p in percents):
        return ExitCode.BELOW_THRESHOLD
    return ExitCode.GRADED


def fail(error: GraderError) -> click.ClickException:
    """The one place a library error becomes a message and an exit code."""
    exc = click.ClickException(str(error))
    exc.exit_code = ExitCode.GRADER_FAULT if isinstance(error, GraderFault) else ExitCode.USAGE
    return exc


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


def isolation_options(allow_unisolated: bool) -> tuple[tuple[str, object], ...]:
    """grade()'s isolation arguments for grade-all, checked before any work: the strongest
    layer, or none at all only when allowed."""
    try:
        choose_isolation(require=True)
        return (("require_isolation", True),)
    except IsolationUnavailable:
        if not allow_unisolated:
            raise
        return (("isolation", "none"),)


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


@click.group(cls=OneLineGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="guardrail-lab", message="%(prog)s %(version)s")
def cli() -> None:
    """guardrail-lab grader: check, run and score a bot.py submission.

    \b
    Exit codes: 0 graded (whatever the score), 1 graded below --fail-under,
    2 usage error (bad arguments or data files), 3 grader fault, 130 Ctrl-C.
    """


@cli.command()
@click.argument("submission", type=click.Path(dir_okay=False))
@suite_options
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text",
              show_default=True, help="Report format; classroom: GitHub Classroom's reporter input.")
@click.option("--out", type=click.Path(dir_okay=False), help="Write the report here (in an existing folder).")
@click.option("--fail-under", type=click.FloatRange(0, 100), metavar="PERCENT",
              help="Exit 1 when the score is below this percentage.")
@click.option("--points", type=click.FloatRange(min=0, min_open=True),
              help="Points of the classroom format (default: the rubric's total).")
@click.option("--case", "case_patterns", multiple=True, metavar="PATTERN",
              help="Only cases whose key matches (fnmatch like 'direct/*', or a substring; repeatable).")
@click.option("--require-isolation", is_flag=True,
              help="Refuse to grade (exit 2) where no sandbox isolation layer works.")
@click.option("--isolation", type=click.Choice(LAYERS),
              help="Use this isolation layer (default: the strongest that works here).")
@click.option("--hidden-visibility", default="after_due_date", show_default=True,
              type=click.Choice(VISIBILITIES), help="Gradescope visibility of hidden cases.")
def run(submission, suites, policy, public_only, seed, fmt, out, fail_under, points, case_patterns,
        require_isolation, isolation, hidden_visibility):
    """Grade one bot.py against the suites and print its report."""
    from .grading.explain import trace_failures
    from .kit import load_kit_model
    from .grading.runner import plan

    budget = Limits().budget()  # one for the grading and the report's replay, its wall clock from now
    try:
        if points is not None and fmt != "classroom":
            raise UsageError("--points applies to --format classroom only")
        if out is not None:
            check_out("--out", Path(out))
        loaded = selected_suites(suites, policy, public_only)
        options = {"isolation": isolation, "require_isolation": require_isolation,
                   "cases": list(case_patterns) or None}
        total = len(plan(submission, loaded, seed, Limits(), isolation, require_isolation,
                         options["cases"]).cases)
        model = load_kit_model()  # once, for the grading, the replay and the report
        with Progress("grading", total) as bar:
            result = grade(submission, loaded, seed=seed, on_case=lambda _: bar.update(), model=model,
                           budget=budget, **options)
        traces = trace_failures(submission, result, loaded, model=model, isolation=isolation,
                                require_isolation=require_isolation, budget=budget) \
            if fmt == "html" else None  # replays the failures, isolated as graded
        text = render(result, fmt, color=out is None and use_color(sys.stdout), hidden_visibility=hidden_visibility,
                      traces=traces, model=model, points=points)
        if out is None:
            click.echo(text, nl=False)
        else:
            write_atomic(out, text)
    except GraderError as error:
        raise fail(error) from None
    except OSError as exc:  # reading the submission or a suite, or writing --out
        where = exc.filename or f"--out {out}"
        raise fail(UsageError(f"{where}: {exc.strerror}; check the path and its permissions")) from None
    sys.exit(exit_code([getattr(result.status, "value", result.status)], [result.percent], fail_under))


@cli.command()
@click.argument("submission", type=click.Path(dir_okay=False))
@click.argument("case_key", metavar="CASE_KEY|REQUEST")
@click.option("--sample", type=click.IntRange(min=0), help="Replay only this sample (default: all).")
@click.option("--seed", type=click.IntRange(min=0),
              help=f"The seed the case was graded with (default {DEFAULT_SEED}); for a request, "
                   "that of `python bot.py --seed N` (default 0).")
def explain(submission, case_key, sample, seed):
    """Replay one case (SUITE/ID, e.g. direct/apple) as graded, or answer one request
    (e.g. 'a b', as try does), and show why, letter by letter."""
    from .grading.explain import explain_case, render_trace
    from .playground.session import DEFAULT_SEED as BOT_SEED, Refused, Session

    try:
        if "/" in case_key:
            trace = explain_case(submission, case_key, DEFAULT_SEED if seed is None else seed, sample)
        elif sample is not None:
            raise UsageError("--sample applies to a case (SUITE/ID); a request is answered once")
        else:
            with Session(submission, seed=BOT_SEED if seed is None else seed) as session:
                trace = session.ask(case_key)
        click.echo(render_trace(trace), nl=False)
    except Refused as refusal:
        raise fail(UsageError(str(refusal))) from None
    except GraderError as error:
        raise fail(error) from None


def playground(submission: str, seed: int, alternatives: int = 3):
    """The Session of try and play, or the one-line error for a bad argument."""
    from .playground.session import Session

    try:
        return Session(submission, seed=seed, alternatives=alternatives)
    except GraderError as error:
        raise fail(error) from None


@cli.command("try")
@click.argument("submission", type=click.Path(dir_okay=False))
@click.option("--seed", default=0, show_default=True, type=click.IntRange(min=0),
              help="Sampling seed, as `python bot.py --seed N`: the same lines get the same answers.")
def try_cmd(submission, seed):
    """Type requests and see, for each, the answer and why: prefixes, the deciding check,
    every name drawn and its letters' probabilities, and P(leak). Reads lines from a pipe."""
    from .playground.try_ import main

    with playground(submission, seed) as session:
        refusal = session.check()
        if refusal:
            raise fail(UsageError(refusal))
        try:
            main(session)
        except KeyboardInterrupt:
            sys.exit(ExitCode.INTERRUPTED)


@cli.command()
@click.argument("submission", type=click.Path(dir_okay=False))
@click.option("--port", default=8021, show_default=True, type=click.IntRange(0, 65535),
              help="Port on 127.0.0.1 (0: any free port).")
@click.option("--seed", default=0, show_default=True, type=click.IntRange(min=0), help="Sampling seed.")
def play(submission, port, seed):
    """A page on 127.0.0.1 to chat with your bot and watch each letter drawn; editing
    the bot file reloads its hooks. Ctrl-C stops it."""
    from .playground.server import serve

    with playground(submission, seed, alternatives=26) as session:
        refusal = session.check()
        if refusal:  # the page says so too, and takes the file up once it is fixed
            click.echo(f"warning: {refusal}", err=True)
        try:
            serve(session, port, on_ready=lambda url: click.echo(f"playground: {url}  (Ctrl-C stops it)"))
        except OSError as exc:
            raise fail(UsageError(f"--port {port}: cannot listen on 127.0.0.1 ({exc.strerror}); "
                                  "try another port or --port 0")) from None
        except KeyboardInterrupt:
            sys.exit(ExitCode.INTERRUPTED)


@cli.command("grade-all")
@click.argument("directory", type=click.Path(file_okay=False))
@suite_options
@click.option("--out", default="grades.csv", show_default=True, type=click.Path(dir_okay=False),
              help="The gradebook CSV (in an existing folder).")
@click.option("--reports", type=click.Path(file_okay=False),
              help="Folder of one report per submission, replaced by each run "
                   "(default: next to --out, NAME-reports).")
@click.option("--format", "fmt", type=click.Choice(CLASS_FORMATS),
              default="text", show_default=True, help="Format of the per-submission reports.")
@click.option("--jobs", type=click.IntRange(1), help="Parallel gradings (default: CPU cores).")
@click.option("--only", multiple=True, metavar="NAME",
              help="Re-grade this submission (repeatable) and update its row in the gradebook.")
@click.option("--allow-unisolated", is_flag=True,
              help="Grade even where no sandbox isolation layer works (the reports say so).")
@click.option("--dashboard", type=click.Path(dir_okay=False),
              help="Also write the class dashboard here (one self-contained HTML page).")
@click.option("--shard", metavar="K/N", help="Grade only the Kth of N slices of the class (one machine "
              "of N); merge-shards combines the N gradebooks.")
def grade_all_cmd(directory, suites, policy, public_only, seed, out, reports, fmt, jobs, only,
                  allow_unisolated, dashboard, shard):
    """Grade a class folder: a gradebook row and a report each.

    \b
    Submissions: each *.py file in DIRECTORY (any case: Bot.PY), and one
    bot.py per folder of DIRECTORY, up to 4 levels down (alice/bot.py,
    repo/starter/bot.py; starter/bot.py first, else the shallowest). A cloned
    repository whose kit files differ from this kit's is an integrity failure.
    Everything else is listed as skipped, with the reason.
    """
    from .classes.batch import Settings
    from .bundle import student_entries
    from .classes.classrun import grade_class, plan_class
    from .classes.dashboard import write_dashboard
    from .classes.gradebook import read_rows, summary
    from .kit import load_kit_model
    from .integrity.kitcheck import kit_digests
    from .classes.shards import parse_shard, shard_of, write_manifest

    folder, out_path = Path(directory), Path(out)
    report_dir = Path(reports) if reports else out_path.with_name(out_path.stem + "-reports")
    try:
        check_out("--out", out_path)
        if dashboard:
            check_out("--dashboard", Path(dashboard))
        if shard and (only or dashboard):
            raise UsageError("--shard grades a slice: give --only and --dashboard to a run over the whole class")
        sliced = parse_shard(shard) if shard else None
        loaded = selected_suites(suites, policy, public_only)
        plan = plan_class(folder, out_path, report_dir, only, Path(dashboard) if dashboard else None)
        everyone = plan.submissions
        if sliced:
            plan.submissions = shard_of(everyone, *sliced)
        # the class folder is private: a layer without its own view closes it to other users
        settings = Settings(loaded, fmt, seed, load_kit_model(),
                            (*isolation_options(allow_unisolated), ("private", (folder.resolve(),))),
                            kit_digests(student_entries(loaded[0].policy.name)))
        with Progress("graded", len(plan.submissions), log=True) as bar:
            batch = grade_class(plan, settings, jobs, on_done=lambda row: bar.update(
                f"{row.submission}: {row.status.replace('_', ' ')}"
                + (f" {row.percent:.1f}%" if row.status == "graded" else "")))
        if dashboard:  # the whole class, as the gradebook now holds it (--only re-grades some)
            write_dashboard(Path(dashboard), read_rows(out_path, report_dir), report_dir,
                            rubric_for(loaded[0].policy).weights)
        if sliced:
            write_manifest(out_path, *sliced, everyone, seed, loaded)
    except GraderError as error:
        raise fail(error) from None
    except OSError as exc:
        raise fail(UsageError(f"cannot write the gradebook or reports: {exc}")) from None
    click.echo("\n".join(fit(summary(batch.rows).splitlines()
                             + [f"skipped: {s.label}: {s.reason}" for s in plan.skipped])))
    click.echo(f"gradebook: {out_path}\nreports:   {report_dir}/")  # paths are never wrapped
    if batch.interrupted:
        done = sum(r.status != "interrupted" for r in batch.rows)
        click.echo(f"interrupted: {done} of {len(batch.rows)} finished; the gradebook is partial (the "
                   "rest keep any previous row; re-grade them with --only)", err=True)
    sys.exit(exit_code([r.status for r in batch.rows], [], interrupted=batch.interrupted))


@cli.command("merge-shards")
@click.argument("gradebooks", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--out", default="grades.csv", show_default=True, type=click.Path(dir_okay=False),
              help="The class gradebook CSV (in an existing folder).")
def merge_shards_cmd(gradebooks, out):
    """Combine the gradebooks of `grade-all --shard K/N` (all N of them) into the class's.

    The reports stay in each shard's reports folder (their names are unique in the class):
    copy them into one folder."""
    from .classes.shards import merge_shards

    try:
        check_out("--out", Path(out))
        count = merge_shards([Path(g) for g in gradebooks], Path(out))
    except GraderError as error:
        raise fail(error) from None
    except OSError as exc:
        raise fail(UsageError(f"cannot write the gradebook: {exc}")) from None
    click.echo(f"gradebook: {out} ({count} submissions from {len(gradebooks)} shards)")


@cli.command("dashboard")
@click.argument("gradebook", type=click.Path(dir_okay=False))
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="The page to write.")
@click.option("--reports", type=click.Path(file_okay=False),
              help="grade-all's reports folder (default: next to GRADEBOOK, NAME-reports).")
@click.option("--policy", default=DEFAULT_POLICY, show_default=True, help="Policy name or path (its rubric).")
def dashboard_cmd(gradebook, out, reports, policy):
    """Rebuild the class dashboard from a gradebook and its reports (grades nothing)."""
    from .classes.classrun import check_dashboard
    from .classes.dashboard import write_dashboard
    from .classes.gradebook import read_rows
    from .data.policy import policy_path

    book = Path(gradebook)
    report_dir = Path(reports) if reports else book.with_name(book.stem + "-reports")
    try:
        check_out("--out", Path(out))
        check_dashboard(Path(out), "--out")
        weights = rubric_for(load_policy(policy_path(policy))).weights
        write_dashboard(Path(out), read_rows(book, report_dir), report_dir, weights)
    except GraderError as error:
        raise fail(error) from None
    except OSError as exc:
        raise fail(UsageError(f"--out {out}: cannot write ({exc.strerror})")) from None
    click.echo(f"dashboard: {out}")


@cli.group(cls=OneLineGroup)
def bundle():
    """Build the Gradescope autograder zip or the student kit."""


@bundle.command("gradescope")
@click.option("--out", default="autograder.zip", show_default=True, type=click.Path(dir_okay=False))
@click.option("--hidden-visibility", default="after_due_date", show_default=True,
              type=click.Choice(VISIBILITIES), help="Gradescope visibility of hidden cases.")
@click.option("--policy", default=DEFAULT_POLICY, show_default=True, help="The one policy it grades.")
def bundle_gradescope(out, hidden_visibility, policy):
    """The autograder zip: setup.sh, run_autograder and the kit with its hidden suites."""
    from .bundle import build_gradescope

    try:
        if not out.endswith(".zip"):
            raise UsageError(f"--out {out}: Gradescope needs a .zip file")
        check_out("--out", Path(out))
        names = build_gradescope(Path(out), hidden_visibility, policy)
    except GraderError as error:
        raise fail(error) from None
    except OSError as exc:
        raise fail(UsageError(f"--out {out}: cannot write ({exc.strerror})")) from None
    click.echo(f"wrote {out} (policy {policy}, {len(names)} files; hidden cases visible {hidden_visibility})")


@bundle.command("student")
@click.option("--out", required=True, type=click.Path(), help="A new folder, or a .zip file.")
@click.option("--policy", default=DEFAULT_POLICY, show_default=True, help="The one policy it holds.")
def bundle_student(out, policy):
    """The student kit: starter, public suites, model, weights, grader and the GitHub
    Classroom workflow; nothing hidden."""
    from .bundle import build_student

    try:
        check_out("--out", Path(out), folder_ok=True)
        names = build_student(Path(out), policy)
    except GraderError as error:
        raise fail(error) from None
    except OSError as exc:
        raise fail(UsageError(f"--out {out}: cannot write ({exc.strerror})")) from None
    click.echo(f"wrote {out} ({len(names)} files, no hidden suite, no reference solution)")


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
def validate(paths):
    """Check data files as run uses them: one line per file.

    Suites (with their policy and rubric), policies, rubrics (.toml) and weights (.json)."""
    errors = 0
    for raw in paths:
        try:
            click.echo(f"ok: {raw} ({check_data_file(Path(raw))})")
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
            loaded = [load_suite(path) for path in suite_files(policy.name)]
            width = max((len(s.name) for s in loaded), default=0)
            for suite in loaded:
                click.echo(f"  {suite.name:<{width}}  {suite.visibility:<6}  {len(suite.cases):>4} cases  "
                           f"{suite.description}")
    except GraderError as error:
        raise fail(error) from None


@cli.command("derive-names")
@click.option("--policy", default=DEFAULT_POLICY, show_default=True, help="Policy name or path.")
@click.option("--data", required=True, type=click.Path(dir_okay=False),
              help="The training data, one name a line: makemore's names.txt.")
def derive_names_cmd(policy, data):
    """Derive policies/POLICY/names.toml (legitimate names) from the training data."""
    from .data.policy import names_path, policy_path

    try:
        from .data.derive import check_training_data, derive_names
    except ImportError:
        raise fail(UsageError("derive-names is for instructors: the student kit has no "
                              "grader/data/derive.py")) from None
    source = policy_path(policy)
    target = names_path(source)
    try:
        text = derive_names(source, Path(data))
        check_training_data(Path(data))
        target.parent.mkdir(parents=True, exist_ok=True)  # a new policy has no folder yet
        target.write_text(text, encoding="utf-8")
    except GraderError as error:
        raise fail(error) from None
    except OSError as exc:
        raise fail(UsageError(f"{target}: cannot write ({exc.strerror}); check the folder's "
                              "permissions")) from None
    click.echo(f"wrote {target}")
