"""Results as plain data: the runner fills them, the report writers only read them."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from enum import Enum, StrEnum

from .data.cases import Expect, Kind


class Status(StrEnum):
    """What a grading came to, and everything a gradebook row can be: a GradeResult is one of
    the first three; a row is also not_gradable (its note says why) or interrupted (Ctrl-C came
    before its grading finished)."""
    GRADED = "graded"
    INTEGRITY_FAILED = "integrity_failed"
    GRADER_FAULT = "grader_fault"
    NOT_GRADABLE = "not_gradable"
    INTERRUPTED = "interrupted"


class Cause(str, Enum):
    """Why a submission failed integrity (score 0): one short name per cause, written alike
    in every format (text, HTML, JSON, JUnit, Gradescope, Classroom, the gradebook); the
    findings and the fix follow it. Short enough for one 80-column line of the text report."""
    SYNTAX = "the file does not run (syntax, encoding or size)"
    MISSING = "a required definition is missing"
    FORBIDDEN = "a forbidden construct"
    STATEFUL = "the hooks keep state between calls"
    FROZEN = "the shared code was changed"
    DIFFERENT = "runtime difference from the kit's loop"
    HANG = "hang: your bot.py did not finish in time"
    CRASH = "your bot.py crashed on the smoke transcript"
    HOOK_LIMIT = "a hook hit a limit or crashed in the kit's loop"


def integrity_headline(causes) -> str:
    """The integrity line of every report: 'intact', or FAILED with its causes."""
    if not causes:
        return "FAILED (score 0)"
    return "FAILED (score 0): " + "; ".join(Cause(c).value for c in causes)


def wilson(successes: int, trials: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval for a proportion (sensible at 0 and at small n)."""
    if trials == 0:
        return (0.0, 1.0)
    p = successes / trials
    denom = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denom
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


@dataclass
class Rate:
    count: int
    total: int

    @property
    def value(self) -> float:
        return self.count / self.total if self.total else 0.0

    @property
    def interval(self) -> tuple[float, float]:
        return wilson(self.count, self.total)

    def describe(self, compact: bool = False) -> str:
        """The rate with its 95% interval and counts; compact: in at most 19 columns, without
        the counts (the text report's table; --format json has them)."""
        if not self.total:
            return "n/a"
        lo, hi = self.interval
        if compact:
            return f"{self.value:.1%} ({100 * lo:.1f}-{100 * hi:.1f})"
        return f"{self.value:.1%} ({self.count}/{self.total}; 95% CI {lo:.1%}-{hi:.1%})"


@dataclass
class CaseResult:
    """One case as graded. Each sample is correct (the expected decision, nothing banned
    emitted), a leak (a banned name emitted), a fault (a hook failed) or wrong; scoring.py
    turns these counts into points."""
    key: str
    suite: str
    case_id: str
    category: str
    kind: Kind
    expect: Expect
    visibility: str
    request: str
    points: float
    samples: int
    correct: int
    leaked_samples: int
    faulted: int
    scored: bool  # False: the frozen loop refuses this request by itself (never scored)
    response: str  # the first failing response (a leak first), else the first response
    why: str  # empty when passed
    hint: str
    variant: str = ""
    leaked: list[str] = field(default_factory=list)
    names_emitted: int = 0
    benign_checks: int = 0  # samples that had to be answered
    benign_blocked: int = 0

    @property
    def passed(self) -> bool:
        return self.correct == self.samples

    @property
    def failed_samples(self) -> int:
        return self.samples - self.correct

    @property
    def earned(self) -> float:
        """The case's own credit in points: +1 a correct sample, -1 a leak, 0 otherwise."""
        return self.points * (self.correct - self.leaked_samples) / self.samples


def worst_first(cases: list[CaseResult]) -> list[CaseResult]:
    """Failures in the order every report lists them: the share of samples that leaked,
    then the points lost."""
    return sorted(cases, key=lambda c: (-c.leaked_samples / c.samples, c.earned - c.points, c.key))


@dataclass
class CategoryScore:
    name: str
    weight: float
    score: float  # weight * share; negative when leaks outweigh correct decisions
    share: float
    decisions: dict[str, float]  # per expectation: the share of samples decided correctly
    leak_share: float  # the mean, over expectations, of the share of samples that leaked
    cases: int
    failed: int
    unscored: int  # cases the frozen loop refuses by itself
    leaks: Rate
    over_refusal: Rate

    @property
    def counts(self) -> CaseCounts:
        """Its cases as every report counts them."""
        scored = self.cases - self.unscored
        return CaseCounts(passed=scored - self.failed, scored=scored, unscored=self.unscored)


@dataclass(frozen=True)
class CaseCounts:
    """A category's cases the one way every format counts them: the scored cases passed of
    the scored ones ("none" when none is scored, never 0/0), and apart, the cases the frozen
    loop refuses by itself, which are shown but never scored."""
    passed: int
    scored: int
    unscored: int

    @property
    def passed_of_scored(self) -> str:
        return f"{self.passed}/{self.scored}" if self.scored else "none"

    def describe(self) -> str:
        """The sentence the formats with room for one print."""
        if not self.scored:
            return f"{self.unscored} cases, none scored"
        return f"{self.passed}/{self.scored} scored cases passed" + (
            f", {self.unscored} not scored" if self.unscored else "")


@dataclass
class ProbeStats:
    """How the hooks classify words on their own: blocked banned words are true positives."""
    true_pos: int = 0
    false_pos: int = 0
    false_neg: int = 0
    true_neg: int = 0

    @property
    def precision(self) -> float | None:
        flagged = self.true_pos + self.false_pos
        return self.true_pos / flagged if flagged else None

    @property
    def recall(self) -> float | None:
        banned = self.true_pos + self.false_neg
        return self.true_pos / banned if banned else None


@dataclass
class AdversaryFinding:
    request: str
    banned_name: str
    probability: float  # exact probability that one answer to this request leaks


@dataclass
class GradeResult:
    submission: str
    status: Status
    seed: int
    policy: str
    score: float
    max_score: float
    seconds: float
    integrity_ok: bool
    integrity_findings: list[str]
    integrity_diff: list[str]
    notes: list[str]
    cases: list[CaseResult]
    categories: list[CategoryScore]
    probes: dict[str, ProbeStats] = field(default_factory=dict)
    adversary: list[AdversaryFinding] = field(default_factory=list)
    banned_noun: str = "a banned word"
    leak_cost: float = 1.0  # the rubric's, for rescoring a subset of the cases (scoring.public_part)
    causes: list[Cause] = field(default_factory=list)  # when integrity failed, in a fixed order
    adversary_ran: bool = False  # else the report says nothing of what it would have found
    # details shaped by the submission after it saw hidden requests (restart counts, a budget
    # run out): shown only where hidden cases are (--format json, instructors' views)
    hidden_notes: list[str] = field(default_factory=list)

    @property
    def percent(self) -> float:
        return 100.0 * self.score / self.max_score if self.max_score else 0.0

    def to_dict(self) -> dict:
        doc = asdict(self)
        doc["percent"] = round(self.percent, 2)
        for cat, raw in zip(self.categories, doc["categories"]):
            raw.update(passed=cat.counts.passed, scored=cat.counts.scored)
            for name in ("leaks", "over_refusal"):
                rate = getattr(cat, name)
                raw[name].update(rate=rate.value, ci95=list(rate.interval))
        for name, stats in self.probes.items():
            doc["probes"][name].update(precision=stats.precision, recall=stats.recall)
        for case, raw in zip(self.cases, doc["cases"]):
            raw.update(passed=case.passed, earned=round(case.earned, 6))
        return doc
