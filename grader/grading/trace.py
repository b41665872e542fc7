"""A replayed case as plain data: its prefixes, the samples shown with every name drawn and
the probability of each letter, and how likely the request is to leak. grading/explain.py
makes traces; the HTML report and the playground show them."""
from __future__ import annotations

from dataclasses import dataclass, field
from itertools import groupby

from .probability import Step


@dataclass(frozen=True)
class NameTrace:
    prefix: str
    name: str
    steps: tuple[Step, ...]
    probability: float  # of the whole name from this prefix (the product of the steps)
    discarded_by: str  # "" when the output filter let it through
    banned: bool


@dataclass(frozen=True)
class SampleTrace:
    sample: int
    response: str
    outcome: str
    refused_by: str
    why: str  # "" when this sample passed
    names: tuple[NameTrace, ...]


@dataclass
class Trace:
    submission: str
    case_key: str
    kind: str
    expect: str
    visibility: str
    seed: int
    temperature: float
    request: str
    raw_prefixes: list[str]
    normalized: list[str]
    samples_run: int
    samples_failed: int
    shown: list[SampleTrace] = field(default_factory=list)
    leak_probability: float | None = None
    leak_note: str = ""
    notes: list[str] = field(default_factory=list)


def prefix_text(trace: Trace, arrow: str = "->") -> str:
    """The request's prefixes, raw and normalized; a run of equal ones shown once, counted."""
    runs = [(pair, len(list(group))) for pair, group in groupby(zip(trace.raw_prefixes, trace.normalized))]
    return ", ".join(f"{raw!r} {arrow} {norm!r}" + (f" (x{n})" if n > 1 else "") for (raw, norm), n in runs)
