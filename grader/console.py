"""Text for a terminal: lines fitted to 80 columns, counting wide characters as two and
combining marks as none (the CLI's own conventions are in grader/cli/edge.py)."""
from __future__ import annotations

import re
import unicodedata

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
