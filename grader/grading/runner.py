"""The runner: `grade()` in named stages - plan, integrity, run cases, smoke, result.

Everything the submission controls (its import, hooks, patterns and its own bot) runs in
sandboxes that share one wall-clock Budget, so a hostile submission costs bounded time.
"""
from __future__ import annotations

import contextlib
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from model.filters import OneByOne
from model.protocol import Bot, HookFault

from .adversary import find_leaks
from .cases import groups, run_group
from ..errors import DataFileError, GraderFault, UsageError
from .plan import DEFAULT_SEED, Plan, plan
from ..integrity.gate import CAUSES, check_file
from ..sandbox.isolation import Isolation
from ..kit import load_kit_model
from ..sandbox.limits import Budget, Limits
from ..sandbox.request import IsolationRequest
from ..data.cases import Suite
from ..results import Cause, CaseResult, GradeResult, ProbeStats, Status
from ..safeio import clean_text
from ..sandbox.client import Sandbox, SandboxHooks
from .scoring import score_categories, total_score
from .smoke import kit_answers, smoke_compare, smoke_transcript, suites_digest
from .stateless import CallLog, RecordingHooks, replay
from .workers import Workers, launched

@dataclass
class Run:
    """What running the cases produced; `hidden_notes` were shaped after hidden requests
    (restart counts, a budget run out) and are shown only where hidden details are."""
    results: list[CaseResult]
    probes: dict[str, ProbeStats]
    hidden_notes: list[str]


@dataclass
class Check:
    """What the smoke stage found: integrity findings and notes, the adversary's leaks (when it
    ran), and why every hook call fails closed when the submission could not be started."""
    findings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    adversary: list = field(default_factory=list)
    causes: list[Cause] = field(default_factory=list)
    adversary_ran: bool = False
    dead: str | None = None


class DeadHooks(OneByOne):
    """The hooks of a submission that could not start: every call fails closed at once."""

    def __init__(self, reason: str):
        self.reason = reason

    def check_request(self, prefixes):
        raise HookFault(self.reason)

    check_name = check_request


def start_notes(sandbox: Sandbox) -> tuple[list[str], str | None]:
    """Start the worker: the notes on its layer, filter and patterns, and why it could not
    start (None when it did)."""
    notes = [f"isolation: {sandbox.isolation.name} ({', '.join(sandbox.isolation.protections)})"]
    dead = None
    try:
        sandbox.start()
    except HookFault as fault:
        dead = str(fault)
        notes.append(f"{fault}; every hook call fails closed")
        tail = sandbox.stderr_tail(600).strip()
        if tail:
            notes.append("its error output ends with: " + clean_text(tail.splitlines()[-1], 200))
    if sandbox.proc is not None:
        notes.append("syscall filter: " + ("on (an allow-list: no process, socket or file write)"
                                           if sandbox.filtered else "not available on this machine"))
    if sandbox.pattern_error and dead is None:
        notes.append(f"{sandbox.pattern_error}: every request is refused")
    return notes, dead


def smoke(plan: Plan, model, budget: Budget, log: CallLog, workers: Workers) -> Check:
    """First, in a fresh worker that has seen no hidden request: the submission's own bot.py
    against the kit's loop, then the model-aware adversary. What the student reads of them
    cannot have been shaped by a hidden request. A submission that cannot start here is
    graded as one whose every hook call fails closed (it gets no second chance to start)."""
    sandbox = workers.smoke
    notes, dead = start_notes(sandbox)  # an import may take start_seconds of the grading's budget
    if dead is not None:
        return Check(notes=notes, dead=dead)
    workers.launch_the_rest(plan.seed)
    sandbox.budget = workers.own_bot.budget = budget.part(plan.limits.smoke_seconds, what="the smoke stage")
    hooks = RecordingHooks(SandboxHooks(sandbox), log)
    lines = smoke_transcript(plan)
    trusted, limit_hit = kit_answers(plan, model, sandbox, hooks, lines, workers.own_bot)
    adversary = []
    if not limit_hit:  # asked while its own bot.py finishes: kept only if the comparison passes
        # the adversary's calls are bounded by the policy's words: the grading's budget, not
        # the comparison's share, so a slow machine cannot cut it short
        sandbox.budget = budget.part(budget.left(), keep=plan.limits.total_seconds / 2, what="the adversary")
        adversary = find_leaks(Bot(model, hooks), plan.suites[0].policy)
    finding = smoke_compare(plan, lines, trusted, limit_hit, workers.own_bot)
    workers.retire(workers.own_bot)
    if finding:
        return Check([finding.text], notes + [finding.cause.value], causes=[finding.kind])
    workers.retire(sandbox)
    return Check(notes=notes, adversary=adversary, adversary_ran=sandbox.dead_reason is None)


