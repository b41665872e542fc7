"""The plan of one grading, made once before any submission code runs and passed to every
stage: the cases (public first), the rubric's weights, the limits, the isolation asked for,
and how a stage's sandbox is made."""
from __future__ import annotations

import fnmatch
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..data.cases import Case, Suite
from ..data.rubric import check_rubric_covers, rubric_for
from ..data.suites import load_suites
from ..errors import UsageError
from ..kit import KIT_ROOT
from ..sandbox.client import Sandbox
from ..sandbox.limits import Budget, Limits
from ..sandbox.request import IsolationRequest
from .smoke import worker_hash_seed

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
    isolation: IsolationRequest
    started: float = field(default_factory=time.monotonic)

    def sandbox(self, budget: Budget) -> Sandbox:
        return Sandbox(self.submission, self.limits,
                       self.isolation.choose(), budget,
                       secrets=[*self.isolation.private, *(Path(s.path).resolve() for s in self.suites if
                                s.visibility != "public" or not Path(s.path).resolve().is_relative_to(KIT_ROOT))],
                       hash_seed=worker_hash_seed(self.seed, self.suites))


def plan(submission: str | Path, suite_paths: list, seed: int, limits: Limits, isolation: IsolationRequest,
         case_patterns: list[str] | None) -> Plan:
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
    isolation.choose()  # refuse before any work when none is allowed
    return Plan(submission, suites, cases, rubric.weights, rubric.leak_cost, max_score, seed, limits, isolation)
