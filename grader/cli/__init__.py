"""The grader's command line: a thin click edge over the library (grader/cli/edge.py turns
library errors into one-line messages, in one place).

Exit codes come from `edge.exit_code` alone (run and grade-all follow one rule): 0 graded
(whatever the score), 1 graded below --fail-under, 2 usage error (bad arguments or data
files; one line on stderr), 3 grader fault (in any submission of grade-all), 130 Ctrl-C.
"""
from __future__ import annotations

import click

from .bundles import bundle
from .classes import dashboard_cmd, grade_all_cmd, merge_shards_cmd
from .edge import CliGroup
from .grading import derive_names_cmd, explain, list_cmd, run, validate
from .play import play, try_cmd


@click.group(cls=CliGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="guardrail-lab", message="%(prog)s %(version)s")
def cli() -> None:
    """guardrail-lab grader: check, run and score a bot.py submission.

    \b
    Exit codes: 0 graded (whatever the score), 1 graded below --fail-under,
    2 usage error (bad arguments or data files), 3 grader fault, 130 Ctrl-C.
    """


for command in (run, explain, try_cmd, play, grade_all_cmd, merge_shards_cmd, dashboard_cmd, bundle, validate,
                list_cmd, derive_names_cmd):
    cli.add_command(command)
