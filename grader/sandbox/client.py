"""The hook client: a submission's hooks called in its worker process (grader/sandbox/worker.py,
run by grader/sandbox/process.py).

The grader's process keeps the model and the frozen loop; the worker imports the submission,
compiles and matches its patterns and runs its hooks (model.protocol.LocalHooks), and only
checked plain values cross the pipe. Every misbehaviour (a hang, a crash, junk on the pipe)
becomes a HookFault for that call and the worker is restarted, up to a budget; one
wall-clock Budget covers everything the submission controls in a grading, after which
every call fails closed at once.
"""
from __future__ import annotations

import functools
import json
import time

from model.filters import Call, HookFault, Verdict

from ..safeio import clean_text
from .process import WorkerProcess

# Calls sent to the worker at once: few enough bytes that the pipe holds them all (64 KiB on
# Linux), so sending never waits on the worker reading while it waits on us reading its replies.
# The bytes decide (a name's call is about 50 bytes): each round trip costs two wake-ups, which
# on a loaded machine cost more than the calls themselves.
PIPELINE_CALLS = 512
PIPELINE_BYTES = 32 * 1024
HOOK_NAMES = {"request": "is_safe_request", "name": "is_safe_name"}
VERDICT_SOURCE_CHARS = 60


def timed(method):
    """Charge the time a method holds the grader waiting to the sandbox's budget."""
    @functools.wraps(method)
    def charged(self, *args, **kwargs):
        with self.budget.timing():
            return method(self, *args, **kwargs)
    return charged


class Sandbox(WorkerProcess):
    """One submission's hooks, one worker at a time: `call` and `call_many` are the ways in;
    a worker that misbehaves is restarted, up to the limits and the budget."""

    @timed
    def start(self) -> None:
        if self.launched != ():  # none launched, or one for its own bot
            self.stop()
            self.launch()
        self.launched = None
        try:
            hello = self.read_line(min(self.limits.start_seconds, self.budget.left()),
                                    "importing the submission")
        except HookFault as fault:  # a submission that cannot start is not restarted
            self.stop()
            self.dead_reason = self.import_error = str(fault)
            raise
        if "import_error" in hello:
            self.import_error = clean_text(hello["import_error"])
            self.stop()
            self.dead_reason = f"the submission failed to import ({self.import_error})"
            raise HookFault(self.dead_reason)
        error = hello.get("pattern_error")
        if hello.get("ready") is not True or not (error is None or isinstance(error, str)):
            self.stop()
            self.dead_reason = self.import_error = "the submission wrote junk on the grader's pipe at start"
            raise HookFault(self.dead_reason)
        self.pattern_error = None if error is None else clean_text(error)
        self.filtered = hello.get("filtered") is True

    @timed
    def call(self, hook: str, arg: object) -> Verdict:
        """Ask the request ('request') or name ('name') filter; HookFault on misbehaviour."""
        answer = self.call_many([(hook, arg)])[0]
        if isinstance(answer, HookFault):
            raise answer
        return answer

    @timed
    def call_many(self, calls: list[Call]) -> list[Verdict | HookFault]:
        """Ask several filters in as few round trips as fit the pipe, answering each call as
        `call` would have, in order: each is bounded by its own call_seconds (and what is left
        of the budget), counted from the arrival of the previous call's reply (the worker
        answers in order, so that is the time it had for this one); a call that hangs or
        crashes the worker faults alone, and the calls after it go to a fresh worker."""
        answers: list[Verdict | HookFault] = []
        while len(answers) < len(calls):
            answers += self._pipeline(calls[len(answers):len(answers) + PIPELINE_CALLS])
        return answers

    def _pipeline(self, calls: list[Call]) -> list[Verdict | HookFault]:
        """Some of the calls, sent at once: the answers up to the first that spoiled the worker."""
        if self.dead_reason:
            return [HookFault(self.dead_reason)] * len(calls)
        if self.budget.left() <= 0:
            self.stop()
            self.dead_reason = self.budget.message()
            return [HookFault(self.dead_reason)] * len(calls)
        answers, name = [], HOOK_NAMES[calls[0][0]]
        try:
            if self.proc is None or self.launched is not None:
                self.start()
            lines, size = [], 0
            for hook, arg in calls:  # what the pipe holds at once: the send never waits on a reply
                lines.append(json.dumps({"id": self.next_id + len(lines) + 1, "hook": hook, "arg": arg}) + "\n")
                size += len(lines[-1])
                if size > PIPELINE_BYTES:
                    lines = lines[:-1] or lines
                    break
            started = time.monotonic()
            self.send("".join(lines).encode(), started + min(self.limits.call_seconds, self.budget.left()),
                       f"running {name}")
            for hook, _ in calls[: len(lines)]:
                name = HOOK_NAMES[hook]
                if self.budget.left() <= 0:
                    raise HookFault(self.budget.message())
                self.next_id += 1
                limit = min(self.limits.call_seconds, self.budget.left())
                reply = self.read_line(max(0.0, limit - (time.monotonic() - started)), f"running {name}", limit)
                started = time.monotonic()  # the worker answers in order: the next call starts now
                if reply.get("id") != self.next_id:
                    raise HookFault(f"the submission wrote junk on the grader's pipe while running {name}")
                # a hook that raised leaves the worker fine
                answers.append(HookFault(clean_text(reply["fault"], 200)) if "fault" in reply
                               else verdict_from(reply, name))
        except OSError:
            fault = HookFault(f"the submission's process died while running {name}")
            self._restart_after(fault)
            answers.append(fault)
        except HookFault as fault:  # the worker is in an unknown state: start a fresh one
            self._restart_after(fault)
            answers.append(fault)
        return answers

    def _restart_after(self, exc: BaseException) -> None:
        self.stop()
        if self.import_error or self.dead_reason:
            return
        if self.budget.left() <= 0:
            self.dead_reason = self.budget.message()
            return
        self.restarts += 1
        if self.restarts > self.limits.max_restarts:
            self.dead_reason = (f"the submission's process failed {self.restarts} times "
                                f"(last: {exc}); every later hook call fails closed")


def verdict_from(reply: dict, name: str) -> Verdict:
    """A worker's reply, checked: exact types, bounded and cleaned strings."""
    allowed, reason, by = reply.get("allowed"), reply.get("reason"), reply.get("by")
    if type(allowed) is not bool or type(reason) is not str or type(by) is not str:
        raise HookFault(f"the submission wrote junk on the grader's pipe while running {name}")
    return Verdict(allowed, clean_text(reason, 1000), clean_text(by, VERDICT_SOURCE_CHARS))


class SandboxHooks:
    """The Hooks the frozen loop needs, answered by the sandboxed worker."""

    def check_many(self, calls: list[Call]) -> list[Verdict | HookFault]:
        return self.sandbox.call_many([(hook, list(arg) if hook == "request" else arg) for hook, arg in calls])

    def __init__(self, sandbox: Sandbox):
        self.sandbox = sandbox

    def check_request(self, prefixes: list[str]) -> Verdict:
        return self.sandbox.call("request", list(prefixes))

    def check_name(self, name: str) -> Verdict:
        return self.sandbox.call("name", name)
