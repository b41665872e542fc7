"""The worker process of a sandbox: staged into a private folder (the worker, the kit's model
code and weights, a copy of the submission), started through an isolation layer
(grader/sandbox/isolation.py), spoken to over its pipes within deadlines, and stopped. What
is said on the pipe (the hook calls, restarts, the budget) is the hook client's
(grader/sandbox/client.py)."""
from __future__ import annotations

import contextlib
import json
import os
import secrets as random_seed
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO

from model.protocol import HookFault

from ..errors import GraderFault
from ..kit import KIT_ROOT, kit_weights
from .cleanup import STARTED, remove_tree
from .isolation import Isolation, choose_isolation, stage_parent
from .limits import Budget, Limits
from .view import worker_env

MAX_REPLY_BYTES = 64 * 1024
STDERR_KEPT = 64 * 1024  # of the earlier workers' stderr, for the report's tail


def stage_files(submission: Path, stage: Path) -> None:
    """What the worker may see: itself, the kit's model code and weights, the submission."""
    (stage / "tmp").mkdir()
    (stage / "kit" / "model").mkdir(parents=True)
    (stage / "kit" / "weights").mkdir()
    for source in (KIT_ROOT / "model").glob("*.py"):
        shutil.copyfile(source, stage / "kit" / "model" / source.name)
    (stage / "kit" / "weights" / "model.json").write_bytes(kit_weights())  # the bytes the grader checked
    shutil.copyfile(KIT_ROOT / "grader" / "sandbox" / "worker.py", stage / "worker.py")
    shutil.copyfile(KIT_ROOT / "grader" / "sandbox" / "seccomp.py", stage / "guardrail_seccomp.py")
    shutil.copyfile(submission, stage / "submission.py")


