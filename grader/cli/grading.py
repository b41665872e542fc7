"""Commands that grade or check one submission or data file: run, explain, validate, list,
derive-names."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from ..data.policy import DEFAULT_POLICY, POLICIES_DIR, load_policy, names_path, policy_path
from ..data.suites import load_suite, suite_files
from ..data.validate import check_data_file
from ..errors import GraderError, UsageError
from ..grading.plan import DEFAULT_SEED, plan
from ..grading.runner import grade_plan
from ..kit import has_ground_truth, load_kit_model
from ..reports.writers import FORMATS, render
from ..safeio import write_atomic
from ..sandbox.isolation import LAYERS
from ..sandbox.limits import Limits
from ..sandbox.request import IsolationRequest
from .edge import ExitCode, Progress, check_out, exit_code, selected_suites, suite_options, use_color

# Gradescope's visibility settings of a test (the suites' own are public and hidden)
GRADESCOPE_VISIBILITIES = ["hidden", "after_due_date", "after_published", "visible"]


@click.command()
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
              type=click.Choice(GRADESCOPE_VISIBILITIES), help="Gradescope visibility of hidden cases.")
def run(submission, suites, policy, public_only, seed, fmt, out, fail_under, points, case_patterns,
        require_isolation, isolation, hidden_visibility):
    """Grade one bot.py against the suites and print its report."""
    from ..grading.explain import trace_failures

    budget = Limits().budget()  # one for the grading and the report's replay, its wall clock from now
    if points is not None and fmt != "classroom":
        raise UsageError("--points applies to --format classroom only")
    try:
        if out is not None:
            check_out("--out", Path(out))
        loaded = selected_suites(suites, policy, public_only)
        request = IsolationRequest(isolation, require_isolation)  # for the grading and the replay
        the_plan = plan(submission, loaded, seed, Limits(), request, list(case_patterns) or None)
        model = load_kit_model()  # once, for the grading, the replay and the report
        with Progress("grading", len(the_plan.cases)) as bar:
            result = grade_plan(the_plan, model, on_case=lambda _: bar.update(), budget=budget)
        traces = trace_failures(submission, result, loaded, model=model, isolation=request, budget=budget) \
            if fmt == "html" else None  # replays the failures, isolated as graded
        text = render(result, fmt, color=out is None and use_color(sys.stdout), hidden_visibility=hidden_visibility,
                      traces=traces, model=model, points=points)
        if out is None:
            click.echo(text, nl=False)
        else:
            write_atomic(out, text)
    except OSError as exc:  # reading the submission or a suite, or writing --out
        where = exc.filename or f"--out {out}"
        raise UsageError(f"{where}: {exc.strerror}; check the path and its permissions") from None
    sys.exit(exit_code([result.status], [result.percent], fail_under))


@click.command()
@click.argument("submission", type=click.Path(dir_okay=False))
@click.argument("case_key", metavar="CASE_KEY|REQUEST")
@click.option("--sample", type=click.IntRange(min=0), help="Replay only this sample (default: all).")
@click.option("--seed", type=click.IntRange(min=0),
              help=f"The seed the case was graded with (default {DEFAULT_SEED}); for a request, "
                   "that of `python bot.py --seed N` (default 0).")
def explain(submission, case_key, sample, seed):
    """Replay one case (SUITE/ID, e.g. direct/apple) as graded, or answer one request
    (e.g. 'a b', as try does), and show why, letter by letter."""
    from ..grading.explain import explain_case, render_trace
    from ..playground.session import DEFAULT_SEED as BOT_SEED, Refused, Session

    try:
        if "/" in case_key:
            trace = explain_case(submission, case_key, DEFAULT_SEED if seed is None else seed, sample)
        elif sample is not None:
            raise UsageError("--sample applies to a case (SUITE/ID); a request is answered once")
        else:
            with Session(submission, seed=BOT_SEED if seed is None else seed) as session:
                trace = session.ask(case_key)
    except Refused as refusal:
        raise UsageError(str(refusal)) from None
    click.echo(render_trace(trace), nl=False)


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
def validate(paths):
    """Check data files as run uses them: one line per file.

    Suites (with their policy and rubric), policies, rubrics (.toml) and weights (.json)."""
    errors = 0
    for raw in paths:
        try:
            click.echo(f"ok: {raw} ({check_data_file(Path(raw))})")
        except GraderError as error:  # each file its own line: the others are still checked
            errors += 1
            click.echo(f"error: {error}", err=True)
    if errors:
        sys.exit(ExitCode.USAGE)


@click.command("list")
def list_cmd():
    """List the policies and their suites."""
    for policy_file in sorted(POLICIES_DIR.glob("*.toml")):
        policy = load_policy(policy_file)
        click.echo(f"{policy.name}: {policy.description}")
        loaded = [load_suite(path) for path in suite_files(policy.name)]
        width = max((len(s.name) for s in loaded), default=0)
        for suite in loaded:
            click.echo(f"  {suite.name:<{width}}  {suite.visibility:<6}  {len(suite.cases):>4} cases  "
                       f"{suite.description}")


@click.command("derive-names")
@click.option("--policy", default=DEFAULT_POLICY, show_default=True, help="Policy name or path.")
@click.option("--data", required=True, type=click.Path(dir_okay=False),
              help="The training data, one name a line: makemore's names.txt.")
def derive_names_cmd(policy, data):
    """Derive policies/POLICY/names.toml (legitimate names) from the training data."""
    if not has_ground_truth():
        raise UsageError("derive-names is for instructors: the student kit has no grader/data/derive.py")
    from ..data.derive import check_training_data, derive_names

    source = policy_path(policy)
    target = names_path(source)
    try:
        check_training_data(Path(data))  # the wrong file is named as such before anything is derived
        text = derive_names(source, Path(data))
        target.parent.mkdir(parents=True, exist_ok=True)  # a new policy has no folder yet
        target.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{target}: cannot write ({exc.strerror}); check the folder's permissions") from None
    click.echo(f"wrote {target}")
