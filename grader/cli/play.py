"""Commands of the playground: try (a terminal) and play (a page on 127.0.0.1)."""
from __future__ import annotations

import sys

import click

from ..errors import UsageError
from .edge import ExitCode


def session_of(submission: str, seed: int, alternatives: int = 3):
    """The Session of try and play."""
    from ..playground.session import Session

    return Session(submission, seed=seed, alternatives=alternatives)


@click.command("try")
@click.argument("submission", type=click.Path(dir_okay=False))
@click.option("--seed", default=0, show_default=True, type=click.IntRange(min=0),
              help="Sampling seed, as `python bot.py --seed N`: the same lines get the same answers.")
def try_cmd(submission, seed):
    """Type requests and see, for each, the answer and why: prefixes, the deciding check,
    every name drawn and its letters' probabilities, and P(leak). Reads lines from a pipe."""
    from ..playground.try_ import main

    with session_of(submission, seed) as session:
        refusal = session.check()
        if refusal:
            raise UsageError(refusal)
        try:
            main(session)
        except KeyboardInterrupt:
            sys.exit(ExitCode.INTERRUPTED)


@click.command()
@click.argument("submission", type=click.Path(dir_okay=False))
@click.option("--port", default=8021, show_default=True, type=click.IntRange(0, 65535),
              help="Port on 127.0.0.1 (0: any free port).")
@click.option("--seed", default=0, show_default=True, type=click.IntRange(min=0), help="Sampling seed.")
def play(submission, port, seed):
    """A page on 127.0.0.1 to chat with your bot and watch each letter drawn; editing
    the bot file reloads its hooks. Ctrl-C stops it."""
    from ..playground.server import serve

    with session_of(submission, seed, alternatives=26) as session:
        refusal = session.check()
        if refusal:  # the page says so too, and takes the file up once it is fixed
            click.echo(f"warning: {refusal}", err=True)
        try:
            serve(session, port, on_ready=lambda url: click.echo(f"playground: {url}  (Ctrl-C stops it)"))
        except OSError as exc:
            raise UsageError(f"--port {port}: cannot listen on 127.0.0.1 ({exc.strerror}); "
                             "try another port or --port 0") from None
        except KeyboardInterrupt:
            sys.exit(ExitCode.INTERRUPTED)
