"""Isolation layers for the sandboxed worker, behind one seam: `prepare`, `wrap`,
`worker_stopped`, `cleanup`.

- `Bubblewrap` (preferred, root or not): the worker sees only a read-only view of the files
  it needs (grader/sandbox/view.py, each read by the grader before each worker starts), a
  staged copy of the kit's code, weights and the submission, and a small private /tmp, in
  namespaces of its own; it dies with the grader. As root, bwrap runs as a fresh uid
  (grader/sandbox/launcher.py makes an interpreter under a private home reachable).
- `FreshUid` (root only, where namespaces are refused, e.g. Docker's default seccomp
  profile): a fresh uid, secrets closed to "others" by permissions, and a sweep of whatever
  that uid left in temp folders and SysV IPC after every worker.
- `Unisolated`: resource limits only. It grades, and the report says so; grade-all and the
  Gradescope autograder refuse it unless asked explicitly.

As root, every worker of a sandbox gets a uid of its own (the sandbox's files are opened to
a group of its own), so no uid-scoped state passes from one worker to the next.

docs/security.md gives the threat model and which layer protects what.
"""
from __future__ import annotations

import contextlib
import functools
import os
import random
import stat
import sys
import tempfile
from pathlib import Path

from .cleanup import (SWEPT_FOLDERS, adopt_orphans, kill_uid, reap_adopted, remove_owned_by,
                      remove_sysv_ipc, remove_tree)
from ..errors import IsolationUnavailable
from .bwrap import bwrap_binary, proc_masks, runs
from ..kit import KIT_ROOT
from .view_store import site_dirs, view_tree, warm

SANDBOX_UID_BASE = 1_900_000_000  # far above any real account's uid
LAUNCHER = Path(__file__).resolve().parent / "launcher.py"
SANDBOX_ROOT = "/sandbox"  # where the staged files appear inside bubblewrap
TMP_BYTES = 64 << 20  # the private /tmp and /dev/shm are RAM: cap them
SHM_BYTES = 8 << 20


def running_as_root() -> bool:
    return os.geteuid() == 0


def root_on_the_host() -> bool:
    """Root, or root seen through a user namespace (`unshare --user`): its files are ours."""
    if running_as_root():
        return True
    try:
        rows = [row.split() for row in Path("/proc/self/uid_map").read_text().splitlines()]
    except OSError:
        return False
    if not rows:  # an unmapped user namespace hides who we are: assume the worst
        return True
    uid = os.geteuid()
    return any(int(inside) <= uid < int(inside) + int(count) and int(outside) + uid - int(inside) == 0
               for inside, outside, count in rows)


def interpreter_dirs() -> list[Path]:
    """Folders the worker's interpreter needs: its prefixes and its site folders."""
    dirs = {Path(p).resolve() for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)} | set(site_dirs())
    return sorted(d for d in dirs if not any(d.is_relative_to(o) for o in dirs if o != d))


def reachable_by_others(path: Path) -> bool:
    """Every folder above path lets 'others' traverse it (so a fresh uid can get there)."""
    return all(stat.S_IMODE(p.stat().st_mode) & stat.S_IXOTH for p in path.resolve().parents)


def stage_parent() -> str:
    """TMPDIR, unless a fresh uid could not reach into it (then /tmp)."""
    base = Path(tempfile.gettempdir())
    return str(base) if reachable_by_others(base / "x") else "/tmp"


def interpreter_reachable() -> bool:
    """A fresh uid can reach the worker's interpreter and its site folders."""
    return all(reachable_by_others(d) for d in interpreter_dirs())


def fresh_uid() -> int:
    return SANDBOX_UID_BASE + random.SystemRandom().randrange(10_000_000)


class Uids:
    """A sandbox's group (its staged files are opened to it) and a fresh uid per worker."""

    def __init__(self) -> None:
        self.group = fresh_uid()
        self.used: list[int] = []
        self.unswept: list[int] = []

    def next(self) -> int:
        self.used.append(fresh_uid())
        self.unswept.append(self.used[-1])
        return self.used[-1]

    def to_sweep(self) -> list[int]:
        """The uids whose leftovers were not taken away yet (each is returned once)."""
        uids, self.unswept = self.unswept, []
        return uids

    def credentials(self) -> dict:
        return {"user": self.used[-1], "group": self.group, "extra_groups": []}