def run_cases(plan: Plan, model, budget: Budget, on_case: Callable | None, log: CallLog,
              dead: str | None, workers: Workers) -> Run:
    """Every case, public ones first, in a fresh worker (none when the submission could not
    start: then every call fails closed)."""
    results, hidden_notes = [], []
    probes = {"name": ProbeStats(), "request": ProbeStats()}
    policy = plan.suites[0].policy
    if plan.cases and not dead:  # the replay's worker done with its start-up (or dead), so that
        with contextlib.suppress(HookFault):  # none of its code runs while hidden requests are asked
            workers.replay.start()
    sandbox = workers.cases
    sandbox.budget = budget.part(budget.left(), keep=plan.limits.replay_seconds, what="the cases")
    try:
        hooks = RecordingHooks(DeadHooks(dead) if dead else SandboxHooks(sandbox), log)
        bot = Bot(model, hooks)
        for group in groups(plan.cases):
            if budget.past_deadline():  # the grading is the grader's fault now: judge no more
                break
            hooks.hidden = group[0].visibility != "public"  # a group holds one visibility
            for result in run_group(bot, group, policy, plan.seed, probes):
                results.append(result)
                if on_case:
                    on_case(result)
        if sandbox.restarts:
            hidden_notes.append(f"the submission's process was restarted {sandbox.restarts} time(s) "
                                "after hangs or crashes")
        if sandbox.import_error and not dead:
            hidden_notes.append(f"a restart failed ({sandbox.import_error}); every later call failed closed")
        if sandbox.dead_reason and sandbox.budget.left() <= 0:
            hidden_notes.append(sandbox.budget.message())
    finally:
        workers.retire(sandbox)
    return Run(results, probes, hidden_notes)


def after_hidden_unseen(isolation: Isolation, hidden_asked: bool) -> bool:
    """Whether what a worker says after the hidden cases must not reach the student: under a
    layer without a view of its own (fresh uid, none) a worker reads the machine's files,
    whose access times an earlier worker's reads set (a channel with no timing, red team 09),
    so a later worker can know what the cases' worker was asked."""
    return hidden_asked and "read-only view" not in isolation.protections


def stateless_check(plan: Plan, budget: Budget, log: CallLog, sandbox: Sandbox) -> str | None:
    """A sample of the logged calls asked again, in another order, of a fresh worker."""
    hidden_asked = any(case.visibility != "public" for case in plan.cases)
    with sandbox:
        if log.conflict is None and log.answers and budget.left() > 0:
            replay(log, SandboxHooks(sandbox), [plan.seed, *suites_digest(plan.suites)],
                   name_conflict=not after_hidden_unseen(sandbox.isolation, hidden_asked))
    return log.finding()


def where_raised(exc: BaseException) -> str:
    """The grader's line that raised, for a grader-fault report (its message is shown apart)."""
    frame = traceback.extract_tb(exc.__traceback__)[-1]
    return clean_text(f"raised at {frame.filename}:{frame.lineno} in {frame.name}")


