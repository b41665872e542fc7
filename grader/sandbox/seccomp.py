"""The worker's syscall filter: an allow-list (default deny, as Docker's default profile and
Chromium's renderer do) that the worker puts on itself once the kit's modules are imported,
before the submission's code runs - whatever the isolation layer, even where the worker's
uid is 0. Standard library only: the worker imports this file (staged as guardrail_seccomp).

What stays allowed is what the interpreter needs to compute (numpy, regex, unicodedata,
importing and reporting the submission) and to talk on its pipes, measured with
`strace -f` on full gradings of every calibration bot, the reference and the smoke stage's
own-bot run (docs/security.md lists it and why). Everything else fails with EPERM: no
sockets, no process, thread or program, no file opened for writing, no shared mapping or
shared futex (a futex word in a file two sandboxes map wakes across them), no keyrings, io_uring,
namespaces, mounts, tracing, signals, perf or bpf, and no page-cache probes (mincore,
fadvise64, readahead, cachestat, preadv2; madvise only with the advice the allocators use).
Newer variants that glibc or Python retry with an older call on ENOSYS get ENOSYS.

A classic BPF program over `struct seccomp_data` (nr at 0, arch at 4, argument i's low
word at 16 + 8 i: every filtered argument is an int or unsigned int). Another ABI (i386 on
x86_64) is denied; x86_64's x32 numbering is refused outright; on an unknown machine
nothing is installed and the report says so.
"""
from __future__ import annotations

import ctypes
import platform
import struct

# the allowed and ENOSYS syscalls' numbers, one table per machine (x86_64: asm/unistd_64.h;
# aarch64: asm-generic/unistd.h, which has no stat, lstat or access: only the *at forms)
NUMBERS = {
    "x86_64": {
        "read": 0, "write": 1, "close": 3, "stat": 4, "fstat": 5, "lstat": 6, "lseek": 8, "mmap": 9,
        "mprotect": 10, "munmap": 11, "brk": 12, "rt_sigaction": 13, "rt_sigprocmask": 14,
        "rt_sigreturn": 15, "ioctl": 16, "pread64": 17, "readv": 19, "writev": 20, "access": 21,
        "sched_yield": 24, "mremap": 25, "madvise": 28, "nanosleep": 35, "getpid": 39, "exit": 60,
        "fcntl": 72, "gettimeofday": 96, "gettid": 186, "futex": 202, "getdents64": 217,
        "restart_syscall": 219, "clock_gettime": 228, "clock_getres": 229, "clock_nanosleep": 230,
        "exit_group": 231, "openat": 257, "newfstatat": 262, "faccessat": 269, "getrandom": 318,
        "preadv2": 327, "pwritev2": 328, "statx": 332, "rseq": 334, "clone3": 435, "close_range": 436,
        "openat2": 437, "faccessat2": 439},
    "aarch64": {
        "fcntl": 25, "ioctl": 29, "faccessat": 48, "openat": 56, "close": 57, "getdents64": 61,
        "lseek": 62, "read": 63, "write": 64, "readv": 65, "writev": 66, "pread64": 67,
        "newfstatat": 79, "fstat": 80, "exit": 93, "exit_group": 94, "futex": 98, "nanosleep": 101,
        "clock_gettime": 113, "clock_getres": 114, "clock_nanosleep": 115, "sched_yield": 124,
        "restart_syscall": 128, "rt_sigaction": 134, "rt_sigprocmask": 135, "rt_sigreturn": 139,
        "gettimeofday": 169, "getpid": 172, "gettid": 178, "brk": 214, "munmap": 215, "mremap": 216,
        "mmap": 222, "mprotect": 226, "madvise": 233, "getrandom": 278, "preadv2": 286,
        "pwritev2": 287, "statx": 291, "rseq": 293, "clone3": 435, "close_range": 436, "openat2": 437,
        "faccessat2": 439},
}
AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}

ALLOWED = (
    "read", "write", "readv", "writev", "pread64", "lseek", "close",  # its pipes, files it reads
    "stat", "fstat", "lstat", "newfstatat", "access", "faccessat", "getdents64",  # imports
    "brk", "munmap", "mremap", "mprotect",  # memory (mmap below; PROT_EXEC: extension modules)
    "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "restart_syscall",  # the runtime
    "clock_gettime", "clock_getres", "gettimeofday", "nanosleep", "clock_nanosleep",  # time
    "getrandom", "getpid", "gettid", "sched_yield", "exit", "exit_group")
