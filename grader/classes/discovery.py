"""What counts as a submission in a class folder, and a unique report name for each.

Every entry directly in the folder is accounted for: it yields submissions, or it is
skipped with a reason.
- a regular file whose name ends in `.py`, in any case (`alice.py`, `Bot.PY`): one submission;
- a folder (one student's): one regular file named `bot.py` (any case) in it or below, at
  most MAX_DEPTH folders down (`alice/bot.py`, `deep/nested/bot.py`, a cloned repository's
  `starter/bot.py`), so a repository holding several copies costs one grading, not one each.
  The rule (`choose`): a `starter/bot.py` first, else the shallowest, ties by path; the
  others are skipped, naming the one graded. The folder's other files are the student's own;
- skipped, with the reason: other files, symbolic links (never followed), special files,
  hidden entries (`.git`, `.DS_Store`), `__pycache__` and `__MACOSX`, folders holding no
  `bot.py` (such as a folder named `x.py`), and a `bot.py` that is a link, a special file
  or more than MAX_DEPTH folders down. Below the top level, hidden folders, `__pycache__`
  and `__MACOSX` are not searched.

A report's name is the submission's path relative to the folder with `/` written `__`
(`alice.py.txt`, `alice__bot.py.txt`; `_` before a leading `=+-@`, which spreadsheets
read as a formula); names that would still clash (also when compared
case-insensitively, or too long for a file name) get a short hash of the path.
"""
from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError
from .gradebook import uncell
from ..integrity.kitcheck import cloned_kit_root
from ..safeio import clean_text

MAX_DEPTH = 4
SEARCH_DEPTH = 12  # how far down a too-deep bot.py is still found, to be listed as skipped
MAX_NAME_BYTES = 200
SKIPPED_FOLDERS = {"__pycache__", "__MACOSX"}
SYMLINK = "a symbolic link, not followed; copy the file itself into the folder"


@dataclass(frozen=True)
class Submission:
    path: Path
    label: str  # the path relative to the class folder, as the gradebook shows it
    report_stem: str  # unique within the class folder; the report adds the format's extension
    kit_root: Path | None = None  # the cloned repository of a starter/bot.py, whose kit files grade-all checks


@dataclass(frozen=True)
class Skipped:
    label: str
    reason: str


def _label(relative: Path) -> str:
    return clean_text(relative.as_posix(), limit=10_000)


def _bots_in(folder: Path, depth: int, root: Path) -> tuple[list[Path], list[Skipped]]:
    """The bot.py files in folder and below (at most MAX_DEPTH folders down), and the
    bot.py entries passed over, with the reason."""
    here = _label(folder.relative_to(root)) + "/"
    if depth > SEARCH_DEPTH:  # a bot.py this deep is not graded anyway: say where we stopped
        return [], [Skipped(here, f"more than {SEARCH_DEPTH} folders down: not searched")]
    found, skipped = [], []
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        return [], [Skipped(here, f"cannot be read ({exc.strerror})")]
    for entry in entries:
        path = Path(entry.path)
        if entry.name.casefold() == "bot.py" and not entry.is_dir(follow_symlinks=False):
            reason = (f"more than {MAX_DEPTH} folders down" if depth > MAX_DEPTH else SYMLINK if entry.is_symlink()
                      else "" if entry.is_file(follow_symlinks=False) else "not a regular file")
            if reason:
                skipped.append(Skipped(_label(path.relative_to(root)), reason))
            else:
                found.append(path)
        elif (entry.is_dir(follow_symlinks=False) and not entry.name.startswith(".")
              and entry.name not in SKIPPED_FOLDERS):
            more, passed = _bots_in(path, depth + 1, root)
            found, skipped = found + more, skipped + passed
    return found, skipped