def grade(submission: str | Path, suite_paths: list[Path | Suite], seed: int = DEFAULT_SEED,
          limits: Limits = Limits(), on_case: Callable[[CaseResult], None] | None = None,
          model=None, *, isolation: IsolationRequest = IsolationRequest(),
          cases: list[str] | None = None, budget: Budget | None = None) -> GradeResult:
    """Grade one submission. Bad inputs raise UsageError/DataFileError (IsolationUnavailable
    when the isolation is required and no layer works); the submission's failures are scored;
    anything else becomes a result with status 'grader_fault'.

    `isolation` the layer asked for (default: the strongest available), whether one is required
    and the folders (a class of submissions) that no sandbox may read;
    `cases` keeps the cases whose key matches one of these patterns (fnmatch or substring); `budget` is the
    submission's one Budget when the caller spends more of it afterwards (a report's replay).

    Stages: the static gate; the smoke comparison and the adversary in a fresh worker; the
    cases, public first, in another; a replay of a sample of the hooks' calls in a third."""
    the_plan = plan(submission, suite_paths, seed, limits, isolation, cases)
    return grade_plan(the_plan, model, on_case, budget)


def grade_plan(the_plan: Plan, model=None, on_case: Callable[[CaseResult], None] | None = None,
               budget: Budget | None = None) -> GradeResult:
    """Grade as planned (a caller that needs the plan first, to size a progress bar, makes it
    once with plan() and passes it here)."""
    policy = the_plan.suites[0].policy

    def finish(status, score, findings, notes, run=Run([], {}, []), check=Check(), diff=(), categories=(),
               causes=()):
        probes = {k: v for k, v in run.probes.items() if v.true_pos + v.false_pos + v.false_neg + v.true_neg}
        return GradeResult(submission=clean_text(the_plan.submission, limit=10_000), status=Status(status), seed=the_plan.seed,
                           policy=policy.name, score=round(score, 4), max_score=the_plan.max_score,
                           seconds=round(time.monotonic() - the_plan.started, 3),
                           integrity_ok=status != Status.INTEGRITY_FAILED, integrity_findings=findings,
                           integrity_diff=list(diff), notes=notes + policy.held_out_notes, cases=run.results,
                           categories=list(categories),
                           probes=probes, adversary=list(check.adversary), adversary_ran=check.adversary_ran,
                           banned_noun=policy.banned_noun, hidden_notes=run.hidden_notes,
                           leak_cost=the_plan.leak_cost, causes=list(causes))

    model = model or load_kit_model()
    integrity = check_file(the_plan.submission)
    if not integrity.ok:
        return finish(Status.INTEGRITY_FAILED, 0.0, [str(f) for f in integrity.findings], integrity.causes(),
                      diff=integrity.diff, causes=integrity.cause_kinds())
    budget = budget or the_plan.limits.budget()
    log = CallLog()
    try:
        with launched(the_plan, budget) as workers:
            check = smoke(the_plan, model, budget, log, workers) if the_plan.cases else Check()
            if budget.past_deadline():  # what the smoke stage found may be the deadline's doing
                return finish(Status.GRADER_FAULT, 0.0, [], [budget.too_slow()])
            if check.findings:  # score 0 whatever the cases say: they are not run
                return finish(Status.INTEGRITY_FAILED, 0.0, check.findings, check.notes, check=check,
                              causes=check.causes)
            run = run_cases(the_plan, model, budget, on_case, log, check.dead, workers)
            stateful = stateless_check(the_plan, budget, log, workers.replay)
    except (UsageError, DataFileError, GraderFault):
        raise
    except Exception as exc:  # a grader bug must not look like a student's failure
        return finish(Status.GRADER_FAULT, 0.0, [], [f"grader fault: {type(exc).__name__}: {clean_text(exc)}",
                                                where_raised(exc)])
    if budget.past_deadline():
        return finish(Status.GRADER_FAULT, 0.0, [], [budget.too_slow()])
    categories = score_categories(run.results, the_plan.weights, the_plan.leak_cost)
    if stateful:
        if note := log.instructor_note():  # the call a student-visible finding may not name
            run.hidden_notes.append(note)
        return finish(Status.INTEGRITY_FAILED, 0.0, [stateful], check.notes + [CAUSES[Cause.STATEFUL][0]], run, check,
                      categories=categories, causes=[Cause.STATEFUL])
    return finish(Status.GRADED, total_score(categories), [], check.notes, run, check, categories=categories)