class Isolation:
    """One layer. `wrap` turns the worker's argv (paths inside the stage) into the command
    to run and the Popen keyword arguments; `protections` name what it guarantees."""
    name = "none"
    protections: tuple[str, ...] = ()

    def prepare(self, stage: Path, secrets: list[Path] = ()) -> None:
        """Called once the stage folder (worker, kit code, submission) is filled; `secrets`
        are paths the worker must not read (a layer without a view of its own closes them)."""
        self.stage = stage

    def inside(self, relative: str) -> str:
        """Where a staged file is seen by the worker."""
        return str(self.stage / relative)

    def wrap(self, argv: list[str], env: dict[str, str]) -> tuple[list[str], dict]:
        return argv, {"env": env, "cwd": str(self.stage / "tmp")}

    def worker_stopped(self) -> None:
        """Called once each worker is dead: take away what it left before the next starts."""

    def cleanup(self) -> None:
        """Kill what the layer's processes left and remove what they wrote."""


class Unisolated(Isolation):
    name = "none"
    protections = ("limits",)


class FreshUid(Isolation):
    name = "fresh-uid"
    protections = ("limits", "fresh uid", "secrets closed to others", "leftovers swept")

    def __init__(self) -> None:
        self.uids = Uids()

    def prepare(self, stage: Path, secrets: list[Path] = ()) -> None:
        super().prepare(stage)
        close_to_others([*kit_secrets(), *secrets])
        open_to_group(stage, self.uids.group)

    def wrap(self, argv: list[str], env: dict[str, str]) -> tuple[list[str], dict]:
        argv, kwargs = super().wrap(argv, env)
        uid, work = self.uids.next(), self.stage / "tmp"  # a fresh, empty working folder too
        remove_tree(work)
        work.mkdir(0o700)
        os.chown(work, uid, self.uids.group)
        return argv, {**kwargs, **self.uids.credentials()}

    def worker_stopped(self) -> None:
        for uid in self.uids.to_sweep():
            kill_uid(uid)
            for folder in (*SWEPT_FOLDERS, self.stage):
                remove_owned_by(Path(folder), uid)
            remove_sysv_ipc(uid)

    def cleanup(self) -> None:
        self.worker_stopped()


class Bubblewrap(Isolation):
    name = "bubblewrap"
    protections = ("limits", "read-only view", "private /tmp", "own namespaces")

    def __init__(self, binary: str, as_root: bool) -> None:
        self.binary, self.uids = binary, Uids() if as_root else None
        if as_root:
            self.protections += ("fresh uid",)

    def prepare(self, stage: Path, secrets: list[Path] = ()) -> None:
        super().prepare(stage)
        adopt_orphans()
        if self.uids:  # bwrap itself runs as the fresh uid: it must read the stage
            open_to_group(stage, self.uids.group)

    def inside(self, relative: str) -> str:
        return f"{SANDBOX_ROOT}/{relative}"

    def view(self) -> dict[str, str]:
        """Every file the worker can read: its path inside -> the file outside (a copy of a
        file the worker needs, grader/sandbox/view.py, or a staged file)."""
        tree = view_tree(self.stage.parent.parent)  # beside the sandbox's folder: the fresh uid reaches it
        staged = [p for p in self.stage.rglob("*") if p.is_file() and not p.is_symlink()]
        return ({path: str(tree.tree / path.lstrip("/")) for path in tree.files}
                | {f"{SANDBOX_ROOT}/{p.relative_to(self.stage)}": str(p) for p in staged})

    def wrap(self, argv: list[str], env: dict[str, str]) -> tuple[list[str], dict]:
        # every page the worker could time is cached before it starts, whatever an earlier
        # worker read: the page cache carries no bit from one worker to the next
        warm(list(self.view().values()))
        cmd = [self.binary, "--unshare-user", "--unshare-all", "--disable-userns",
               "--die-with-parent", "--new-session", "--cap-drop", "ALL", "--hostname", "sandbox",
               "--clearenv", "--proc", "/proc", *proc_masks(), "--dev", "/dev",
               "--size", str(SHM_BYTES), "--tmpfs", "/dev/shm", "--size", str(TMP_BYTES), "--tmpfs", "/tmp"]
        for folder, inside in view_tree(self.stage.parent.parent).binds:
            cmd += ["--symlink", os.readlink(folder), inside] if os.path.islink(folder) else \
                   ["--ro-bind", folder, inside]
        # the new root and /dev are tmpfs too: read-only, so RAM is spent only where capped
        cmd += ["--ro-bind", str(self.stage), SANDBOX_ROOT, "--remount-ro", "/dev", "--remount-ro", "/",
                "--chdir", "/tmp"]
        for key, value in {**env, "HOME": "/tmp", "TMPDIR": "/tmp"}.items():
            cmd += ["--setenv", key, value]
        kwargs = {"env": {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}, "cwd": "/"}
        return self.as_fresh_uid() + cmd + ["--", *argv], kwargs

    def as_fresh_uid(self) -> list[str]:
        """As root: the launcher that runs bwrap as the next fresh uid, with the interpreter
        and bwrap (the wheel's lives in site-packages, its libraries beside) made reachable for it."""
        if not self.uids:
            return []
        uid, needed = self.uids.next(), [*interpreter_dirs(), Path(self.binary).resolve().parent]
        return [sys.executable, "-I", "-S", "-B", str(LAUNCHER), str(uid), str(self.uids.group),
                *map(str, needed), "--"]

    def worker_stopped(self) -> None:
        for uid in self.uids.to_sweep() if self.uids else ():
            kill_uid(uid)  # the PID namespace already took everything down with it
        reap_adopted()

    def cleanup(self) -> None:
        self.worker_stopped()


