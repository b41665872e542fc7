"""Start bubblewrap as a fresh unprivileged uid when the grader is root, even where the
interpreter lives in a folder that uid cannot reach (pyenv under /root, mode 0700).

Run as root: `python -I -S -B launcher.py UID GID DIR... -- BWRAP ARGS...`. In a private mount
namespace of its own (nothing propagates to the host), each unreachable ancestor of a DIR is
covered by an empty root-owned tmpfs (mode 0755) holding only the DIRs below it, bound back
at their own paths; then it drops to UID:GID with no supplementary groups and executes
bwrap, which sees (and binds into the sandbox) the same paths as before. Standard library
only: the grader's package is not imported here.
"""
from __future__ import annotations

import ctypes
import os
import stat
import sys
from pathlib import Path

CLONE_NEWNS = 0x00020000
MS_BIND, MS_REC, MS_PRIVATE = 0x1000, 0x4000, 0x40000


def unreachable_top(path: Path) -> Path | None:
    """The highest folder above path that 'others' cannot traverse, if any."""
    blocked = [p for p in reversed(path.parents) if not stat.S_IMODE(p.stat().st_mode) & stat.S_IXOTH]
    return blocked[0] if blocked else None


def check(result: int, doing: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise SystemExit(f"guardrail launcher: {doing}: {os.strerror(err)}")


def expose(libc, dirs: list[Path]) -> None:
    """Make every dir reachable by other users, in this mount namespace only."""
    covers = {d: unreachable_top(d) for d in dirs}
    covers = {d: top for d, top in covers.items() if top is not None}
    # opened before any cover hides them; bound through /proc/self/fd, which needs no search
    fds = {d: os.open(d, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC) for d in covers}
    for top in sorted(set(covers.values())):
        check(libc.mount(b"tmpfs", str(top).encode(), b"tmpfs", 0, b"mode=0755,size=1m"), f"cover {top}")
    for d, fd in fds.items():
        d.mkdir(parents=True, exist_ok=True)
        check(libc.mount(f"/proc/self/fd/{fd}".encode(), str(d).encode(), None, MS_BIND | MS_REC, None),
              f"bind {d}")
        os.close(fd)


def main() -> None:
    args = sys.argv[1:]
    split = args.index("--")
    (uid, gid), dirs, command = map(int, args[:2]), [Path(d) for d in args[2:split]], args[split + 1:]
    libc = ctypes.CDLL(None, use_errno=True)
    check(libc.unshare(CLONE_NEWNS), "unshare the mount namespace")
    check(libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "make mounts private")
    expose(libc, dirs)
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    os.execv(command[0], command)


if __name__ == "__main__":
    main()
