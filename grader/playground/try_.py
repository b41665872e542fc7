"""`python -m grader try BOT.py`: type requests, see why the bot answered each.

A prompt with line editing and history on a terminal, plain lines from a pipe (read as the
bot reads them: bytes, an over-long line cut and refused). For each request: the answer,
the normalized prefixes, the check that decided, each sampled name with its letters'
probabilities and the filter that discarded it, and the exact P(leak) (explain's trace).
"""
from __future__ import annotations

import sys
from typing import BinaryIO, Iterator, TextIO

from model.protocol import read_lines

from ..grading.explain import render_trace
from ..grading.probability import LEAK_DEFINITION
from .session import Refused, Session

PROMPT = "request> "


def typed_lines(prompt: str = PROMPT) -> Iterator[str]:
    """Lines typed at a terminal, with readline's editing and history where it exists."""
    try:
        import readline  # noqa: F401  (importing it gives input() editing and history)
    except ImportError:
        pass
    while True:
        try:
            yield input(prompt)
        except EOFError:
            print()
            return


def piped_lines(stream: BinaryIO) -> Iterator[str]:
    """Lines from a pipe; bytes that are not UTF-8 survive (and are refused as the bot refuses them)."""
    for line in read_lines(stream):
        yield line.decode("utf-8", "surrogateescape")


def answer_text(session: Session, text: str, defined: bool = False) -> tuple[str, bool]:
    """What try prints for one request, and whether P(leak) is defined by now (it is
    spelled out once, then referred to)."""
    try:
        trace = session.ask(text)
    except Refused as refusal:
        return f"request:     {text!r}\nrefused:     {refusal}\n", defined
    if trace.leak_note == LEAK_DEFINITION:
        trace.leak_note, defined = ("(P(leak) as defined above)" if defined else LEAK_DEFINITION), True
    return f"answer:      {trace.shown[0].response}\n" + render_trace(trace, header=False), defined


def run_try(session: Session, stdin: BinaryIO, stdout: TextIO, interactive: bool) -> None:
    if interactive:
        stdout.write(f"try {session.path} (seed {session.seed}): type a request such as `pearl` or "
                     "`a b`; Ctrl-D ends\n")
    lines = typed_lines() if interactive else piped_lines(stdin)
    defined = False
    for n, text in enumerate(lines):
        answer, defined = answer_text(session, text, defined)
        stdout.write(("" if n == 0 else "\n") + answer)
        stdout.flush()


def main(session: Session) -> None:
    """The try loop on this process's stdin and stdout."""
    run_try(session, sys.stdin.buffer, sys.stdout, sys.stdin.isatty() and sys.stdout.isatty())
