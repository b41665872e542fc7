"""Commands of class grading: grade-all, merge-shards, dashboard."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from ..console import fit
from ..data.policy import DEFAULT_POLICY, load_policy
from ..data.rubric import rubric_for
from ..errors import UsageError
from ..reports.writers import CLASS_FORMATS
from ..results import Status
from .edge import Progress, check_out, exit_code, class_isolation, selected_suites, suite_options, writing


@click.command("grade-all")
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
    from ..classes.batch import Settings
    from ..bundle import student_entries
    from ..classes.classrun import grade_class, plan_class
    from ..classes.dashboard import write_dashboard
    from ..classes.gradebook import read_rows, summary
    from ..kit import load_kit_model
    from ..integrity.kitcheck import kit_digests
    from ..classes.shards import parse_shard, shard_of, write_manifest

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
        settings = Settings(loaded, fmt, seed, load_kit_model(), class_isolation(allow_unisolated, folder),
                            kit_digests(student_entries(loaded[0].policy.name)))
        with Progress("graded", len(plan.submissions), log=True) as bar:
            batch = grade_class(plan, settings, jobs, on_done=lambda row: bar.update(
                f"{row.submission}: {row.status.replace('_', ' ')}"
                + (f" {row.percent:.1f}%" if row.status == Status.GRADED else "")))
        if dashboard:  # the whole class, as the gradebook now holds it (--only re-grades some)
            write_dashboard(Path(dashboard), read_rows(out_path, report_dir), report_dir,
                            rubric_for(loaded[0].policy).weights)
        if sliced:
            write_manifest(out_path, *sliced, everyone, seed, loaded)
    except OSError as exc:
        raise UsageError(f"cannot write the gradebook or reports: {exc}") from None
    click.echo("\n".join(fit(summary(batch.rows).splitlines()
                             + [f"skipped: {s.label}: {s.reason}" for s in plan.skipped])))
    click.echo(f"gradebook: {out_path}\nreports:   {report_dir}/")  # paths are never wrapped
    if batch.interrupted:
        done = sum(r.status != Status.INTERRUPTED for r in batch.rows)
        click.echo(f"interrupted: {done} of {len(batch.rows)} finished; the gradebook is partial (the "
                   "rest keep any previous row; re-grade them with --only)", err=True)
    sys.exit(exit_code([r.status for r in batch.rows], [], interrupted=batch.interrupted))


@click.command("merge-shards")
@click.argument("gradebooks", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--out", default="grades.csv", show_default=True, type=click.Path(dir_okay=False),
              help="The class gradebook CSV (in an existing folder).")
def merge_shards_cmd(gradebooks, out):
    """Combine the gradebooks of `grade-all --shard K/N` (all N of them) into the class's.

    The reports stay in each shard's reports folder (their names are unique in the class):
    copy them into one folder."""
    from ..classes.shards import merge_shards

    try:
        check_out("--out", Path(out))
        count = merge_shards([Path(g) for g in gradebooks], Path(out))
    except OSError as exc:
        raise UsageError(f"cannot write the gradebook: {exc}") from None
    click.echo(f"gradebook: {out} ({count} submissions from {len(gradebooks)} shards)")


@click.command("dashboard")
@click.argument("gradebook", type=click.Path(dir_okay=False))
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="The page to write.")
@click.option("--reports", type=click.Path(file_okay=False),
              help="grade-all's reports folder (default: next to GRADEBOOK, NAME-reports).")
@click.option("--policy", default=DEFAULT_POLICY, show_default=True, help="Policy name or path (its rubric).")
def dashboard_cmd(gradebook, out, reports, policy):
    """Rebuild the class dashboard from a gradebook and its reports (grades nothing)."""
    from ..classes.classrun import check_dashboard
    from ..classes.dashboard import write_dashboard
    from ..classes.gradebook import read_rows
    from ..data.policy import policy_path

    book = Path(gradebook)
    report_dir = Path(reports) if reports else book.with_name(book.stem + "-reports")
    with writing(f"--out {out}"):
        check_out("--out", Path(out))
        check_dashboard(Path(out), "--out")
        weights = rubric_for(load_policy(policy_path(policy))).weights
        write_dashboard(Path(out), read_rows(book, report_dir), report_dir, weights)
    click.echo(f"dashboard: {out}")
