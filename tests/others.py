"""An interpreter other users can run, with this kit importable, for the tests that become an
ordinary user (uid 65534): a venv of Debian's python3 beside a copy of the kit, in a folder
every user can read. So the copy holds nothing a student may not see (a fresh-uid worker of
any grading on this machine can read it): the kit's code, weights and starter, the tests that
run as another user, and of each policy what its student kit reveals (grader/data/derive.py's
kit_policy, its public suites and rubric): no hidden suite, reference solution or held-out
word. The interpreter running the tests may live in root's private home
(pyenv under /root, mode 0700), as on a fresh machine. The venv, made without pip (so
Debian's python3-venv is not needed), gets the kit's dependencies from this interpreter's pip
(`pip --python`: pyproject.toml's, and its test extra for .ci/run, which runs pytest in it)
and a .pth naming the copy: what an editable install gives, without building the kit or
bootstrapping pip (about a third of the time of `pip install -e` in a venv with pip).

Made once per kit content and reused only if root owns it and no one else can write it
(a folder in /tmp that another user planted is never run). .ci/run makes it first
(`python tests/others.py` prints the interpreter) and passes it in GUARDRAIL_OTHERS_PYTHON.

Each is ~140-300 MB, so only the current one is kept: a process using a folder holds a shared
lock on its FOLDER.use until it exits, and one that finds its own folder removes every other
folder of this user's that no process uses or builds (both locks free). A folder made before
these locks existed (no FOLDER.use) is removed once it is a day old.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SYSTEM_PYTHON = "/usr/bin/python3"
# what runs the rest of a command as the ordinary user (uid and gid 65534, no groups)
AS_NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "env", "HOME=/tmp"]
KIT_PARTS = ("pyproject.toml", "grader", "model", "weights", "starter")
TESTS_FOR_OTHERS = ("conftest.py", "submissions.py", "sandboxes.py", "others.py", "test_isolation.py",
                    "channels.py", "cache_probe.py")  # what runs as uid 65534 in the copy
# what a copy made before it held only this is closed to others in (its users run as root)
HIDDEN_IN_OLD_COPIES = ("kit/policies/*/hidden", "kit/policies/*/reference_bot.py", "kit/tests/calibration")
UNLOCKED_AGE = 24 * 3600  # a folder without FOLDER.use is someone's only when younger than this
_in_use: list = []  # the shared locks this process holds on the folders it uses, until it exits


class Unavailable(Exception):
    """Why no interpreter for others can be made here."""


def _revealed_policies() -> dict[str, bytes]:
    """Each policy as its student kit has it."""
    from grader.data.derive import kit_policy
    files = {}
    for policy_file in sorted((ROOT / "policies").glob("*.toml")):
        files |= {f"policies/{name}": text.encode() for name, text in kit_policy(policy_file).items()}
        folder = policy_file.with_suffix("")
        for path in [folder / "rubric.toml", *sorted((folder / "public").glob("*.toml"))]:
            files[str(path.relative_to(ROOT))] = path.read_bytes()
    return files


def _kit_files() -> dict[str, bytes]:
    """What the copy holds, by path in it."""
    paths = [p for part in (*KIT_PARTS, *(f"tests/{name}" for name in TESTS_FOR_OTHERS))
             for p in ([ROOT / part] if (ROOT / part).is_file() else (ROOT / part).rglob("*"))
             if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"]
    return {str(p.relative_to(ROOT)): p.read_bytes() for p in sorted(paths)} | _revealed_policies()


def _digest(files: dict[str, bytes], extra: str) -> str:
    sha = hashlib.sha256(f"{SYSTEM_PYTHON}\0{extra}".encode())
    for name, data in sorted(files.items()):
        sha.update(name.encode() + b"\0" + data)
    return sha.hexdigest()[:16]


def _trusted(folder: Path) -> bool:
    """Ours, and writable by no one else, all the way down from /tmp."""
    for path in [folder, *folder.rglob("*")]:
        info = path.lstat()
        if info.st_uid != os.geteuid() or info.st_mode & 0o022 and not stat.S_ISLNK(info.st_mode):
            return False
    return True


def _requirements(extra: str) -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return project["dependencies"] + (project["optional-dependencies"][extra] if extra else [])


def _build(folder: Path, files: dict[str, bytes], extra: str) -> None:
    kit = folder / "kit"
    for name, data in files.items():
        target = kit / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    made = subprocess.run([SYSTEM_PYTHON, "-m", "venv", "--without-pip", str(folder / "venv")],
                          capture_output=True, text=True)
    if made.returncode != 0:
        raise Unavailable(f"{SYSTEM_PYTHON} -m venv --without-pip failed: {made.stderr.strip()[-300:]}")
    python = str(folder / "venv" / "bin" / "python")
    pip = subprocess.run([sys.executable, "-m", "pip", "--python", python, "install", "--quiet",
                          *_requirements(extra)], capture_output=True, text=True, timeout=900)
    if pip.returncode != 0:
        raise Unavailable(f"installing the kit's dependencies into a venv of {SYSTEM_PYTHON} failed: "
                          f"{pip.stderr.strip()[-300:]}")
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    Path(site, "guardrail_kit.pth").write_text(f"{kit}\n")
    for path in [folder, *folder.rglob("*")]:  # readable (and runnable) by every user, writable by us only
        if not path.is_symlink():
            path.chmod(0o755 if path.is_dir() or os.access(path, os.X_OK) else 0o644)


def _lock(folder: Path, kind: str):
    return open(folder.with_name(f"{folder.name}.{kind}"), "a")


def _free(lock) -> bool:
    """Takes the lock exclusively if no one holds it; the caller closes it to release."""
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


def _remove_stale(current: Path) -> None:
    """Every other folder of ours that no process builds or uses (both locks free)."""
    mine = re.compile(rf"guardrail-others-{os.geteuid()}-[0-9a-f]{{16}}")
    for folder in current.parent.iterdir():
        if folder == current or not mine.fullmatch(folder.name) or not _ours(folder):
            continue  # a link or a folder someone else planted: not ours to remove
        locked = folder.with_name(f"{folder.name}.use").exists()
        if not locked and time.time() - folder.lstat().st_mtime < UNLOCKED_AGE:
            _close_hidden(folder)
            continue
        with _lock(folder, "lock") as build:
            if not _free(build):
                continue
            if not locked:
                shutil.rmtree(folder, ignore_errors=True)
                continue
            with _lock(folder, "use") as use:
                if _free(use):
                    shutil.rmtree(folder, ignore_errors=True)
                else:
                    _close_hidden(folder)


def _close_hidden(folder: Path) -> None:
    """A copy still in use, made before copies left hidden material out: close that to others."""
    for path in (p for pattern in HIDDEN_IN_OLD_COPIES for p in folder.glob(pattern)):
        with contextlib.suppress(OSError):
            if _ours(path) or path.is_file() and not path.is_symlink():
                path.chmod(stat.S_IMODE(path.lstat().st_mode) & ~0o007)


def _ours(path: Path) -> bool:
    """A folder (never a link) of this user's."""
    try:
        info = path.lstat()
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) and info.st_uid == os.geteuid()


