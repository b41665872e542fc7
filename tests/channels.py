"""Two sandboxes at once, one waiting on a futex word in a page of a file both can read (the
interpreter's own os.py), the other waking whoever waits there: a bit from one worker to
another of a concurrent grading (red team, attack 15). Imports only the grader, so it also
runs as a script under another interpreter (`python channels.py LAYER BOT` prints the
answers as JSON): the fresh-uid layer needs one that other users can run (tests/others.py)."""
import json
import platform
import sys
import threading
import time
from pathlib import Path

from grader.sandbox.client import Sandbox
from grader.sandbox.isolation import choose_isolation
from grader.sandbox.limits import Limits
from submissions import with_hooks

FUTEX = {"x86_64": 202, "aarch64": 98}  # asm/unistd_64.h, asm-generic/unistd.h
FUTEX_PRIVATE_FLAG = 128
LIMITS = Limits(call_seconds=10, total_seconds=120, start_seconds=60, cpu_seconds=20)

# mapped shared if the filter lets it, else private; asked ['wait', FLAG] it waits 1.5 s on
# the word, asked ['wake', FLAG] it wakes up to 1000 waiters; answers what each call returned
FUTEX_HOOKS = with_hooks(prelude="""
import ctypes, errno, os
LIBC = ctypes.CDLL(None, use_errno=True)
LIBC.syscall.restype = LIBC.mmap.restype = ctypes.c_long
FD = os.open(os.__file__, os.O_RDONLY)


class Timespec(ctypes.Structure):
    _fields_ = [('sec', ctypes.c_long), ('nsec', ctypes.c_long)]


def failed(result):
    return errno.errorcode.get(ctypes.get_errno(), '?') if result == -1 else None


def mapped():
    ctypes.set_errno(0)
    shared = LIBC.mmap(None, 4096, 1, 1, FD, 0)  # PROT_READ, MAP_SHARED
    if not failed(shared):
        return shared, 'ok'
    refused = failed(shared)
    return LIBC.mmap(None, 4096, 1, 2, FD, 0), refused  # MAP_PRIVATE


PAGE, SHARED_MAP = mapped()
WORD = PAGE + 64""", request_body=f"""
if prefixes[0] not in ('wait', 'wake'):
    return None
flag = int(prefixes[1])
ctypes.set_errno(0)
if prefixes[0] == 'wait':
    value = ctypes.c_uint32.from_address(WORD).value
    result = LIBC.syscall({FUTEX.get(platform.machine(), -1)}, ctypes.c_void_p(WORD), 0 | flag, value,
                          ctypes.byref(Timespec(1, 500_000_000)), None, 0)
else:
    result = LIBC.syscall({FUTEX.get(platform.machine(), -1)}, ctypes.c_void_p(WORD), 1 | flag, 1000,
                          None, None, 0)
return f'map:{{SHARED_MAP}} {{prefixes[0]}}:{{failed(result) or result}}'""")


def wait_and_wake(waiter: Sandbox, waker: Sandbox, flag: int) -> list[str]:
    """The waiter's and the waker's answers, the wake sent while the waiter waits."""
    answers = {}
    waiting = threading.Thread(target=lambda: answers.update(wait=waiter.call("request", ["wait", str(flag)])))
    waiting.start()
    time.sleep(0.5)
    woke = waker.call("request", ["wake", str(flag)])
    waiting.join()
    return [answers["wait"].reason, woke.reason]


def futex_pair(bot: Path, layer: str) -> dict[str, list[str]]:
    """Both sandboxes started and filtered, then a shared and a private futex tried."""
    with Sandbox(bot, LIMITS, choose_isolation(layer)) as waiter, \
            Sandbox(bot, LIMITS, choose_isolation(layer)) as waker:
        for sandbox in (waiter, waker):
            if not (sandbox.call("request", ["ready"]).allowed and sandbox.filtered):
                raise AssertionError(f"the {layer} sandbox did not start filtered: {sandbox.stderr_tail()}")
        return {"shared": wait_and_wake(waiter, waker, 0),
                "private": wait_and_wake(waiter, waker, FUTEX_PRIVATE_FLAG)}


if __name__ == "__main__":
    print(json.dumps(futex_pair(Path(sys.argv[2]), sys.argv[1])))
