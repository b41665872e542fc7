"""An interpreter other users can run, with this kit installed, for the tests that become an
ordinary user (uid 65534): a venv of Debian's python3 beside a copy of the kit, in a folder
every user can read. The interpreter running the tests may live in root's private home
(pyenv under /root, mode 0700), as on a fresh machine.

Made once per kit content and reused only if root owns it and no one else can write it
(a folder in /tmp that another user planted is never run). .ci/run makes it first
(`python tests/others.py` prints the interpreter) and passes it in GUARDRAIL_OTHERS_PYTHON.
"""
from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SYSTEM_PYTHON = "/usr/bin/python3"
KIT_PARTS = ("pyproject.toml", "grader", "model", "weights", "policies", "starter", "tests")


class Unavailable(Exception):
    """Why no interpreter for others can be made here."""


def _kit_files() -> list[Path]:
    return sorted(p for part in KIT_PARTS for p in ([ROOT / part] if (ROOT / part).is_file()
                                                    else (ROOT / part).rglob("*"))
                  if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc")


def _digest() -> str:
    sha = hashlib.sha256(SYSTEM_PYTHON.encode())
    for path in _kit_files():
        sha.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    return sha.hexdigest()[:16]


def _trusted(folder: Path) -> bool:
    """Ours, and writable by no one else, all the way down from /tmp."""
    for path in [folder, *folder.rglob("*")]:
        info = path.lstat()
        if info.st_uid != os.geteuid() or info.st_mode & 0o022 and not stat.S_ISLNK(info.st_mode):
            return False
    return True


def _build(folder: Path) -> None:
    kit = folder / "kit"
    for path in _kit_files():
        target = kit / path.relative_to(ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    made = subprocess.run([SYSTEM_PYTHON, "-m", "venv", str(folder / "venv")], capture_output=True, text=True)
    if made.returncode != 0:
        raise Unavailable(f"{SYSTEM_PYTHON} -m venv failed (install python3-venv): {made.stderr.strip()[-300:]}")
    pip = subprocess.run([str(folder / "venv" / "bin" / "python"), "-m", "pip", "install", "--quiet",
                          "-e", f"{kit}[test]"], capture_output=True, text=True, timeout=900)
    if pip.returncode != 0:
        raise Unavailable(f"installing the kit into a venv of {SYSTEM_PYTHON} failed: {pip.stderr.strip()[-300:]}")
    for path in [folder, *folder.rglob("*")]:  # readable (and runnable) by every user, writable by us only
        if not path.is_symlink():
            path.chmod(0o755 if path.is_dir() or os.access(path, os.X_OK) else 0o644)


def python_for_others() -> str:
    """The path of a python that uid 65534 can run, with this kit importable; raises
    Unavailable with the reason."""
    given = os.environ.get("GUARDRAIL_OTHERS_PYTHON")
    if given:
        return given
    if not Path(SYSTEM_PYTHON).exists():
        raise Unavailable(f"no {SYSTEM_PYTHON} to make a venv that other users can run")
    folder = Path(tempfile.gettempdir()) / f"guardrail-others-{os.geteuid()}-{_digest()}"
    with open(folder.with_name(folder.name + ".lock"), "a") as lock:  # pytest-xdist workers: one builds
        fcntl.flock(lock, fcntl.LOCK_EX)
        if folder.exists() and (not _trusted(folder) or not (folder / "done").exists()):
            shutil.rmtree(folder)  # half made, or not made by us: never run it
        if not folder.exists():
            folder.mkdir(mode=0o700)  # the venv records its path: built where it stays
            try:
                _build(folder)
            except (OSError, subprocess.SubprocessError) as exc:
                shutil.rmtree(folder, ignore_errors=True)
                raise Unavailable(f"could not make a venv for other users: {exc}") from None
            except Unavailable:
                shutil.rmtree(folder, ignore_errors=True)
                raise
            (folder / "done").write_text("")
    return str(folder / "venv" / "bin" / "python")

if __name__ == "__main__":
    try:
        print(python_for_others())
    except Unavailable as exc:
        sys.exit(f"others.py: {exc}")
