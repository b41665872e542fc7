"""Terminal conventions of the CLI: one-line usage errors, Ctrl-C as exit 130, colour only
where wanted (NO_COLOR, TERM=dumb), and a progress line without escape codes or ETA."""
from __future__ import annotations

import os
import re
import shutil
import sys
import unicodedata
from enum import IntEnum

import click


WIDTH = 80  # text reports and summaries fit a standard terminal
FIELD = re.compile(r"\s*(?:[\w ]+:\s+)?")  # an indent and a "label:   " before a line's value


def columns(text: str) -> int:
    """The columns text takes on a terminal: wide and fullwidth characters (ｂ, 名) two,
    combining marks and format characters none."""
    return sum(0 if unicodedata.category(ch) in ("Mn", "Me", "Cf") else
               2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def cut(text: str, width: int) -> tuple[str, str]:
    """The longest start of text within `width` columns (at least one character), and the rest."""
    n = 1
    while n < len(text) and columns(text[: n + 1]) <= width:
        n += 1
    return text[:n], text[n:]


def wrap(text: str, width: int, indent: str) -> list[str]:
    """Text wrapped at spaces within `width` columns, continuations indented; the spaces
    between words kept (a label's alignment), a word wider than a line cut."""
    line, out = "", []
    for space, word in re.findall(r"(\s*)(\S+)", text):
        joined = line + space + word
        if columns(joined) > width and line.strip():
            out.append(line)
            joined = indent + word
        while columns(joined) > width:
            head, joined = cut(joined, width)
            out.append(head)
            joined = indent + joined
        line = joined
    return out + [line]


def fit(lines: list[str], width: int = WIDTH) -> list[str]:
    """Lines wider than `width` columns wrapped at spaces, each continuation under the
    value its line holds (an overlong styled line loses its style)."""
    out = []
    for line in lines:
        plain = click.unstyle(line)
        if columns(plain) <= width:
            out.append(line)
            continue
        lead = FIELD.match(plain).group(0)[: width // 2]
        out += wrap(plain, width, " " * len(lead))
    return out

class ExitCode(IntEnum):
    GRADED = 0
    BELOW_THRESHOLD = 1
    USAGE = 2
    GRADER_FAULT = 3
    INTERRUPTED = 130


class OneLineGroup(click.Group):
    """Usage errors as one line (`Error: ... (see '... -h')`), Ctrl-C as exit 130."""

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
        except KeyboardInterrupt:
            click.echo("\ninterrupted", err=True)
            ctx.exit(ExitCode.INTERRUPTED)


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
