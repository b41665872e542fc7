"""A seccomp filter the worker puts on itself before the submission's code runs: no new
processes or threads, no program execution, no sockets, no namespaces, mounts, tracing or
signals to others - whatever the isolation layer, and even where the worker's uid is 0
(which RLIMIT_NPROC does not hold). Standard library only: the worker imports this file.

A classic BPF program over `struct seccomp_data` (nr at offset 0, arch at offset 4): a
denied syscall fails with EPERM; on an unknown architecture nothing is installed.
"""
from __future__ import annotations

import ctypes
import platform
import struct

ARCHES = {  # AUDIT_ARCH and the numbers of the denied syscalls, per machine
    "x86_64": (0xC000003E, {"socket": 41, "connect": 42, "bind": 49, "socketpair": 53, "clone": 56,
                            "fork": 57, "vfork": 58, "execve": 59, "kill": 62, "ptrace": 101,
                            "mount": 165, "unshare": 272, "setns": 308, "execveat": 322,
                            "clone3": 435}),
    "aarch64": (0xC00000B7, {"mount": 40, "unshare": 97, "ptrace": 117, "kill": 129, "socket": 198,
                             "socketpair": 199, "bind": 200, "connect": 203, "clone": 220,
                             "execve": 221, "setns": 268, "execveat": 281, "clone3": 435}),
}
X32_BIT = 0x40000000  # x86_64's x32 ABI: another numbering, refused outright
LD_W_ABS, JEQ_K, JGE_K, RET_K = 0x20, 0x15, 0x35, 0x06
RET_ALLOW, RET_EPERM = 0x7FFF0000, 0x00050000 | 1
PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 38, 22, 2


class SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_char_p)]


def program(arch: int, denied: list[int], x32: bool) -> list[tuple[int, int, int, int]]:
    """(code, jt, jf, k) instructions; jumps count the instructions to skip."""
    checks = ([(JGE_K, 0, 0, X32_BIT)] if x32 else []) + [(JEQ_K, 0, 0, nr) for nr in denied]
    body = [(code, len(checks) - i, 0, k) for i, (code, _, _, k) in enumerate(checks)]  # to deny
    return [(LD_W_ABS, 0, 0, 4), (JEQ_K, 1, 0, arch), (RET_K, 0, 0, RET_EPERM),
            (LD_W_ABS, 0, 0, 0), *body, (RET_K, 0, 0, RET_ALLOW), (RET_K, 0, 0, RET_EPERM)]


def install() -> bool:
    """Filter this process (and anything it could start); False where it cannot."""
    machine = platform.machine()
    if machine not in ARCHES:
        return False
    arch, numbers = ARCHES[machine]
    instructions = program(arch, sorted(numbers.values()), machine == "x86_64")
    code = b"".join(struct.pack("HBBI", *ins) for ins in instructions)
    prog = SockFprog(len(instructions), code)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        return False
    return libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0) == 0