# syscall: (argument, what it may be); any other value is EPERM
O_WRITING = 0o1 | 0o2 | 0o100 | 0o1000 | 0o2000  # O_WRONLY O_RDWR O_CREAT O_TRUNC O_APPEND
MAP_SHARED = 0x01  # MAP_SHARED_VALIDATE (0x03) has this bit too
FUTEX_PRIVATE_FLAG = 128
ARGUMENT_RULES = {
    "openat": (2, {"none of": O_WRITING}),  # read only: nothing a later worker could find
    # a shared futex on a shared mapping of a file every sandbox can read (under /usr) wakes
    # a worker of another sandbox: the interpreter's futexes are all private (measured)
    "futex": (1, {"has": FUTEX_PRIVATE_FLAG}),
    "mmap": (3, {"none of": MAP_SHARED}),  # private mappings only: nothing another process sees
    "ioctl": (1, {"one of": (0x5401,)}),  # TCGETS: isatty(); never TIOCSTI and its kin
    "fcntl": (1, {"one of": (1, 2, 3)}),  # F_GETFD F_SETFD F_GETFL; never F_SETOWN (SIGIO)
    # glibc's and Python's allocators free with DONTNEED or FREE; numpy asks for HUGEPAGE;
    # never WILLNEED, COLD, PAGEOUT or POPULATE_*: they touch or probe the page cache
    "madvise": (2, {"one of": (4, 8, 14, 15)}),
}
ENOSYS = ("clone3", "faccessat2", "statx", "close_range", "openat2", "rseq", "preadv2", "pwritev2")

X32_BIT = 0x40000000  # x86_64's x32 ABI: another numbering, refused outright
LD_W_ABS, JEQ_K, JGE_K, JSET_K, RET_K = 0x20, 0x15, 0x35, 0x45, 0x06
RET_ALLOW, RET_ERRNO = 0x7FFF0000, 0x00050000
EPERM, ENOSYS_ERRNO = 1, 38
PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 38, 22, 2
PR_SET_PDEATHSIG = 1  # not the filter's: the worker and grade-all's children read it here


class SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_char_p)]


def program(machine: str) -> list[tuple[int, int, int, int]]:
    """(code, jt, jf, k) instructions; a jump counts the instructions it skips."""
    numbers = NUMBERS[machine]
    asm: list[tuple] = [(LD_W_ABS, None, None, 4), (JEQ_K, 1, 0, AUDIT_ARCH[machine]), ("deny",),
                        (LD_W_ABS, None, None, 0)]
    if machine == "x86_64":
        asm.append((JGE_K, "deny", None, X32_BIT))
    asm += [(JEQ_K, "allow", None, numbers[name]) for name in ALLOWED if name in numbers]
    asm += [(JEQ_K, "enosys", None, numbers[name]) for name in ENOSYS]
    asm += [(JEQ_K, f"arg {name}", None, numbers[name]) for name in ARGUMENT_RULES]
    asm.append(("deny",))  # the default
    for name, (arg, rule) in ARGUMENT_RULES.items():
        asm += [("label", f"arg {name}"), (LD_W_ABS, None, None, 16 + 8 * arg)]
        if "none of" in rule:
            asm += [(JSET_K, "deny", "allow", rule["none of"])]
        elif "has" in rule:  # one flag, which must be set
            assert rule["has"].bit_count() == 1
            asm += [(JSET_K, "allow", "deny", rule["has"])]
        else:
            asm += [(JEQ_K, "allow", None, value) for value in rule["one of"]] + [("deny",)]
    asm += [("label", "deny"), ("deny",), ("label", "allow"), (RET_K, None, None, RET_ALLOW),
            ("label", "enosys"), (RET_K, None, None, RET_ERRNO | ENOSYS_ERRNO)]
    return assemble(asm)  # classic BPF jumps only forward: the shared returns come last


def assemble(asm: list[tuple]) -> list[tuple[int, int, int, int]]:
    """Resolve labels (a jump target is a label or a count) into forward jump lengths."""
    labels, out = {}, []
    for ins in asm:
        if ins[0] == "label":
            labels[ins[1]] = len(out)
        else:
            out.append((RET_K, 0, 0, RET_ERRNO | EPERM) if ins[0] == "deny" else ins)

    def offset(target, at: int) -> int:
        jump = 0 if target is None else target if isinstance(target, int) else labels[target] - at - 1
        assert 0 <= jump < 256, "a classic BPF jump reaches at most 255 instructions"
        return jump
    return [(code, offset(jt, i), offset(jf, i), k) for i, (code, jt, jf, k) in enumerate(out)]


def install() -> bool:
    """Filter this process (and anything it could start); False where it cannot."""
    machine = platform.machine()
    if machine not in NUMBERS:
        return False
    instructions = program(machine)
    code = b"".join(struct.pack("HBBI", *ins) for ins in instructions)
    prog = SockFprog(len(instructions), code)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        return False
    return libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0) == 0
