"""grade-all's check of a cloned student repository: its kit files (grader/, model/,
weights/, policies/ and the Classroom workflow) must be the instructor's, byte for byte.

grade-all grades with its own kit, so edited kit files change nothing there; but the
GitHub Classroom check runs the student's copy of the workflow, and a student who edits it
(or the files it would use) may have shown themselves a grade they did not earn. Such a
repository is an integrity failure, naming the files.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import replace
from pathlib import Path

from ..results import Cause, GradeResult, Status
from ..safeio import clean_text

KIT_FOLDERS = ("grader/", "model/", "weights/", "policies/", ".github/")
SKIPPED = {"__pycache__"}  # written by any local run; never read by grading
MAX_NAMED = 20


def _digest(path: Path) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


def kit_digests(entries: dict[str, bytes | Path]) -> tuple[tuple[str, str], ...]:
    """(path, sha256) of each kit file of the student kit (bundle.student_entries())."""
    return tuple(sorted((name, hashlib.sha256(content).hexdigest() if isinstance(content, bytes)
                         else _digest(content)) for name, content in entries.items()
                        if name.startswith(KIT_FOLDERS)))


def cloned_kit_root(bot: Path, class_folder: Path) -> Path | None:
    """The repository (inside the class folder) a `starter/bot.py` was cloned with, if it
    looks like one: a .git folder or any kit folder beside starter/."""
    root = bot.parent.parent
    if bot.parent.name.casefold() != "starter" or root == class_folder or not root.is_relative_to(class_folder):
        return None
    marks = [".git", *(f.rstrip("/") for f in KIT_FOLDERS)]
    return root if any((root / m).is_dir() and not (root / m).is_symlink() for m in marks) else None


def _files_under(root: Path) -> dict[str, Path]:
    found = {}
    for folder in KIT_FOLDERS:
        for here, dirs, files in os.walk(root / folder):  # never follows a symbolic link
            dirs[:] = [d for d in dirs if d not in SKIPPED]
            for name in [*files, *(d for d in dirs if os.path.islink(os.path.join(here, d)))]:
                path = Path(here) / name
                found[path.relative_to(root).as_posix()] = path
    return found


def kit_differences(root: Path, expected: tuple[tuple[str, str], ...]) -> list[str]:
    """Each kit file of the repository at root that is not the instructor's: changed,
    missing, added, or not a regular file."""
    want, have = dict(expected), _files_under(root)
    out = []
    for name in sorted(set(want) | set(have)):
        path = have.get(name)
        if path is None:
            out.append(f"{name}: missing")
        elif name not in want:
            out.append(f"{name}: added")
        elif path.is_symlink() or not path.is_file():
            out.append(f"{name}: not a regular file")
        elif _digest(path) != want[name]:
            out.append(f"{name}: changed")
    return out


def as_integrity_failure(result: GradeResult, differences: list[str]) -> GradeResult:
    """The result of a repository whose kit files differ: an integrity failure, score 0."""
    named = [clean_text(d, 200) for d in differences[:MAX_NAMED]] + ([f"... and {len(differences) - MAX_NAMED} more"]
                                       if len(differences) > MAX_NAMED else [])
    finding = ("the repository's kit files differ from the instructor's (" + ", ".join(named)
               + "): restore them from the template repository")
    return replace(result, status=Status.INTEGRITY_FAILED, score=0.0, integrity_ok=False,
                   integrity_findings=[finding, *result.integrity_findings],
                   causes=[Cause.FROZEN, *(c for c in result.causes if c != Cause.FROZEN)])
