"""Bundles: the Gradescope autograder zip and the student kit (no hidden suite, no solution)."""
from __future__ import annotations

import shutil
import stat
import zipfile
from pathlib import Path

from .errors import UsageError
from .data.policy import Policy, load_policy
from .kit import KIT_ROOT, has_ground_truth

TEMPLATES = Path(__file__).resolve().parent / "templates"


def kit_files(include_hidden: bool, policy: str, root: Path = KIT_ROOT) -> list[Path]:
    """The files that make the kit run, relative to root, with one policy (which the kit's
    commands then grade by default). Never a reference solution, tests or calibration
    submissions. Hidden suites and the request classifier (grader/data/derive.py, which answers
    every case) only when asked: the student kit gets the policy to implement and its
    public suites, whose expectations are written out, not the grader's answers."""
    if not (root / "policies" / f"{policy}.toml").is_file():
        known = ", ".join(sorted(p.stem for p in (root / "policies").glob("*.toml")))
        raise UsageError(f"--policy {policy}: no policies/{policy}.toml (known: {known})")
    patterns = ["pyproject.toml", "model/*.py", "grader/**/*.py", "grader/templates/*",
                "weights/model.json", "starter/bot.py", "docs/protocol.md", "docs/scoring.md",
                "docs/security.md", "docs/deploy.md", f"policies/{policy}.toml", f"policies/{policy}/rubric.toml",
                f"policies/{policy}/names.toml", f"policies/{policy}/public/*.toml"]
    instructors_only = {Path("grader/data/derive.py")}
    if include_hidden:
        patterns.append(f"policies/{policy}/hidden/*.toml")
        instructors_only = set()
    return sorted({p.relative_to(root) for pattern in patterns for p in root.glob(pattern)
                   if p.is_file()} - instructors_only)


def student_readme(policy: Policy) -> bytes:
    """The student README, in the policy's own words: its description, what it bans, and
    names that merely hold a revealed banned word (which must still be served)."""
    starting = [n for n in policy.revealed_allowlist if any(n.startswith(w) for w in policy.revealed_banned)]
    examples = ", ".join(sorted(starting, key=lambda n: (len(n), n))[:3])
    return (TEMPLATES / "STUDENT_README.md").read_text(encoding="utf-8").replace(
        "@POLICY@", policy.name).replace("@DESCRIPTION@", policy.description).replace(
        "@BANNED_NOUN@", policy.banned_noun).replace("@EXAMPLES@", examples or "none").encode()


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


def build_gradescope(out: Path, hidden_visibility: str, policy: str) -> list[str]:
    entries: dict[str, bytes | Path] = {str(p): KIT_ROOT / p for p in kit_files(True, policy)}
    entries["setup.sh"] = TEMPLATES / "setup.sh"
    entries["run_autograder"] = (TEMPLATES / "run_autograder").read_text().replace(
        "@HIDDEN_VISIBILITY@", hidden_visibility).replace("@POLICY@", policy).encode()
    _write(entries, out, {"setup.sh", "run_autograder"})
    return sorted(entries)


def student_entries(policy: str) -> dict[str, bytes | Path]:
    """The student kit for one policy, by path in it: also what grade-all compares a cloned
    repository with."""
    if not has_ground_truth():
        raise UsageError("bundle student is for instructors: this kit has no grader/data/derive.py")
    from .data.derive import kit_policy

    entries: dict[str, bytes | Path] = {str(p): KIT_ROOT / p for p in kit_files(False, policy)
                                        if not str(p).startswith("grader/templates/")}
    policy_file = KIT_ROOT / "policies" / f"{policy}.toml"  # only what it reveals
    entries.update({f"policies/{name}": text.encode() for name, text in kit_policy(policy_file).items()})
    entries["README.md"] = student_readme(load_policy(policy_file))
    entries[".github/workflows/classroom.yml"] = (TEMPLATES / "classroom.yml").read_text().replace(
        "@POLICY@", policy).encode()  # GitHub Classroom grading
    return entries


def build_student(out: Path, policy: str) -> list[str]:
    entries = student_entries(policy)
    _write(entries, out, set())
    return sorted(entries)
