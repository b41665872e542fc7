"""Hermetic leftover checks (only this test's own sandboxes count, so the tests pass while
another grading runs on the same machine), and hostile hooks that try each family of
syscalls the worker's filter refuses."""
import os
import platform
from pathlib import Path

import pytest

import grader.sandbox.isolation
from submissions import with_hooks


def descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def processes_of(uids: set[int]) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and entry.stat().st_uid in uids:
                found.append(int(entry.name))
        except OSError:
            continue
    return found


@pytest.fixture
def own_sandboxes(monkeypatch):
    """The fresh uids this test's sandboxes used; afterwards none of them, and no child of
    this process, may still run."""
    issued: set[int] = set()
    original = grader.sandbox.isolation.fresh_uid

    def recording() -> int:
        uid = original()
        issued.add(uid)
        return uid

    monkeypatch.setattr(grader.sandbox.isolation, "fresh_uid", recording)
    before = descendants(os.getpid())
    yield issued
    assert processes_of(issued) == []
    assert descendants(os.getpid()) - before == set()


# Hostile syscalls by number, copied from the kernel's tables (asm/unistd_64.h and
# asm-generic/unistd.h), independently of grader/sandbox/seccomp.py, which lists only what it allows
HOSTILE_NUMBERS = {name: dict(zip(("x86_64", "aarch64"), numbers)) for name, numbers in {
    "io_uring_setup": (425, 425), "io_uring_enter": (426, 426), "io_uring_register": (427, 427),
    "add_key": (248, 217), "request_key": (249, 218), "keyctl": (250, 219), "mincore": (27, 232),
    "readahead": (187, 213), "cachestat": (451, 451), "connect": (42, 203), "bind": (49, 200),
    "sendto": (44, 206), "sendmsg": (46, 211), "accept4": (288, 242), "clone": (56, 220),
    "clone3": (435, 435), "execve": (59, 221), "unshare": (272, 97), "setns": (308, 268),
    "ptrace": (101, 117), "kill": (62, 129), "perf_event_open": (298, 241), "bpf": (321, 280),
    "userfaultfd": (323, 282), "process_vm_readv": (310, 270), "mount": (165, 40),
    "memfd_create": (319, 279), "shmget": (29, 194), "futex": (202, 98)}.items()}

# What a hook runs before its attempts: raw syscalls by number, a page of a file it may read
PROBE_PRELUDE = """
import ctypes, errno, os, socket, threading
LIBC = ctypes.CDLL(None, use_errno=True)
LIBC.syscall.restype = LIBC.mmap.restype = ctypes.c_long
NR = {numbers!r}
FD = os.open(__file__, os.O_RDONLY)
PAGE = ctypes.c_void_p(LIBC.mmap(None, 4096, 1, 2, FD, 0))  # PROT_READ, MAP_PRIVATE
BUF = ctypes.create_string_buffer(256)

def raw(name, *args):
    return lambda: LIBC.syscall(NR[name], *args)

def fork():
    if os.fork() == 0:
        os._exit(0)

def outcome(attempt):
    ctypes.set_errno(0)
    try:
        result = attempt()
    except OSError as exc:
        return errno.errorcode.get(exc.errno, str(exc.errno))
    except Exception as exc:
        return type(exc).__name__
    if isinstance(result, int) and result < 0:
        return errno.errorcode.get(ctypes.get_errno(), '?')
    return 'ok'
"""