def open_to_group(stage: Path, uid: int) -> None:
    """The stage readable by the sandbox's group (gid = uid), still owned by the grader."""
    for path in [stage, *stage.rglob("*")]:
        os.chown(path, 0, uid)
        path.chmod(0o750 if path.is_dir() else 0o640)


def kit_secrets() -> list[Path]:
    """What a worker must never read in the kit: hidden suites, reference solutions, .git."""
    policies = KIT_ROOT / "policies"
    return [*sorted(policies.glob("*/hidden")), *sorted(policies.glob("*/reference_bot.py")),
            KIT_ROOT / ".git"]


def close_to_others(paths: list[Path]) -> None:
    """Take every permission of 'others' off these paths (git ignores these bits)."""
    for path in paths:
        with contextlib.suppress(OSError):
            path.chmod(stat.S_IMODE(path.stat().st_mode) & ~0o007)


@functools.cache
def bwrap_works(binary: str, as_root: bool) -> bool:
    """A real trial run: the kernel may refuse user namespaces (Docker's seccomp profile),
    or a root without CAP_SYS_ADMIN the launcher's mount namespace."""
    probe = Bubblewrap(binary, as_root)
    folder = Path(tempfile.mkdtemp(prefix="guardrail-probe-", dir=stage_parent()))
    probe.stage = folder / "stage"  # where a sandbox's stage is: the view is made beside them
    probe.stage.mkdir()
    folder.chmod(0o711)
    try:  # the worker's interpreter starts in the view
        return runs(*probe.wrap([sys.executable, "-S", "-s", "-B", "-c", "pass"], {}))
    finally:
        probe.cleanup()
        remove_tree(folder)


LAYERS = ("bubblewrap", "fresh-uid", "none")


def choose_isolation(name: str | None = None, require: bool = False) -> Isolation:
    """The strongest layer this machine allows (or the one named), fresh for one sandbox.

    `require`: refuse to fall back to no isolation (grade-all, Gradescope)."""
    binary, root = bwrap_binary(), running_as_root()
    # root on the host never runs a worker as itself; root inside a user namespace (whose
    # uid 0 is an ordinary user outside) cannot switch uid, and needs not
    as_root = root and root_on_the_host()
    if name in (None, "bubblewrap") and binary and bwrap_works(binary, as_root):
        return Bubblewrap(binary, as_root)
    if name == "bubblewrap":
        raise IsolationUnavailable("bubblewrap cannot run here (install the bubblewrap package, "
                                   "and allow unprivileged user namespaces)")
    if name in (None, "fresh-uid") and root and interpreter_reachable():
        return FreshUid()
    if name == "fresh-uid":
        raise IsolationUnavailable("the fresh-uid layer needs root and an interpreter that other "
                                   "users can reach")
    if require:
        raise IsolationUnavailable("no isolation layer works on this machine (install bubblewrap, "
                                   "or run as root); pass --allow-unisolated to grade anyway")
    if name is None and root_on_the_host():
        raise IsolationUnavailable("no isolation layer works here, and unisolated code would run "
                                   "with root's files: install bubblewrap, or pass --isolation none")
    return Unisolated()
