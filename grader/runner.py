"""The runner: `grade()` in named stages - plan, integrity, run cases, smoke, result.

Everything the submission controls (its import, hooks, patterns and its own bot) runs in
sandboxes that share one wall-clock Budget, so a hostile submission costs bounded time.
"""
from __future__ import annotations

import fnmatch
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from model.protocol import Bot, HookFault

from .adversary import find_leaks
from .cases import groups, run_group
from .checks import check_rubric_covers
from .errors import DataFileError, GraderFault, UsageError
from .integrity import check_file
from .isolation import choose_isolation
from .kit import load_kit_model
from .limits import Budget, Limits
from .policy import KIT_ROOT
from .results import Cause, CaseResult, GradeResult, ProbeStats, Status
from .safeio import clean_text
from .sandbox import Sandbox, SandboxHooks
from .scoring import score_categories, total_score
from .smoke import smoke_compare, smoke_transcript
from .suites import Case, Kind, Suite, load_suites, rubric_for

DEFAULT_SEED = 1234


@dataclass
class Plan:
    """What one grading will do, decided before any submission code runs."""
    submission: Path
    suites: list[Suite]
    cases: list[Case]
    weights: dict[str, float]
    leak_cost: float  # the rubric's exchange rate of a leak against a decision
    max_score: float
    seed: int
    limits: Limits
    isolation: str | None
    require_isolation: bool
    private: tuple[Path, ...] = ()  # folders a sandbox without a view of its own must close
    started: float = field(default_factory=time.monotonic)

    def sandbox(self, budget: Budget) -> Sandbox:
        return Sandbox(self.submission, self.limits,
                       choose_isolation(self.isolation, self.require_isolation), budget,
                       secrets=[*self.private, *(Path(s.path).resolve() for s in self.suites if
                                s.visibility != "public" or not Path(s.path).resolve().is_relative_to(KIT_ROOT))])


@dataclass
class Run:
    """What running the cases produced."""
    results: list[CaseResult]
    probes: dict[str, ProbeStats]
    notes: list[str]
    started_ok: bool


@dataclass
class Check:
    """What the smoke stage found: integrity findings and notes, and the adversary's leaks."""
    findings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    adversary: list = field(default_factory=list)
    causes: list[Cause] = field(default_factory=list)


def plan(submission: str | Path, suite_paths: list, seed: int, limits: Limits, isolation: str | None,
         require_isolation: bool, case_patterns: list[str] | None) -> Plan:
    submission = Path(submission)
    if submission.is_symlink():
        raise UsageError(f"{submission}: a symbolic link; grade the file itself, not a link to it")
    if not submission.is_file():
        raise UsageError(f"{submission}: no such file; pass the path of your bot.py")
    if seed < 0:
        raise UsageError(f"--seed {seed}: a seed is a whole number from 0 up")
    suites = load_suites(suite_paths)
    check_rubric_covers(suites)
    rubric = rubric_for(suites[0].policy)
    cases = [case for suite in suites for case in suite.cases]
    if case_patterns:
        cases = [c for c in cases if any(fnmatch.fnmatchcase(c.key, p) or p in c.key for p in case_patterns)]
        if not cases:
            raise UsageError(f"--case {' '.join(case_patterns)}: no case key matches; "
                             "keys look like 'direct/apple' (see --format json)")
    # public cases first: a hook that remembers what it saw can then only ever echo hidden
    # requests into hidden cases' answers, never into an answer the student is shown
    cases.sort(key=lambda c: c.visibility != "public")
    used = {c.category for c in cases}
    max_score = sum(w for name, w in rubric.weights.items() if name in used)
    choose_isolation(isolation, require_isolation)  # refuse before any work when none is allowed
    return Plan(submission, suites, cases, rubric.weights, rubric.leak_cost, max_score, seed, limits,
                isolation, require_isolation)


def run_cases(plan: Plan, model, budget: Budget, on_case: Callable | None) -> Run:
    notes, results = [], []
    probes = {"name": ProbeStats(), "request": ProbeStats()}
    policy = plan.suites[0].policy
    with plan.sandbox(budget) as sandbox:
        notes.append(f"isolation: {sandbox.isolation.name} ({', '.join(sandbox.isolation.protections)})")
        try:
            sandbox.start()
        except HookFault as fault:
            notes.append(f"{fault}; every hook call fails closed")
            tail = sandbox.stderr_tail(600).strip()
            if tail:
                notes.append("its error output ends with: " + clean_text(tail.splitlines()[-1], 200))
        if sandbox.proc is not None:
            notes.append("syscall filter: " + ("on (an allow-list: no process, socket or file write)"
                                               if sandbox.filtered else "not available on this machine"))
        if sandbox.pattern_error and not sandbox.import_error:
            notes.append(f"{sandbox.pattern_error}: every request is refused")
        bot = Bot(model, SandboxHooks(sandbox))
        for group in groups(plan.cases):
            for result in run_group(bot, group, policy, plan.seed, probes):
                results.append(result)
                if on_case:
                    on_case(result)
        if sandbox.restarts:
            notes.append(f"the submission's process was restarted {sandbox.restarts} time(s) "
                         "after hangs or crashes")
        if sandbox.dead_reason and budget.left() <= 0:
            notes.append(budget.message())
        return Run(results, probes, notes, sandbox.import_error is None)


