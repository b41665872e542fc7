"""The files a sandboxed worker may see, and their warm-up (the page-cache timing channel).

A worker that escaped the static rules can warm a cold file by reading it, and a later
worker (another stage, another grading) can tell warm from cold by timing its own read: a
bit per file. So the bubblewrap view holds only the files a worker needs (not /usr
wholesale), and the grader reads every one of them before each worker starts: every file a
worker can open is already cached whatever an earlier worker did, and there is no bit left
to carry (docs/security.md). The files are copied into a folder of their own at their real paths
(grader/sandbox/view_store.py: on a tmpfs, once per user and interpreter), whose top folders
bwrap binds: a few mounts rather than one per file (bwrap re-reads the mount table for each;
a thousand binds took 6 s to start a worker). A tmpfs, because a disk's file system remembers
a name looked up and not found, which a later worker could time too.

The needed files are measured once per process by a census: the worker's interpreter, with
the worker's flags and site folders, imports what the worker and its own-bot mode import and
every module the static rules allow, runs the kit's bot loop on a few lines and prints a
traceback, while an audit hook records the files it opens; add every module's source and
cached bytecode, the shared libraries it mapped (with the names the loader opens them by)
and the interpreter's startup files. `strace -f` over full gradings of the reference, the
starter and the calibration bots found five files a worker opened outside this list and its
stage, none of them needed (docs/security.md).
"""
from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from pathlib import Path

from ..kit import KIT_ROOT
from ..errors import IsolationUnavailable
from ..integrity.rule_tables import ALLOWED_MODULES

SYSTEM_FILES = ("/etc/ld.so.cache", "/etc/localtime")
# what the worker imports itself (grader/sandbox/worker.py, seccomp.py) besides the kit's code
WORKER_MODULES = ("ctypes", "importlib.util", "json", "platform", "resource", "runpy", "signal", "struct",
                  "traceback", "click", "model.protocol", "model.lm")

CENSUS = r"""
import importlib, io, json, os, pkgutil, sys, traceback
OPENED = set()

def audit(event, args):
    if event == "open" and isinstance(args[0], (str, bytes)):
        OPENED.add(os.fsdecode(args[0]))

sys.addaudithook(audit)
sys.path[0:0] = [sys.argv[1]]
sys.path += sys.argv[2].split(os.pathsep)
import encodings
for name in [*sys.argv[3].split(), *("encodings." + m.name for m in pkgutil.iter_modules(encodings.__path__))]:
    try:
        importlib.import_module(name)
    except ImportError:
        pass  # a module of another platform (encodings.mbcs)
from model.protocol import run_bot
run_bot(lambda prefixes: None, lambda name: True, ["fig"], ["apple"], argv=["--seed", "1"])
try:
    raise ValueError("a traceback reads the source of every frame")
except ValueError:
    traceback.print_exc(file=io.StringIO())
files = set(OPENED)
for module in list(sys.modules.values()):
    files.update(p for p in (getattr(module, "__file__", None), getattr(module, "__cached__", None)) if p)
with open("/proc/self/maps") as maps:
    files.update(line.split(None, 5)[5].strip() for line in maps if "/" in line)
print(json.dumps(sorted(files)))
"""


def site_dirs() -> list[Path]:
    """Where the worker's third-party packages (numpy, regex) live."""
    import numpy
    import regex
    return sorted({Path(m.__file__).resolve().parent.parent for m in (numpy, regex)})


def worker_env(hash_seed: int) -> dict[str, str]:
    """The worker's environment, no variable of the grader's (grader/sandbox/client.py starts
    it with this one). The hash seed is never a fixed one: a seed every grading pinned (it was
    0) told a hook, through set order, that it was being graded."""
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONHASHSEED": str(hash_seed),
           "PYTHONDONTWRITEBYTECODE": "1", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
           "GUARDRAIL_SITE": os.pathsep.join(map(str, site_dirs()))}
    for key in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):  # needed by some CPUs' OpenBLAS
        if key in os.environ:
            env[key] = os.environ[key]
    return env


