"""What a sandbox may leave behind on the host, and how the layers take it away: processes
of a uid, files it owned in temp folders, its SysV IPC objects, and bwrap's orphans."""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path


# how long a sweep waits for processes that are dying: 50 looks, 20 ms apart (each look
# reads /proc: looking more often slows a loaded machine's other sweeps)
SWEEP_PAUSE, SWEEP_TRIES = 0.02, 50


def kill_uid(uid: int) -> None:
    """SIGKILL every live process owned by uid until none is left (zombies are dead already)."""
    for _ in range(SWEEP_TRIES):
        found = False
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                if entry.stat().st_uid != uid or (entry / "stat").read_text().split(") ")[1][0] == "Z":
                    continue
                found = True
                os.kill(int(entry.name), signal.SIGKILL)
            except (OSError, IndexError):
                continue
        if not found:
            return
        time.sleep(SWEEP_PAUSE)


PR_SET_CHILD_SUBREAPER = 36
# the workers this process started and has not waited for yet: several sandboxes may run at
# once (a grading starts its stages' workers together), and each waits for its own
STARTED: set[int] = set()


def adopt_orphans() -> None:
    """Become the reaper of our descendants' orphans (bwrap's inner process outlives the
    outer one by a moment), so they never linger as zombies under the host's init."""
    import ctypes
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1)
    except (OSError, AttributeError):
        pass


def reap_adopted() -> None:
    """Collect the zombies reparented to this process (never a Popen's own child: those
    are in STARTED until their sandbox waits for them)."""
    me = str(os.getpid())
    for _ in range(SWEEP_TRIES):
        left = False
        for entry in Path("/proc").iterdir():
            try:
                head, tail = (entry / "stat").read_text().rsplit(")", 1)
                fields = tail.split()
            except (OSError, ValueError):
                continue
            if fields[1] != me or not head.endswith("(bwrap") or int(entry.name) in STARTED:
                continue
            if fields[0] == "Z":
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(int(entry.name), os.WNOHANG)
            else:
                left = True
        if not left:
            return
        time.sleep(SWEEP_PAUSE)


IPCRM_BATCH = 500  # ids per ipcrm call, well inside the argument limit
SWEPT_FOLDERS = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock", "/var/lock", "/dev/mqueue")


def remove_tree(path: str | Path) -> None:
    """Delete a folder however deep a hostile process made it (shutil.rmtree recurses)."""
    try:
        shutil.rmtree(path, ignore_errors=True)
    except RecursionError:
        subprocess.run(["rm", "-rf", "--one-file-system", "--", str(path)], capture_output=True)


def remove_owned_by(folder: Path, uid: int, depth: int = 4) -> None:
    """Delete every file or folder under `folder` (`depth` levels down) that uid owns,
    never following links."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        try:
            owner = entry.stat(follow_symlinks=False).st_uid
            if owner == uid:
                if entry.is_dir(follow_symlinks=False):
                    remove_tree(entry.path)
                else:
                    os.unlink(entry.path)
            elif depth > 1 and entry.is_dir(follow_symlinks=False):
                remove_owned_by(Path(entry.path), uid, depth - 1)
        except OSError:
            continue


def remove_sysv_ipc(uid: int) -> None:
    """Remove SysV shared memory, semaphores and message queues that uid created."""
    ipcrm = shutil.which("ipcrm")
    if not ipcrm:
        return
    for kind, flag, uid_col in (("shm", "-m", 7), ("sem", "-s", 4), ("msg", "-q", 7)):
        try:
            rows = Path(f"/proc/sysvipc/{kind}").read_text().splitlines()[1:]
        except OSError:
            continue
        ids = [cols[1] for cols in map(str.split, rows) if len(cols) > uid_col and cols[uid_col] == str(uid)]
        for start in range(0, len(ids), IPCRM_BATCH):  # one ipcrm per batch: a hook may make thousands
            subprocess.run([ipcrm, *(arg for i in ids[start:start + IPCRM_BATCH] for arg in (flag, i))],
                           capture_output=True)
