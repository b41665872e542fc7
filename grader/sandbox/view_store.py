"""Where the worker's view (grader/sandbox/view.py) is made, and for how long: on a tmpfs,
once per user and interpreter, shared by every grading after and checked against its sources
each time; else on disk, once per process. Sharing is safe because every worker start warms
the whole view (grader/sandbox/isolation.py): no worker can leave a file cold for another.
"""
from __future__ import annotations

import atexit
import functools
import hashlib
import json
import os
import shutil
import stat
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..integrity.rule_tables import ALLOWED_MODULES
from ..kit import KIT_ROOT
from .view import CENSUS, SYSTEM_FILES, WORKER_MODULES, needed_view, site_dirs


# the sandbox's own mounts: the view's files below them are bound one folder down, after them
OWN_MOUNTS = ("dev", "proc", "tmp")


@dataclass(frozen=True)
class View:
    """The needed files copied at their real paths below `tree` (links rebuilt), the paths
    of those files inside the sandbox, and the (tree folder, path inside) pairs to bind."""
    tree: Path
    files: tuple[str, ...]
    binds: tuple[tuple[str, str], ...]


# where the view is made when it can be: a tmpfs keeps no entry for a name looked up and not
# found, so a worker's failed lookups leave nothing a later worker could time (on a disk's
# file system a name looked up once is found missing 2-3 times faster after: a bit per name)
NAME_SAFE = Path("/dev/shm")


def on_tmpfs(folder: Path) -> bool:
    try:
        mounts = Path("/proc/self/mounts").read_text().splitlines()
    except OSError:
        return False
    return any(line.split()[1:3] == [str(folder), "tmpfs"] for line in mounts)


@functools.cache
def view_tree(parent: Path) -> View:
    """The worker's view outside its stage. On a tmpfs it is made once per user and
    interpreter and shared by every grading after (census and copy cost 2-4 s a process;
    a shared view is safe because every worker start warms all of it); else in parent, a
    folder a fresh uid reaches, once per process and removed when the process exits."""
    if on_tmpfs(NAME_SAFE):
        try:
            return shared_view(NAME_SAFE)
        except OSError:  # full (Docker gives /dev/shm 64 MB): on disk then
            pass
    remove_orphaned_views(parent)
    tree = Path(tempfile.mkdtemp(prefix=f"guardrail-view-{os.getpid()}-", dir=parent))
    atexit.register(shutil.rmtree, tree, True)
    return fill_view(tree, *needed_view())


def view_key() -> str:
    """What decides the view's files, short of listing them: this code's census, the
    interpreter, its site folders, the modules the rules allow, and the user."""
    parts = [CENSUS, *WORKER_MODULES, *sorted(ALLOWED_MODULES), *SYSTEM_FILES, sys.executable,
             os.path.realpath(sys.executable), sys.version, str(KIT_ROOT), *map(str, site_dirs()), str(os.geteuid())]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:20]


def shared_view(parent: Path) -> View:
    """The view of this user and interpreter in parent, reused while every file it copied
    is unchanged (size and modification time), else made anew beside it and swapped in."""
    remove_orphaned_views(parent)
    final = parent / f"guardrail-view-u{os.geteuid()}-{view_key()}"
    reused = reusable(final)
    if reused:
        return reused
    links, files = needed_view()
    build = Path(tempfile.mkdtemp(prefix=f"guardrail-view-{os.getpid()}-", dir=parent))
    try:
        view = fill_view(build / "tree", links, files)
        sources = {path: list(source_stamp(path)) for path in files}
        (build / "manifest.json").write_text(json.dumps({"links": links, "files": files, "sources": sources}))
        build.chmod(0o755)
        if final.exists():  # stale (a package changed): out of the way, swept once unused
            final.rename(parent / f"guardrail-view-{os.getpid()}-stale-{final.name}")
        build.rename(final)
    except OSError:
        shutil.rmtree(build, ignore_errors=True)
        if reused := reusable(final):  # another grader made it meanwhile
            return reused
        raise
    return View(final / "tree", view.files, view_binds(final / "tree"))


def source_stamp(path: str) -> tuple[int, int]:
    st = os.stat(path)
    return st.st_size, st.st_mtime_ns


def reusable(folder: Path) -> View | None:
    """The view in folder if it is ours, closed to others' writes, complete (its manifest is
    written last) and its sources unchanged; else None."""
    try:
        st = folder.lstat()
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid() or st.st_mode & 0o022:
            return None
        manifest = json.loads((folder / "manifest.json").read_text())
        if any(tuple(stamp) != source_stamp(path) for path, stamp in manifest["sources"].items()):
            return None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    tree = folder / "tree"
    return View(tree, tuple(manifest["files"]), view_binds(tree))


def fill_view(tree: Path, links, files) -> View:
    """Copy the needed files into tree at their real paths, links rebuilt."""
    tree.mkdir(mode=0o755, exist_ok=True)
    for link in links:
        (tree / link[1].lstrip("/")).parent.mkdir(parents=True, exist_ok=True, mode=0o755)
        (tree / link[1].lstrip("/")).symlink_to(link[0])
    for path in files:
        copy = tree / path.lstrip("/")
        copy.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
        shutil.copy2(path, copy)  # its times too: a module's cached bytecode is checked against them
        copy.chmod(0o755 if os.access(path, os.X_OK) else 0o644)
    for folder in [tree, *(p for p in tree.rglob("*") if p.is_dir() and not p.is_symlink())]:
        folder.chmod(0o755)  # whatever the umask: the fresh uid reads it
    return View(tree, tuple(files), view_binds(tree))


def view_binds(tree: Path) -> tuple[tuple[str, str], ...]:
    """bwrap's binds of the tree: its top folders, and one folder down below the sandbox's own mounts."""
    binds = [(str(child), f"/{top.name}/{child.name}") for top in sorted(tree.iterdir()) if top.name in OWN_MOUNTS
             for child in sorted(top.iterdir())]
    binds += [(str(top), f"/{top.name}") for top in sorted(tree.iterdir()) if top.name not in OWN_MOUNTS]
    return tuple(binds)


def remove_orphaned_views(parent: Path) -> None:
    """Views our processes left: one being made or set aside (stale) by a process that is gone
    (killed: 111 MB each), and a per-process one whose process is gone."""
    for folder in parent.glob("guardrail-view-*-*"):
        pid = folder.name.split("-")[2]
        try:
            if not pid.isdigit() or folder.lstat().st_uid != os.geteuid():
                continue  # the shared view (guardrail-view-uUID-KEY), or another user's
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            continue  # alive (another user's), or gone already


def warm(paths: list[str] | tuple[str, ...]) -> None:
    """Read every file through once, so each of its pages is in the page cache (sent to
    /dev/null in the kernel: half the time of reading it into a buffer)."""
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        for path in paths:
            try:
                fd = os.open(path, os.O_RDONLY)
            except OSError:
                continue  # gone: bwrap fails to bind it and the worker does not start
            try:
                offset, size = 0, os.fstat(fd).st_size
                while offset < size and (sent := os.sendfile(null, fd, offset, size - offset)):
                    offset += sent
            finally:
                os.close(fd)
    finally:
        os.close(null)
