"""Hostile data in, safe files out.

Every string that came from a submission (a refusal reason, an exception message, a type
name) passes `clean_text` before any report sees it; every report, gradebook and
results.json is written with `write_atomic`, which never follows a planted symlink, never
blocks on a planted FIFO and never leaves a half-written file behind.
"""
from __future__ import annotations

import os
import stat
import tempfile
import unicodedata
from pathlib import Path

from .errors import UsageError

MAX_TEXT_CHARS = 300
_UNSAFE_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}  # controls, format, surrogates, ...


def clean_text(text: object, limit: int = MAX_TEXT_CHARS) -> str:
    """Valid UTF-8, one line, no control or escape characters, at most `limit` characters.

    Unsafe characters are shown as `\\uXXXX` escapes, so nothing is hidden from the reader
    and nothing reaches a terminal, a CSV cell or an XML file as a control character."""
    if not isinstance(text, str):
        text = str(text)
    if text.isascii() and text.isprintable():  # the usual case, nothing to escape: fast
        return text if len(text) <= limit else text[: max(0, limit - 3)] + "..."
    out = []
    for ch in text:
        if ch in "\t\n\r":
            out.append(" ")
        elif unicodedata.category(ch) in _UNSAFE_CATEGORIES:
            out.append(f"\\u{ord(ch):04x}" if ord(ch) <= 0xFFFF else f"\\U{ord(ch):08x}")
        else:
            out.append(ch)
    cleaned = "".join(out)
    return cleaned if len(cleaned) <= limit else cleaned[: max(0, limit - 3)] + "..."


def clean_words(text: object, limit: int = MAX_TEXT_CHARS) -> str:
    """clean_text, but a text over `limit` is cut between words (a table cell read by people:
    "(score ..." reads as a score)."""
    cleaned = clean_text(text, limit=1 << 62)
    if len(cleaned) <= limit:
        return cleaned
    head = cleaned[: max(0, limit - 4)]
    space = head.rfind(" ")
    return (head[:space] if space > limit // 2 else head).rstrip(" ;,") + " ..."


def write_atomic(path: str | Path, data: str | bytes) -> None:
    """Replace `path` with `data`: written to a fresh temporary file in the same folder and
    renamed over the target, so a symlink or FIFO planted at `path` is replaced, never
    followed or opened. The folder must exist (UsageError otherwise); the file is 0644
    unless it existed with tighter permissions."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise UsageError(f"{path}: the folder {folder} does not exist; create it first")
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        info = None
    if info is not None and stat.S_ISDIR(info.st_mode):
        raise UsageError(f"{path}: is a folder; give a file name")
    mode = stat.S_IMODE(info.st_mode) if info is not None and stat.S_ISREG(info.st_mode) else 0o644
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:  # named after the target: the temporary name means nothing to a user
        raise OSError(exc.errno, exc.strerror, str(path)) from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)  # rename(2) replaces a symlink or FIFO itself, never its target
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