def census() -> list[str]:
    """The files a worker opens or maps, as it names them (run in a process like a worker's)."""
    modules = " ".join([*WORKER_MODULES, *sorted(ALLOWED_MODULES - {"__future__"})])
    try:
        env = worker_env(hash_seed=0)  # which seed does not change what is opened
        proc = subprocess.run([sys.executable, "-S", "-s", "-B", "-c", CENSUS, str(KIT_ROOT),
                               env["GUARDRAIL_SITE"], modules], input=b"ma\nap\n",
                              env=env, cwd="/", capture_output=True, timeout=120)
        return json.loads(proc.stdout.splitlines()[-1])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        raise IsolationUnavailable("cannot list the files the worker needs (its interpreter failed to "
                                   "import the kit's model code, numpy, regex and click)") from None


def startup_files() -> list[str]:
    """What the interpreter reads before any audit hook: itself, its loader, pyvenv.cfg, the
    standard library's landmark."""
    exe = Path(sys.executable)
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    found = [str(exe), elf_interpreter(exe.resolve()), *SYSTEM_FILES,
             *(str(p / "pyvenv.cfg") for p in (exe.parent, exe.parent.parent)),
             str(Path(sys.base_prefix) / "lib" / version / "os.py")]
    return [path for path in found if path and os.path.isfile(path)]


def elf_interpreter(executable: Path) -> str | None:
    """The dynamic loader an ELF executable names (its PT_INTERP), None if it names none."""
    try:
        with open(executable, "rb") as f:
            head = f.read(1 << 16)
    except OSError:
        return None
    if head[:4] != b"\x7fELF" or head[4] != 2:  # 64-bit only (x86_64, aarch64)
        return None
    order = "little" if head[5] == 1 else "big"
    phoff, size, count = (int.from_bytes(head[a:b], order) for a, b in ((32, 40), (54, 56), (56, 58)))
    for entry in range(phoff, phoff + size * count, size):
        if int.from_bytes(head[entry:entry + 4], order) == 3:  # PT_INTERP
            start, length = (int.from_bytes(head[entry + a:entry + a + 8], order) for a in (8, 32))
            return head[start:start + length].rstrip(b"\0").decode()
    return None


def loader_names(real: Path) -> list[Path]:
    """The symbolic links in a shared library's folder that lead to it (libz.so.1 for
    libz.so.1.2.13): the names the loader opens it by."""
    if ".so" not in real.name:
        return []
    try:
        entries = list(os.scandir(real.parent))
    except OSError:
        return []
    return [Path(e.path) for e in entries if e.is_symlink() and Path(e.path).resolve() == real]


def chain(path: Path, links: dict[str, str], depth: int = 0) -> Path:
    """The real file a path leads to; every symbolic link met on the way is added to links
    (link -> target), so the view can rebuild the way and bind the file at its real path."""
    here = Path("/")
    for part in path.parts[1:]:
        if part == "..":
            here = here.parent  # here is real: its parent is too
        elif part != ".":
            here = here / part
            if here.is_symlink() and depth < 40:
                links[str(here)] = os.readlink(here)
                here = chain(here.parent / links[str(here)], links, depth + 1)
    return here


@functools.cache
def needed_view() -> tuple[tuple[tuple[str, str], ...], tuple[str, ...]]:
    """The worker's view outside its stage, once per process: the symbolic links to make
    ((target, link)) and the real files to bind, read-only, at their own paths."""
    links: dict[str, str] = {}
    files: set[str] = set()
    for name in {*census(), *startup_files()}:
        path = Path(name)
        if not path.is_absolute() or not path.is_file() or path.resolve().is_relative_to(KIT_ROOT):
            continue  # the kit's code and weights are staged; relative names are in the stage
        files.update(str(chain(named, links)) for named in [path, *loader_names(path.resolve())])
    ordered = sorted(links, key=lambda link: (link.count("/"), link))
    return tuple((links[link], link) for link in ordered), tuple(sorted(files))