def _classify(entry: os.DirEntry, root: Path) -> tuple[list[Path], list[Skipped]]:
    """The submissions one top-level entry holds, and what it holds that is skipped."""
    label = _label(Path(entry.name)) + ("/" if entry.is_dir(follow_symlinks=False) else "")
    if entry.name.startswith("."):
        return [], [Skipped(label, "hidden (its name starts with a dot)")]
    if entry.is_symlink():
        return [], [Skipped(label, SYMLINK)]
    if entry.is_dir():
        if entry.name in SKIPPED_FOLDERS:
            return [], [Skipped(label, "a folder of caches or archive metadata, not searched")]
        bots, skipped = _bots_in(Path(entry.path), 1, root)
        if not bots and not skipped:
            skipped = [Skipped(label, f"a folder holding no bot.py (searched {MAX_DEPTH} levels down)")]
        if len(bots) > 1:
            chosen = choose(bots)
            graded = _label(chosen.relative_to(root))
            skipped += [Skipped(_label(b.relative_to(root)), f"one bot.py per student folder: {graded} is graded")
                        for b in bots if b != chosen]
            bots = [chosen]
        return bots, skipped
    if not stat.S_ISREG(entry.stat().st_mode):
        return [], [Skipped(label, "not a regular file")]
    if entry.name.casefold().endswith(".py"):
        return [Path(entry.path)], []
    return [], [Skipped(label, "not a .py file")]


def choose(bots: list[Path]) -> Path:
    """The one bot.py graded of a student folder: a starter/bot.py (of a cloned kit) first,
    else the shallowest, ties by path."""
    return min(bots, key=lambda b: (b.parent.name.casefold() != "starter", len(b.parts), str(b)))


def find_submissions(directory: Path) -> tuple[list[Submission], list[Skipped]]:
    """The submissions in `directory` (sorted by path) and the entries skipped with the
    reason."""
    if not directory.is_dir():
        raise UsageError(f"{directory}: not a folder of submissions")
    paths, skipped = [], []
    for entry in sorted(os.scandir(directory), key=lambda e: e.name):
        found, passed = _classify(entry, directory)
        paths += found
        skipped += passed
    if not paths:
        raise UsageError(f"{directory}: no submissions found (a *.py file, or a folder holding a bot.py)")
    labels = unique_labels([p.relative_to(directory) for p in paths])
    stems = report_stems(labels)
    return [Submission(p, label, stems[label], cloned_kit_root(p, directory))
            for p, label in zip(paths, labels)], skipped


def unique_labels(relatives: list[Path]) -> list[str]:
    """Cleaned paths. When cleaning made two equal (a tab and a space), those that cleaning
    changed get a hash; a clean path keeps its label, so a new classmate never renames a
    gradebook row."""
    labels = [_label(r) for r in relatives]
    return [label if labels.count(label) == 1 or label == r.as_posix() else
            f"{label} #{hashlib.sha256(os.fsencode(r)).hexdigest()[:8]}" for label, r in zip(labels, relatives)]


def report_stems(labels: list[str]) -> dict[str, str]:
    """A file name for each (distinct) label: the label flattened, or with a hash if it clashes."""
    flat = {label: ("_" if label[:1] in "=+-@" else "") + label.replace("/", "__") for label in labels}
    seen: dict[str, int] = {}
    for name in flat.values():
        seen[name.casefold()] = seen.get(name.casefold(), 0) + 1
    stems = {}
    for label, name in flat.items():
        if seen[name.casefold()] > 1 or len(name.encode()) > MAX_NAME_BYTES:
            digest = hashlib.sha256(label.encode()).hexdigest()[:10]
            name = name.encode()[:MAX_NAME_BYTES - 12].decode(errors="ignore") + "-" + digest
        stems[label] = name
    return stems


def select(submissions: list[Submission], directory: Path, names: tuple[str, ...]) -> list[Submission]:
    """The submissions named (a gradebook label, a top-level entry, or a path to either)."""
    chosen: list[Submission] = []
    for name in names:
        given = name.rstrip("/").removeprefix("./")
        target = directory / given if (directory / given).exists() else Path(given)
        target = target.resolve() if target.exists() else None
        exact = any(s.label == given or s.label.split("/")[0] == given for s in submissions)
        labels = {given} if exact else {uncell(given)}  # the gradebook shows '=eve.py for =eve.py
        matches = [s for s in submissions if s.label in labels or s.label.split("/")[0] in labels
                   or (target is not None and (s.path.resolve() == target
                                               or s.path.resolve().is_relative_to(target)))]
        if not matches:
            raise UsageError(f"--only {name}: no submission of that name in {directory} "
                             "(give a path as the gradebook shows it, e.g. alice.py or team/bot.py)")
        chosen += [m for m in matches if m not in chosen]
    return sorted(chosen, key=lambda s: s.label)
