"""Commands that build the kit's bundles: the Gradescope autograder zip, the student kit."""
from __future__ import annotations

from pathlib import Path

import click

from ..data.policy import DEFAULT_POLICY
from ..errors import UsageError
from .edge import CliGroup, check_out, writing
from .grading import GRADESCOPE_VISIBILITIES


@click.group(cls=CliGroup)
def bundle():
    """Build the Gradescope autograder zip or the student kit."""


@bundle.command("gradescope")
@click.option("--out", default="autograder.zip", show_default=True, type=click.Path(dir_okay=False))
@click.option("--hidden-visibility", default="after_due_date", show_default=True,
              type=click.Choice(GRADESCOPE_VISIBILITIES), help="Gradescope visibility of hidden cases.")
@click.option("--policy", default=DEFAULT_POLICY, show_default=True, help="The one policy it grades.")
def bundle_gradescope(out, hidden_visibility, policy):
    """The autograder zip: setup.sh, run_autograder and the kit with its hidden suites."""
    from ..bundle import build_gradescope

    with writing(f"--out {out}"):
        if not out.endswith(".zip"):
            raise UsageError(f"--out {out}: Gradescope needs a .zip file")
        check_out("--out", Path(out))
        names = build_gradescope(Path(out), hidden_visibility, policy)
    click.echo(f"wrote {out} (policy {policy}, {len(names)} files; hidden cases visible {hidden_visibility})")


@bundle.command("student")
@click.option("--out", required=True, type=click.Path(), help="A new folder, or a .zip file.")
@click.option("--policy", default=DEFAULT_POLICY, show_default=True, help="The one policy it holds.")
def bundle_student(out, policy):
    """The student kit: starter, public suites, model, weights, grader and the GitHub
    Classroom workflow; nothing hidden."""
    from ..bundle import build_student

    with writing(f"--out {out}"):
        check_out("--out", Path(out), folder_ok=True)
        names = build_student(Path(out), policy)
    click.echo(f"wrote {out} ({len(names)} files, no hidden suite, no reference solution)")
