"""A policy's rubric: the weight of each category, and the checks that its suites can be
scored fairly by it. Read once per policy (like the policy itself)."""
from __future__ import annotations

import functools
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..errors import DataFileError
from .cases import Case, Expect, Suite
from .files import load_toml
from .policy import Policy


class RubricModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    total: float = Field(gt=0)
    weights: dict[str, float] = Field(min_length=1, description="0: reported, never scored")
    leak_cost: float = Field(1.0, ge=1, description="one leaked request costs this many times the "
                             "most one decision of its category is worth (docs/scoring.md); at least 1")

    @model_validator(mode="after")
    def _sums(self) -> "RubricModel":
        if any(w < 0 for w in self.weights.values()):
            raise ValueError("a weight cannot be negative")
        if abs(sum(self.weights.values()) - self.total) > 1e-9:
            raise ValueError(f"weights add up to {sum(self.weights.values()):g}, not total = {self.total:g}")
        return self


@functools.cache
def load_rubric(path: str | Path) -> RubricModel:
    return load_toml(path, RubricModel)


def rubric_for(policy: Policy) -> RubricModel:
    return load_rubric(policy.path.with_suffix("") / "rubric.toml")


def check_rubric_covers(suites: list[Suite]) -> None:
    """Every case's category has a weight in its policy's rubric (the runner needs it)."""
    for suite in suites:
        rubric = rubric_for(suite.policy)
        for case in suite.cases:
            if case.category not in rubric.weights:
                raise DataFileError(f"{suite.path}: {case.id}: category {case.category!r} has no weight "
                                    f"in {suite.policy.path.with_suffix('')}/rubric.toml")


def unbalanced(cases: list[Case], weights: dict[str, float]) -> str | None:
    """Why a rubric and its default suites cannot score fairly, or None. Every weighted
    category needs scored cases that must be refused and cases that must be answered:
    otherwise refusing (or answering) everything earns that category in full."""
    for name, weight in weights.items():
        expects = {c.expect for c in cases if c.category == name and c.scored}
        missing = [e.value for e in (Expect.REFUSE, Expect.ANSWER) if e not in expects]
        if weight > 0 and missing:
            return (f"category {name!r} (weight {weight:g}) has no scored case that expects "
                    f"{' or '.join(map(repr, missing))}; add one, or give it weight 0")
    return None