def python_for_others(extra: str = "") -> str:
    """The path of a python that uid 65534 can run, with this kit importable (and the
    dependencies of pyproject's optional `extra`); raises Unavailable with the reason."""
    given = os.environ.get("GUARDRAIL_OTHERS_PYTHON")
    if given:
        return given
    if not Path(SYSTEM_PYTHON).exists():
        raise Unavailable(f"no {SYSTEM_PYTHON} to make a venv that other users can run")
    files = _kit_files()
    folder = Path(tempfile.gettempdir()) / f"guardrail-others-{os.geteuid()}-{_digest(files, extra)}"
    with open(folder.with_name(folder.name + ".lock"), "a") as lock:  # pytest-xdist workers: one builds
        fcntl.flock(lock, fcntl.LOCK_EX)
        if folder.exists() and (not _trusted(folder) or not (folder / "done").exists()):
            shutil.rmtree(folder)  # half made, or not made by us: never run it
        if not folder.exists():
            folder.mkdir(mode=0o700)  # the venv records its path: built where it stays
            try:
                _build(folder, files, extra)
            except (OSError, subprocess.SubprocessError) as exc:
                shutil.rmtree(folder, ignore_errors=True)
                raise Unavailable(f"could not make a venv for other users: {exc}") from None
            except Unavailable:
                shutil.rmtree(folder, ignore_errors=True)
                raise
            (folder / "done").write_text("")
        use = _lock(folder, "use")  # taken before the build lock is let go: never removed in between
        fcntl.flock(use, fcntl.LOCK_SH)
        _in_use.append(use)
    _remove_stale(folder)
    return str(folder / "venv" / "bin" / "python")

if __name__ == "__main__":
    try:
        print(python_for_others(extra="test"))  # .ci/run runs pytest with it
    except Unavailable as exc:
        sys.exit(f"others.py: {exc}")
