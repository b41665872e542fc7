"""The filter's syscall numbers against the kernel's own tables, where the headers are
installed (linux-libc-dev); tests/test_isolation.py checks what the filter does."""
import re
from pathlib import Path

import pytest

from grader.sandbox.seccomp import ALLOWED, ARGUMENT_RULES, ENOSYS, NUMBERS, program

HEADERS = {"x86_64": Path("/usr/include/x86_64-linux-gnu/asm/unistd_64.h"),
           "aarch64": Path("/usr/include/asm-generic/unistd.h")}


def kernel_numbers(header: Path) -> dict[str, int]:
    """`#define __NR_name N`, and asm-generic's `__NR3264_name` indirection for 64-bit."""
    text = header.read_text()
    numbers = {name: int(n) for name, n in re.findall(r"#define __NR3264_(\w+)\s+(\d+)", text)}
    numbers |= {name: int(n) for name, n in re.findall(r"#define __NR_(\w+)\s+(\d+)", text)}
    return {"newfstatat" if name == "fstatat" else name: n for name, n in numbers.items()}


@pytest.mark.parametrize("machine", NUMBERS)
def test_the_numbers_are_the_kernels(machine):
    header = HEADERS[machine]
    if not header.exists():
        pytest.skip(f"{header} is not installed (linux-libc-dev)")
    kernel = kernel_numbers(header)
    assert {name: kernel.get(name) for name in NUMBERS[machine]} == NUMBERS[machine]


def test_every_name_is_a_syscall_of_some_machine():
    known = set().union(*NUMBERS.values())
    assert set(ALLOWED) <= known  # a misspelt name would be silently left out of the filter
    for machine in NUMBERS:
        assert set(ENOSYS) | set(ARGUMENT_RULES) <= set(NUMBERS[machine]), machine
        assert program(machine)[-1] == (0x06, 0, 0, 0x00050000 | 38)  # it ends with the ENOSYS return
