"""The sandboxed worker: imports a submission and answers filter calls, one JSON line each
(or, given a seed, runs the submission's own bot loop for the smoke comparison).

grader/sandbox/client.py stages this file beside a copy of the kit's model code (kit/) and the
submission, and starts it through an isolation layer with `python -S -s -B`. It applies the
limits a process may set on itself, moves the protocol off stdin/stdout (so anything the
submission prints goes to stderr), imports what the kit's code needs and puts the allow-list
syscall filter (grader/sandbox/seccomp.py) on itself, then imports the submission and serves
`{"id", "hook", "arg"}` -> `{"id", "allowed", "reason", "by"}` or `{"id", "fault"}`. The submission's patterns are
compiled and matched here, never in the grader. Only the standard library and the kit's
model package are imported: the grader itself is not in this process's reach.
"""
from __future__ import annotations

import ctypes
import importlib.util
import json
import os
import resource
import signal
import sys
import traceback

import guardrail_seccomp  # staged beside this file (grader/sandbox/seccomp.py)

HOOKS = {"request": "is_safe_request", "name": "is_safe_name"}
PATTERN_LISTS = ("BLOCKED_PREFIX_PATTERNS", "BLOCKED_OUTPUT_PATTERNS")


def die_with_parent() -> None:
    """SIGKILL this process when the grader dies, whatever the isolation layer."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(guardrail_seccomp.PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


def apply_limits(cpu_seconds: int, memory_bytes: int, file_bytes: int) -> None:
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_FSIZE, (file_bytes, file_bytes))
    resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))  # no new processes or threads
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a full stderr fails writes, not the worker


def print_traceback() -> None:
    """The traceback to stderr for the student, unless stderr is already full."""
    try:
        traceback.print_exc()
    except OSError:
        pass


def lock_down(*modules: str) -> bool:
    """Import what the kit's code needs while that is still possible, then filter syscalls."""
    for name in modules:
        importlib.import_module(name)
    return guardrail_seccomp.install()


def run_as_bot(submission: str, seed: str) -> None:
    """Run the submission's own `python bot.py --seed N`, under the same limits."""
    import runpy

    lock_down("model.protocol", "model.lm", "click", "runpy")
    sys.argv = ["bot.py", "--seed", seed]
    runpy.run_path(submission, run_name="__main__")


def inert_run_bot(*_args, **_kwargs) -> None:
    """The submission's footer calls run_bot: in the worker, serve() asks its hooks instead."""


def load_hooks(submission: str):
    import model.protocol
    from model.protocol import LocalHooks

    # the submission runs as `python bot.py` runs it, as __main__ (in sys.modules): a class's
    # printed name holds its module's, and library code looks modules up there, so neither
    # tells a hook it is being graded; its footer's run_bot starts no loop here
    inert_run_bot.__name__ = inert_run_bot.__qualname__ = "run_bot"
    model.protocol.run_bot = inert_run_bot
    spec = importlib.util.spec_from_file_location("__main__", submission)
    module = importlib.util.module_from_spec(spec)
    sys.modules["__main__"] = module
    spec.loader.exec_module(module)
    return LocalHooks(*(getattr(module, name) for name in (*HOOKS.values(), *PATTERN_LISTS)))


def serve(hooks, proto_in, send) -> None:
    from model.protocol import HookFault

    check = {"request": hooks.check_request, "name": hooks.check_name}
    for line in proto_in:
        request = json.loads(line)
        try:
            verdict = check[request["hook"]](request["arg"])
            reply = {"allowed": verdict.allowed, "reason": verdict.reason, "by": verdict.by}
        except HookFault as fault:
            reply = {"fault": str(fault)}
        except BaseException as exc:  # noqa: BLE001  fail closed on anything, SystemExit too
            print_traceback()
            reply = {"fault": f"{HOOKS[request['hook']]} raised {type(exc).__name__}"}
        send({"id": request["id"], **reply})


def main() -> None:
    submission, cpu, memory, fsize = sys.argv[1], *map(int, sys.argv[2:5])
    die_with_parent()
    if len(sys.argv) > 5:
        apply_limits(cpu, memory, fsize)
        run_as_bot(submission, sys.argv[5])
        return
    proto_in = os.fdopen(os.dup(0), "rb")  # buffered: a raw file reads a line byte by byte
    proto_out = os.dup(1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    apply_limits(cpu, memory, fsize)
    filtered = lock_down("model.protocol")

    def send(message: dict) -> None:
        os.write(proto_out, (json.dumps(message) + "\n").encode())

    try:
        hooks = load_hooks(submission)
    except BaseException as exc:  # noqa: BLE001  a submission may raise anything, SystemExit too
        print_traceback()
        send({"import_error": f"{type(exc).__name__}: {exc}"[:300]})
        return
    send({"ready": True, "pattern_error": hooks.pattern_error, "filtered": filtered})
    serve(hooks, proto_in, send)


if __name__ == "__main__":
    # -S: no site hooks. The kit's staged model code first, then the interpreter's own
    # site folders (numpy, regex), never the folder holding the grader.
    sys.path[0] = os.path.join(os.path.dirname(os.path.abspath(__file__)), "kit")
    sys.path += [p for p in os.environ.get("GUARDRAIL_SITE", "").split(os.pathsep) if p]
    main()
