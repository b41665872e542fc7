"""Bundles: the Gradescope autograder zip and the student kit (no hidden suite, no solution)."""
from __future__ import annotations

import shutil
import stat
import zipfile
from pathlib import Path

from .errors import UsageError
from .policy import KIT_ROOT

TEMPLATES = Path(__file__).resolve().parent / "templates"


def kit_files(include_hidden: bool, root: Path = KIT_ROOT) -> list[Path]:
    """The files that make the kit run, relative to root. Never a reference solution, tests
    or calibration submissions. Hidden suites and the request classifier (grader/derive.py,
    which answers every case) only when asked: the student kit gets the policy to implement
    and its public suites, whose expectations are written out, not the grader's answers."""
    patterns = ["pyproject.toml", "model/*.py", "grader/*.py", "grader/templates/*",
                "weights/model.json", "starter/bot.py", "docs/protocol.md", "docs/scoring.md",
                "docs/security.md", "policies/*.toml",
                "policies/*/rubric.toml", "policies/*/names.toml", "policies/*/public/*.toml"]
    instructors_only = {Path("grader/derive.py")}
    if include_hidden:
        patterns.append("policies/*/hidden/*.toml")
        instructors_only = set()
    return sorted({p.relative_to(root) for pattern in patterns for p in root.glob(pattern)
                   if p.is_file()} - instructors_only)


def _write(entries: dict[str, bytes | Path], out: Path, executables: set[str]) -> None:
    """Write the entries as a zip (out ends in .zip) or into a new folder."""
    if out.suffix == ".zip":
        out.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
            for name, content in sorted(entries.items()):
                info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
                info.external_attr = (0o755 if name in executables else 0o644) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                z.writestr(info, content.read_bytes() if isinstance(content, Path) else content)
        return
    if out.exists() and any(out.iterdir()):
        raise UsageError(f"--out {out}: the folder exists and is not empty; choose a new one")
    for name, content in entries.items():
        target = out / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Path):
            shutil.copyfile(content, target)
        else:
            target.write_bytes(content)
        if name in executables:
            target.chmod(target.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def build_gradescope(out: Path, hidden_visibility: str = "after_due_date") -> list[str]:
    entries: dict[str, bytes | Path] = {str(p): KIT_ROOT / p for p in kit_files(include_hidden=True)}
    entries["setup.sh"] = TEMPLATES / "setup.sh"
    entries["run_autograder"] = (TEMPLATES / "run_autograder").read_text().replace(
        "@HIDDEN_VISIBILITY@", hidden_visibility).encode()
    _write(entries, out, {"setup.sh", "run_autograder"})
    return sorted(entries)


def student_entries() -> dict[str, bytes | Path]:
    """The student kit, by path in it: also what grade-all compares a cloned repository with."""
    try:
        from .derive import kit_policy
    except ImportError:
        raise UsageError("bundle student is for instructors: this kit has no grader/derive.py") from None
    entries: dict[str, bytes | Path] = {str(p): KIT_ROOT / p for p in kit_files(include_hidden=False)
                                        if not str(p).startswith("grader/templates/")}
    for policy_file in sorted((KIT_ROOT / "policies").glob("*.toml")):  # only what each reveals
        entries.update({f"policies/{name}": text.encode() for name, text in kit_policy(policy_file).items()})
    entries["README.md"] = TEMPLATES / "STUDENT_README.md"
    entries[".github/workflows/classroom.yml"] = TEMPLATES / "classroom.yml"  # GitHub Classroom grading
    return entries


def build_student(out: Path) -> list[str]:
    entries = student_entries()
    _write(entries, out, set())
    return sorted(entries)