# family: {attempt: (code, what the filter answers)}; every attempt must run and be refused
FAMILIES = {
    "io_uring": {
        "setup": ("raw('io_uring_setup', 8, BUF)", "EPERM"),
        "enter": ("raw('io_uring_enter', 0, 1, 0, 0, None, 0)", "EPERM"),
        "register": ("raw('io_uring_register', 0, 0, None, 0)", "EPERM")},
    "keyrings": {
        "add_key": ("raw('add_key', b'user', b'guardrail', b'x', 1, -2)", "EPERM"),
        "request_key": ("raw('request_key', b'user', b'guardrail', None, -2)", "EPERM"),
        "keyctl": ("raw('keyctl', 0, -3, 0)", "EPERM")},
    "page cache": {
        "mincore": ("raw('mincore', PAGE, 4096, BUF)", "EPERM"),
        "fadvise": ("lambda: os.posix_fadvise(FD, 0, 0, os.POSIX_FADV_DONTNEED)", "EPERM"),
        "readahead": ("raw('readahead', FD, 0, 4096)", "EPERM"),
        "cachestat": ("raw('cachestat', FD, BUF, BUF, 0)", "EPERM"),
        "nowait": ("lambda: os.preadv(FD, [bytearray(8)], 0, os.RWF_NOWAIT)", "ENOTSUP"),  # glibc: ENOSYS
        "willneed": ("lambda: LIBC.madvise(PAGE, 4096, 3)", "EPERM"),
        "pageout": ("lambda: LIBC.madvise(PAGE, 4096, 21)", "EPERM"),
        "dontneed": ("lambda: LIBC.madvise(PAGE, 4096, 4)", "ok")},  # what allocators use
    "shared memory": {  # tests/channels.py: a futex across two sandboxes
        "map_shared": ("lambda: LIBC.mmap(None, 4096, 1, 1, FD, 0)", "EPERM"),
        "map_shared_validate": ("lambda: LIBC.mmap(None, 4096, 1, 3, FD, 0)", "EPERM"),
        "futex_shared": ("raw('futex', PAGE, 1, 1, None, None, 0)", "EPERM"),  # FUTEX_WAKE
        "futex_private": ("raw('futex', PAGE, 129, 1, None, None, 0)", "ok")},  # what glibc uses
    "sockets": {
        "inet": ("lambda: socket.socket(socket.AF_INET)", "EPERM"),
        "unix": ("lambda: socket.socket(socket.AF_UNIX)", "EPERM"),
        "pair": ("socket.socketpair", "EPERM"),
        "connect": ("raw('connect', 1, BUF, 16)", "EPERM"),
        "bind": ("raw('bind', 1, BUF, 16)", "EPERM"),
        "sendto": ("raw('sendto', 1, BUF, 1, 0, None, 0)", "EPERM"),
        "sendmsg": ("raw('sendmsg', 1, BUF, 0)", "EPERM"),
        "accept4": ("raw('accept4', 1, None, None, 0)", "EPERM")},
    "processes": {
        "fork": ("fork", "EPERM"),
        "spawn": ("lambda: os.posix_spawn('/bin/true', ['true'], {})", "EPERM"),
        "exec": ("lambda: os.execv('/bin/true', ['true'])", "EPERM"),
        "thread": ("lambda: threading.Thread(target=int).start()", "RuntimeError"),
        "clone": ("raw('clone', 17, 0, 0, 0, 0)", "EPERM"),
        "clone3": ("raw('clone3', BUF, 88)", "ENOSYS"),
        "execve": ("raw('execve', b'/bin/true', None, None)", "EPERM")},
    "kernel": {
        "unshare": ("raw('unshare', 0x10000000)", "EPERM"),
        "setns": ("raw('setns', 0, 0)", "EPERM"),
        "mount": ("raw('mount', b'none', b'/nonexistent-guardrail', b'tmpfs', 0, None)", "EPERM"),
        "ptrace": ("raw('ptrace', 0, 0, 0, 0)", "EPERM"),
        "kill": ("raw('kill', 1, 0)", "EPERM"),
        "perf": ("raw('perf_event_open', BUF, 0, -1, -1, 0)", "EPERM"),
        "bpf": ("raw('bpf', 0, BUF, 0)", "EPERM"),
        "uffd": ("raw('userfaultfd', 0)", "EPERM"),
        "vm_readv": ("raw('process_vm_readv', 1, BUF, 1, BUF, 1, 0)", "EPERM"),
        "memfd": ("raw('memfd_create', b'x', 0)", "EPERM"),
        "shmget": ("raw('shmget', 0, 4096, 0o1666)", "EPERM")},
    "files": {
        "tmp": ("lambda: open('/tmp/guardrail-probe', 'w')", "EPERM"),
        "shm": ("lambda: open('/dev/shm/guardrail-probe', 'a')", "EPERM"),
        "here": ("lambda: open('guardrail-probe', 'x')", "EPERM"),
        "read": ("lambda: open(__file__, 'rb').close()", "ok")},  # reading stays allowed
}


def probe_hooks(family: str) -> str:
    """An editable part whose is_safe_request runs every attempt of the family and answers
    `name:outcome ...` (errno names), so a test sees that each one ran."""
    attempts = ", ".join(f"{name!r}: {code}" for name, (code, _) in FAMILIES[family].items())
    numbers = {name: by_machine[platform.machine()] for name, by_machine in HOSTILE_NUMBERS.items()}
    return with_hooks(prelude=PROBE_PRELUDE.format(numbers=numbers) + f"ATTEMPTS = {{{attempts}}}",
                      request_body="return ' '.join(f'{k}:{outcome(v)}' for k, v in ATTEMPTS.items())")