def smoke(plan: Plan, model, budget: Budget) -> Check:
    """In a fresh worker (nothing remembered from the cases): the submission's own bot.py
    against the kit's loop, then the model-aware adversary. The budget's reserve is
    released for this stage, so slow cases cannot crowd the comparison out."""
    budget.release_reserve()
    with plan.sandbox(budget) as sandbox:
        finding = smoke_compare(plan, model, sandbox, smoke_transcript(plan))
        adversary = find_leaks(Bot(model, SandboxHooks(sandbox)), plan.suites[0].policy)
    return Check([finding.text], [finding.cause.value], adversary, [finding.kind]) if finding \
        else Check(adversary=adversary)


def where_raised(exc: BaseException) -> str:
    """The grader's line that raised, for a grader-fault report (its message is shown apart)."""
    frame = traceback.extract_tb(exc.__traceback__)[-1]
    return clean_text(f"raised at {frame.filename}:{frame.lineno} in {frame.name}")


def grade(submission: str | Path, suite_paths: list[Path | Suite], seed: int = DEFAULT_SEED,
          limits: Limits = Limits(), on_case: Callable[[CaseResult], None] | None = None,
          model=None, *, isolation: str | None = None, require_isolation: bool = False,
          cases: list[str] | None = None, private: tuple[Path, ...] = ()) -> GradeResult:
    """Grade one submission. Bad inputs raise UsageError/DataFileError (IsolationUnavailable
    when `require_isolation` and no layer works); the submission's failures are scored;
    anything else becomes a result with status 'grader_fault'.

    `isolation` names a layer (grader.isolation.LAYERS) instead of the strongest available;
    `cases` keeps the cases whose key matches one of these patterns (fnmatch or substring);
    `private` names folders (a class of submissions) that no sandbox may read."""
    the_plan = plan(submission, suite_paths, seed, limits, isolation, require_isolation, cases)
    the_plan.private = tuple(Path(p).resolve() for p in private)
    policy = the_plan.suites[0].policy

    def finish(status, score, results, categories, findings, diff, notes, probes=None, adversary=(), causes=()):
        return GradeResult(submission=clean_text(the_plan.submission, limit=10_000), status=Status(status), seed=seed,
                           policy=policy.name, score=round(score, 4), max_score=the_plan.max_score,
                           seconds=round(time.monotonic() - the_plan.started, 3),
                           integrity_ok=status != Status.INTEGRITY_FAILED, integrity_findings=findings,
                           integrity_diff=diff, notes=notes + policy.held_out_notes, cases=results,
                           categories=categories,
                           probes=probes or {}, adversary=list(adversary), banned_noun=policy.banned_noun,
                           leak_cost=the_plan.leak_cost, causes=list(causes))

    model = model or load_kit_model()
    integrity = check_file(the_plan.submission)
    if not integrity.ok:
        return finish("integrity_failed", 0.0, [], [], [str(f) for f in integrity.findings],
                      integrity.diff, integrity.causes(), causes=integrity.cause_kinds())
    budget = Budget(limits.total_seconds, reserve=limits.smoke_seconds)
    try:
        run = run_cases(the_plan, model, budget, on_case)
        check = smoke(the_plan, model, budget) if run.started_ok and the_plan.cases else Check()
    except (UsageError, DataFileError, GraderFault):
        raise
    except Exception as exc:  # a grader bug must not look like a student's failure
        return finish("grader_fault", 0.0, [], [], [], [], [
            f"grader fault: {type(exc).__name__}: {clean_text(exc)}",
            where_raised(exc)])
    categories = score_categories(run.results, the_plan.weights, the_plan.leak_cost)
    if check.findings:
        return finish("integrity_failed", 0.0, run.results, categories, check.findings, [],
                      run.notes + check.notes, run.probes, check.adversary, check.causes)
    probes = {k: v for k, v in run.probes.items() if v.true_pos + v.false_pos + v.false_neg + v.true_neg}
    return finish("graded", total_score(categories), run.results, categories, [], [],
                  run.notes + check.notes, probes, check.adversary)