class WorkerProcess:
    """One submission's worker, one process at a time: spawn (or launch ahead), send, read a
    line, stop; the stage and what the workers wrote to stderr outlive each process."""

    def __init__(self, submission: Path, limits: Limits = Limits(), isolation: Isolation | None = None,
                 budget: Budget | None = None, secrets: list[Path] = (), hash_seed: int | None = None):
        self.submission = Path(submission)
        # a grading's workers share one (its smoke stage's two sides see one set order); else
        # drawn at random, as `python bot.py` draws its own
        self.hash_seed = random_seed.randbelow(1 << 32) if hash_seed is None else hash_seed
        self.limits = limits
        self.budget = budget or Budget(limits.total_seconds)
        self.isolation = isolation or choose_isolation()
        self.restarts = 0
        self.next_id = 0
        self.proc: subprocess.Popen | None = None
        self.launched: tuple[str, ...] | None = None  # the arguments of a process not taken up yet
        self.dead_reason: str | None = None
        self.import_error: str | None = None
        self.pattern_error: str | None = None
        self.filtered = False  # the worker's syscall filter is on
        self.stderr: IO[bytes] | None = None  # the running worker's; earlier ones in stderr_kept
        self.stderr_kept = b""
        self.closed = False
        # one private folder: the stage (which the layer may open to the sandbox)
        self.folder = Path(tempfile.mkdtemp(prefix="guardrail-sandbox-", dir=stage_parent()))
        self.folder.chmod(0o711)
        self.stage = self.folder / "stage"
        self.stage.mkdir()
        try:
            stage_files(self.submission, self.stage)
            # the submission's own folder may hold classmates' work (the kit's own folders
            # hold nothing secret but what kit_secrets names)
            folder = self.submission.resolve().parent
            self.isolation.prepare(self.stage, [*([] if folder.is_relative_to(KIT_ROOT) else [folder]),
                                                *secrets])
        except OSError as exc:
            self.close()
            raise GraderFault(f"cannot stage {submission} for the sandbox: {exc}") from None

    def spawn(self, *extra: str) -> subprocess.Popen:
        lim, inside = self.limits, self.isolation.inside
        # -S -s: no site hooks (an editable install would expose the grader), no user site;
        # the worker adds the interpreter's own site folders itself
        argv = [sys.executable, "-S", "-s", "-B", inside("worker.py"), inside("submission.py"),
                str(lim.cpu_seconds), str(lim.memory_bytes), str(lim.file_bytes), *extra]
        cmd, kwargs = self.isolation.wrap(argv, worker_env(self.hash_seed))
        # each worker its own stderr, a file with no name: a restarted worker cannot open
        # (through /proc/self/fd/2 or otherwise) what an earlier one wrote
        self.stderr = tempfile.TemporaryFile(dir=self.folder)
        try:
            proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr,
                                    process_group=0, close_fds=True, **kwargs)
        except OSError:
            self.stderr.close()
            self.stderr = None
            raise
        STARTED.add(proc.pid)
        os.set_blocking(proc.stdin.fileno(), False)  # _send never blocks past its deadline
        return proc

    def launch(self, *extra: str) -> None:
        """Start a worker (`extra`: the seed, for its own bot) without waiting for it, so that
        its start-up overlaps the grader's own work; `start` or `run_own_bot` takes it up.
        Nothing is sent to it before, and it is charged only the time the grader waits on it."""
        if self.proc is None:
            self.proc, self.launched, self._buffer, self.fed = self.spawn(*extra), extra, b"", b""

    def stop(self) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.proc.wait()
        STARTED.discard(self.proc.pid)
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                if stream:
                    stream.close()
            except OSError:
                pass
        self.proc = self.launched = None
        self.isolation.worker_stopped()
        self.stderr_kept = (self.stderr_kept + tail_of(self.stderr, STDERR_KEPT))[-STDERR_KEPT:]
        self.stderr.close()
        self.stderr = None

    def kill(self) -> None:
        """SIGKILL the running worker now, without waiting for it (close waits and sweeps)."""
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)

    def close(self) -> None:
        if self.closed:  # a stage closes its sandbox when done, the grading all of them at the end
            return
        self.closed = True
        self.stop()
        self.isolation.cleanup()
        remove_tree(self.folder)

    def __enter__(self) -> "WorkerProcess":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def stderr_tail(self, limit: int = 2000) -> str:
        """The end of what the workers wrote to stderr, the running one's last."""
        running = tail_of(self.stderr, limit) if self.stderr else b""
        return (self.stderr_kept + running)[-limit:].decode("utf-8", "replace")

    def send(self, data: bytes, deadline: float, doing: str) -> None:
        """Write to the worker's stdin without ever blocking past the deadline (a worker that
        stops reading its pipe must not hang the grader)."""
        fd = self.proc.stdin.fileno()  # non-blocking since _spawn
        while data:
            if not ready(fd, select.POLLOUT, deadline):
                raise HookFault(self.budget.message() if self.budget.left() <= 0
                                else f"{doing}: the submission stopped reading its input")
            try:
                data = data[os.write(fd, data):]
            except BlockingIOError:
                continue

    def read_line(self, timeout: float, doing: str, limit: float | None = None) -> dict:
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while b"\n" not in self._buffer:
            if not ready(fd, select.POLLIN, deadline):
                if self.budget.left() <= 0:
                    raise HookFault(self.budget.message())
                raise HookFault(f"{doing} took longer than {limit or timeout:g} s")
            chunk = os.read(fd, 65536)
            if not chunk:
                code = self.proc.poll()
                raise HookFault(f"the submission's process died while {doing}{describe_exit(code)}")
            self._buffer += chunk
            if len(self._buffer.split(b"\n", 1)[0]) > MAX_REPLY_BYTES:  # this reply alone
                raise HookFault(f"the submission flooded the grader's pipe while {doing}")
        line, self._buffer = self._buffer.split(b"\n", 1)
        try:
            message = json.loads(line)
        except (ValueError, RecursionError):
            message = None
        if not isinstance(message, dict):
            raise HookFault(f"the submission wrote junk on the grader's pipe while {doing}")
        return message


def transcript_bytes(lines: list[str]) -> bytes:
    return "".join(line + "\n" for line in lines).encode()


def tail_of(file, limit: int) -> bytes:
    """The last `limit` bytes of an open file, wherever its writer left the offset."""
    try:
        size = os.fstat(file.fileno()).st_size
        return os.pread(file.fileno(), min(limit, size), max(0, size - limit))
    except OSError:
        return b""


def ready(fd: int, event: int, deadline: float) -> bool:
    """Whether fd is ready for event before the monotonic deadline (a poll object costs no
    descriptor, and the grader asks thousands of times per grading)."""
    left = deadline - time.monotonic()
    if left <= 0:
        return False
    poller = select.poll()
    poller.register(fd, event)
    return bool(poller.poll(left * 1000))


def describe_exit(code: int | None) -> str:
    if code is None or code == 0:
        return ""
    if code < 0:
        try:
            return f" (killed by {signal.Signals(-code).name})"
        except ValueError:
            return f" (killed by signal {-code})"
    return f" (exit code {code})"
