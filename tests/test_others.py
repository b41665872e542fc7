"""tests/others.py keeps only the venv for other users that is in use: a stale one of ours
goes, one that a process uses or builds stays, and nothing it did not make is touched."""
import fcntl
import os
import time

from others import UNLOCKED_AGE, _remove_stale


def made(parent, digest: str, in_use_file: bool = True, age: float = 0.0):
    folder = parent / f"guardrail-others-{os.geteuid()}-{digest}"
    (folder / "venv").mkdir(parents=True)
    (folder / "done").write_text("")
    folder.with_name(folder.name + ".lock").touch()
    if in_use_file:
        folder.with_name(folder.name + ".use").touch()
    if age:
        os.utime(folder, (time.time() - age, time.time() - age))
    return folder


def test_only_the_folders_no_one_uses_or_builds_are_removed(tmp_path):
    current = made(tmp_path, "0" * 16)
    stale = made(tmp_path, "1" * 16)
    used, building = made(tmp_path, "2" * 16), made(tmp_path, "3" * 16)
    young_unlocked = made(tmp_path, "4" * 16, in_use_file=False)
    old_unlocked = made(tmp_path, "5" * 16, in_use_file=False, age=UNLOCKED_AGE + 60)
    other_user = tmp_path / f"guardrail-others-{os.geteuid() + 1}-{'6' * 16}"
    other_user.mkdir()
    link = tmp_path / f"guardrail-others-{os.geteuid()}-{'7' * 16}"
    link.symlink_to(current)
    with open(f"{used}.use") as use, open(f"{building}.lock") as build:
        fcntl.flock(use, fcntl.LOCK_SH)
        fcntl.flock(build, fcntl.LOCK_EX)
        _remove_stale(current)
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir() or p.is_symlink()) == sorted(
        p.name for p in (current, used, building, young_unlocked, other_user, link))
    assert not stale.exists() and not old_unlocked.exists() and (current / "venv").is_dir()
