"""Run a submission's hooks in a separate, limited worker process (grader/worker.py).

The grader's process keeps the model and the frozen loop; only plain values cross the pipe.
Every misbehaviour (a hang, a crash, junk on the pipe) becomes a HookFault for that call and
the worker is restarted, up to a budget; after that every call faults at once, so a hostile
submission costs bounded time. When the grader runs as root the worker runs as a fresh
unprivileged uid, which also lets `close()` kill everything that uid ever started.
"""
from __future__ import annotations

import functools
import json
import os
import random
import selectors
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from model.protocol import HookFault, Verdict

from .errors import GraderFault
from .policy import KIT_ROOT

MAX_REPLY_BYTES = 64 * 1024
SANDBOX_UID_BASE = 1_900_000_000  # far above any real account's uid


@dataclass(frozen=True)
class Limits:
    call_seconds: float = 2.0
    total_seconds: float = 60.0  # all hook calls of one grading together
    start_seconds: float = 30.0
    cpu_seconds: int = 120
    memory_bytes: int = 1 << 30
    file_bytes: int = 1 << 20
    max_restarts: int = 3


def running_as_root() -> bool:
    return os.geteuid() == 0


def secret_paths(root: Path = KIT_ROOT) -> list[Path]:
    """What a sandboxed submission must not read: hidden suites and reference solutions."""
    policies = root / "policies"
    return sorted(policies.glob("*/hidden")) + sorted(policies.glob("*/reference_bot.py"))


def protect_secrets(extra: list[Path] = ()) -> None:
    """As root, take every permission of 'others' off the secrets (git ignores these bits)."""
    for path in [*secret_paths(), *extra]:
        if path.exists():
            path.chmod(stat.S_IMODE(path.stat().st_mode) & ~0o007)


def grant_interpreter_traversal() -> list[Path]:
    """The sandbox uid must reach the interpreter and the kit: add o+x (traverse, not list)
    to any ancestor directory that lacks it, e.g. /root under pyenv. Returns what changed."""
    changed = []
    for target in (Path(sys.prefix), Path(sys.base_prefix), KIT_ROOT):
        for directory in [*reversed(target.resolve().parents), target.resolve()]:
            mode = stat.S_IMODE(directory.stat().st_mode)
            if not mode & stat.S_IXOTH:
                directory.chmod(mode | stat.S_IXOTH)
                changed.append(directory)
    return changed


@functools.cache
def prepare_host() -> list[Path]:
    """Once per process, as root: the sandbox uid may run Python but not read secrets."""
    granted = grant_interpreter_traversal()
    protect_secrets()
    return granted


def scrubbed_env(home: str) -> dict[str, str]:
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": home, "LANG": "C.UTF-8",
           "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1",
           "PYTHONHASHSEED": "0", "TMPDIR": home}
    for key in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):  # needed by some CPUs' OpenBLAS
        if key in os.environ:
            env[key] = os.environ[key]
    return env


def kill_uid(uid: int) -> None:
    """SIGKILL every live process owned by uid until none is left (zombies are dead already)."""
    for _ in range(50):
        found = False
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                if entry.stat().st_uid != uid or (entry / "stat").read_text().split(") ")[1][0] == "Z":
                    continue
                found = True
                os.kill(int(entry.name), signal.SIGKILL)
            except (FileNotFoundError, ProcessLookupError, PermissionError, IndexError):
                continue
        if not found:
            return
        time.sleep(0.02)


