"""The run-time half of "hooks are stateless": every answer the hooks give in a grading is
logged by call, and a seeded sample of those calls is asked again, in another order, of a
fresh worker. A call answered two ways (within a stage, across the smoke stage and the
cases, or in the replay) means an answer depended on earlier calls: an integrity finding.

grader/integrity/state_rules.py refuses the usual ways to keep state before anything runs; this
catches the rest (state behind a parameter, a cache that changes answers...). A call that
faulted (a limit, a crash) is not an answer and is never compared.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from model.protocol import Verdict

from ..safeio import clean_text

REPLAY_CALLS = 200


@dataclass(frozen=True)
class Answer:
    verdict: Verdict
    hidden: bool  # asked for a hidden case: never quoted to the student


class CallLog:
    """The answers of one grading by call; the first call answered two ways is kept."""

    def __init__(self):
        self.answers: dict[tuple, Answer] = {}
        self.conflict: tuple | None = None
        self.conflict_unnamed = False  # found by a replay whose worker may have chosen it

    def record(self, call: tuple, verdict: Verdict, hidden: bool) -> None:
        first = self.answers.setdefault(call, Answer(verdict, hidden))
        if first.verdict != verdict and self.conflict is None:
            self.conflict = call
            self.answers[call] = Answer(first.verdict, first.hidden or hidden)

    def finding(self) -> str | None:
        """The integrity finding, naming the call only when no hidden request can have chosen
        it (a hidden case asked it, or the replay's worker had heard hidden calls); else one
        sentence, naming neither call nor hook, whatever the reason."""
        if self.conflict is None:
            return None
        shown = f"is_safe_{self.conflict[0]} answered {self.named_call()}" if self.may_name() else \
            "a hook answered a call (named only in the instructors' report)"
        return f"[stateful-hook] {shown} one way and later, asked again, another: its answers depend on earlier calls"

    def may_name(self) -> bool:
        return not (self.conflict_unnamed or self.answers[self.conflict].hidden)

    def named_call(self) -> str:
        hook, arg = self.conflict
        return clean_text(repr(list(arg) if hook == "request" else arg), 120)

    def instructor_note(self) -> str | None:
        """The call a finding does not name, for the instructors' output (hidden_notes)."""
        if self.conflict is None or self.may_name():
            return None
        return f"[stateful-hook] the call answered two ways: is_safe_{self.conflict[0]}({self.named_call()})"


class RecordingHooks:
    """Hooks that log every answer to a CallLog; `hidden` says which cases are asking."""

    def __init__(self, hooks, log: CallLog, hidden: bool = False):
        self.hooks, self.log, self.hidden = hooks, log, hidden

    def check_request(self, prefixes: list[str]) -> Verdict:
        verdict = self.hooks.check_request(prefixes)
        self.log.record(("request", tuple(prefixes)), verdict, self.hidden)
        return verdict

    def check_name(self, name: str) -> Verdict:
        verdict = self.hooks.check_name(name)
        self.log.record(("name", name), verdict, self.hidden)
        return verdict

    def check_many(self, calls: list) -> list:
        answers = self.hooks.check_many(calls)
        for (hook, arg), answer in zip(calls, answers):
            if isinstance(answer, Verdict):  # a fault is not an answer
                self.log.record((hook, tuple(arg) if hook == "request" else arg), answer, self.hidden)
        return answers


def replay_sample(log: CallLog, seed: list[int], count: int = REPLAY_CALLS) -> list[tuple]:
    """A seeded sample of the logged calls, in an order of its own (the seed material holds
    the hidden suites' bytes, so a student cannot predict it)."""
    calls = sorted(log.answers, key=repr)
    order = np.random.default_rng([*seed, len(calls)]).permutation(len(calls))
    return [calls[i] for i in order[:count]]


def replay(log: CallLog, hooks, seed: list[int], name_conflict: bool = True) -> None:
    """Ask the sample again of a fresh worker, in one check_many (each call keeps its own
    limit; once the worker is dead or out of time every later call faults), logging each
    answer up to the first conflict. A fault is not an answer: it is skipped. The finding names
    no call when the sample holds a hidden case's call (the worker hears them mixed with public
    ones, so which public call differs can be chosen after hidden requests: red team 34), nor
    without `name_conflict` (a layer where the worker can learn them otherwise)."""
    calls = replay_sample(log, seed)
    heard_hidden = any(log.answers[call].hidden for call in calls)
    answers = hooks.check_many(calls)
    for call, answer in zip(calls, answers):
        if log.conflict is not None:
            return
        if isinstance(answer, Verdict):
            log.record(call, answer, log.answers[call].hidden)
            log.conflict_unnamed = log.conflict is not None and (heard_hidden or not name_conflict)
