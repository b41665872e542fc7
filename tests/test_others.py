"""tests/others.py keeps only the venv for other users that is in use: a stale one of ours
goes, one that a process uses or builds stays, and nothing it did not make is touched; its
copy of the kit holds nothing hidden."""
import fcntl
import os
import re
import stat
import time
from pathlib import Path

from grader.data.policy import load_policy
from others import UNLOCKED_AGE, _kit_files, _remove_stale

ROOT = Path(__file__).resolve().parent.parent


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


def test_the_copy_for_others_holds_nothing_a_student_may_not_see():
    """A fresh-uid worker of any grading on the machine can read the copy (red team, attack 08)."""
    held_out = set()
    for policy_file in (ROOT / "policies").glob("*.toml"):
        policy = load_policy(policy_file)
        held_out |= set(policy.words) - set(policy.revealed_words)
    files = _kit_files()
    assert "policies/fruit/public/smoke.toml" in files and "tests/test_isolation.py" in files
    assert held_out and not [name for name in files if "/hidden/" in name or "reference_bot" in name]
    for name, data in files.items():
        found = {word for word in held_out if re.search(rb"\b%s\b" % re.escape(word.encode()), data.lower())}
        assert not found, f"{name} names held-out words {sorted(found)[:5]}"


def test_a_copy_in_use_from_before_keeps_its_hidden_files_from_others(tmp_path):
    current, old = made(tmp_path, "0" * 16), made(tmp_path, "1" * 16)
    policy = old / "kit" / "policies" / "fruit"
    hidden, reference = policy / "hidden", policy / "reference_bot.py"
    hidden.mkdir(parents=True)
    (hidden / "direct-hidden.toml").write_text("secret")
    reference.write_text("secret")
    for path in (hidden, reference):
        path.chmod(0o755)
    with open(f"{old}.use") as use:
        fcntl.flock(use, fcntl.LOCK_SH)
        _remove_stale(current)
    assert stat.S_IMODE(hidden.stat().st_mode) == 0o750 and stat.S_IMODE(reference.stat().st_mode) == 0o750