class Sandbox:
    """One submission, one worker at a time; `call` is the only way in."""

    def __init__(self, submission: Path, limits: Limits = Limits()):
        self.submission = Path(submission)
        self.limits = limits
        self.restarts = 0
        self.spent = 0.0
        self.next_id = 0
        self.proc: subprocess.Popen | None = None
        self.dead_reason: str | None = None
        self.import_error: str | None = None
        self.pattern_error: str | None = None
        self.network_isolated = False
        self.uid = SANDBOX_UID_BASE + random.SystemRandom().randrange(10_000_000) \
            if running_as_root() else None
        self.workdir = Path(tempfile.mkdtemp(prefix="guardrail-worker-"))
        fd, name = tempfile.mkstemp(prefix="guardrail-stderr-")
        os.close(fd)
        self.stderr_path = Path(name)
        try:
            shutil.copyfile(self.submission, self.workdir / "submission.py")
        except OSError as exc:
            self.close()
            raise GraderFault(f"cannot copy {submission} into the sandbox: {exc}") from None
        self.granted: list[Path] = []
        if self.uid is not None:
            self.granted = prepare_host()
            os.chown(self.workdir, self.uid, self.uid)
            os.chown(self.workdir / "submission.py", self.uid, self.uid)
        self.workdir.chmod(0o700)

    # ---- lifecycle -----------------------------------------------------------------
    def _spawn(self, *extra: str) -> subprocess.Popen:
        lim = self.limits
        # the worker by path, with the kit's root as its import root: the submission imports
        # this very kit, whatever else is installed (-I: no PYTHON* variables, no user site)
        cmd = [sys.executable, "-I", "-B", str(KIT_ROOT / "grader" / "worker.py"),
               str(self.workdir / "submission.py"),
               str(lim.cpu_seconds), str(lim.memory_bytes), str(lim.file_bytes), *extra]
        ids = dict(user=self.uid, group=self.uid, extra_groups=[]) if self.uid is not None else {}
        with open(self.stderr_path, "ab") as err:
            return subprocess.Popen(
                cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, cwd=self.workdir,
                env=scrubbed_env(str(self.workdir)), process_group=0, close_fds=True, **ids)

    def start(self) -> None:
        lim = self.limits
        self.proc = self._spawn()
        self._buffer = b""
        try:
            hello = self._read_line(lim.start_seconds, "importing the submission")
        except HookFault as fault:  # a submission that cannot start is not restarted
            self._stop()
            self.dead_reason = str(fault)
            self.import_error = str(fault)
            raise
        if "import_error" in hello:
            self.import_error = str(hello["import_error"])
            self._stop()
            self.dead_reason = f"the submission failed to import ({self.import_error})"
            raise HookFault(self.dead_reason)
        self.pattern_error = hello.get("pattern_error")
        self.network_isolated = hello.get("network_isolated") is True

    def _stop(self) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.proc.wait()
        if self.uid is not None:
            kill_uid(self.uid)
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                if stream:
                    stream.close()
            except OSError:
                pass
        self.proc = None

    def run_own_bot(self, lines: list[str], seed: int, timeout: float) -> list[str] | str:
        """The submission's own `python bot.py --seed N` on a transcript: its output lines,
        or a one-line reason it could not be run to the end."""
        self._stop()
        self.proc = self._spawn(str(seed))
        try:
            self.proc.stdin.write("".join(line + "\n" for line in lines).encode())
            self.proc.stdin.close()
        except OSError:
            pass
        out, deadline, fd = b"", time.monotonic() + timeout, self.proc.stdout.fileno()
        try:
            with selectors.DefaultSelector() as sel:
                sel.register(fd, selectors.EVENT_READ)
                while True:
                    left = deadline - time.monotonic()
                    if left <= 0 or not sel.select(left):
                        return f"the submission's bot did not finish the smoke transcript in {timeout:g} s"
                    chunk = os.read(fd, 65536)
                    if not chunk:
                        break
                    out += chunk
                    if len(out) > MAX_REPLY_BYTES:
                        return "the submission's bot flooded its output"
            code = self.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            return f"the submission's bot did not exit within {timeout:g} s"
        finally:
            self._stop()
        if code != 0:
            return f"the submission's bot exited with{describe_exit(code)}"
        return out.decode("utf-8", "replace").splitlines()

    def close(self) -> None:
        self._stop()
        shutil.rmtree(self.workdir, ignore_errors=True)
        self.stderr_path.unlink(missing_ok=True)

    def __enter__(self) -> "Sandbox":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def stderr_tail(self, limit: int = 2000) -> str:
        try:
            data = self.stderr_path.read_bytes()
        except OSError:
            return ""
        return data[-limit:].decode("utf-8", "replace")

    # ---- calls ---------------------------------------------------------------------
    def _read_line(self, timeout: float, doing: str) -> dict:
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while b"\n" not in self._buffer:
                left = deadline - time.monotonic()
                if left <= 0 or not sel.select(left):
                    raise HookFault(f"{doing} took longer than {timeout:g} s")
                chunk = os.read(fd, 65536)
                if not chunk:
                    code = self.proc.poll()
                    raise HookFault(f"the submission's process died while {doing}"
                                    f"{describe_exit(code)}")
                self._buffer += chunk
                if len(self._buffer) > MAX_REPLY_BYTES:
                    raise HookFault(f"the submission flooded the grader's pipe while {doing}")
        line, self._buffer = self._buffer.split(b"\n", 1)
        try:
            message = json.loads(line)
        except ValueError:
            raise HookFault(f"the submission wrote junk on the grader's pipe while {doing}") from None
        if not isinstance(message, dict):
            raise HookFault(f"the submission wrote junk on the grader's pipe while {doing}")
        return message

    def call(self, hook: str, arg: object) -> object:
        """Call is_safe_request ('request') or is_safe_name ('name'); HookFault on misbehaviour."""
        if self.dead_reason:
            raise HookFault(self.dead_reason)
        name = "is_safe_request" if hook == "request" else "is_safe_name"
        if self.spent > self.limits.total_seconds:
            self._stop()
            self.dead_reason = (f"the hooks used up their {self.limits.total_seconds:g} s for this "
                                "grading; every later hook call fails closed")
            raise HookFault(self.dead_reason)
        started = time.monotonic()
        try:
            if self.proc is None:
                self.start()
            self.next_id += 1
            self.proc.stdin.write((json.dumps({"id": self.next_id, "hook": hook, "arg": arg})
                                   + "\n").encode())
            self.proc.stdin.flush()
            reply = self._read_line(self.limits.call_seconds, f"running {name}")
        except (HookFault, BrokenPipeError, OSError) as exc:
            self.spent += time.monotonic() - started
            self._restart_after(exc)
            raise HookFault(str(exc) if isinstance(exc, HookFault)
                            else f"the submission's process died while running {name}") from None
        self.spent += time.monotonic() - started
        if reply.get("id") != self.next_id:
            self._restart_after(None)
            raise HookFault(f"the submission wrote junk on the grader's pipe while running {name}")
        if "fault" in reply:
            raise HookFault(str(reply["fault"])[:200])
        return verdict_from(reply, name)

    def _restart_after(self, exc: BaseException | None) -> None:
        self._stop()
        if self.import_error:
            return
        self.restarts += 1
        if self.restarts > self.limits.max_restarts:
            self.dead_reason = (f"the submission's process failed {self.restarts} times "
                                f"(last: {exc}); every later hook call fails closed")


def describe_exit(code: int | None) -> str:
    if code is None or code == 0:
        return ""
    if code < 0:
        try:
            return f" (killed by {signal.Signals(-code).name})"
        except ValueError:
            return f" (killed by signal {-code})"
    return f" (exit code {code})"


def verdict_from(reply: dict, name: str) -> Verdict:
    allowed, reason, by = reply.get("allowed"), reply.get("reason"), reply.get("by")
    if type(allowed) is not bool or type(reason) is not str or type(by) is not str:
        raise HookFault(f"the submission wrote junk on the grader's pipe while running {name}")
    return Verdict(allowed, reason[:1000], by[:60])


class SandboxHooks:
    """The Hooks the frozen loop needs, answered by the sandboxed worker."""

    def __init__(self, sandbox: Sandbox):
        self.sandbox = sandbox

    def check_request(self, prefixes: list[str]) -> Verdict:
        return self.sandbox.call("request", list(prefixes))

    def check_name(self, name: str) -> Verdict:
        return self.sandbox.call("name", name)
