"""What the student kit reveals of a policy: a development share of each table, by a seeded rule.

The skill graded is a filter that generalizes beyond the examples it was shown, so the kit
shows a share of the lexicon, of the look-alike table and of the normalization forms (the
request variants); the hidden suites draw from the whole policy, the public ones only from
what is revealed. The rule, documented in the instructors' guide: the items a table always
reveals (`always`, e.g. the examples of the policy's definition), then the others ordered by
sha256("SEED:ITEM") and the first round(share * count) of them. share = 1 reveals everything,
which stays an explicit choice of the instructor.
"""
from __future__ import annotations

import hashlib

from pydantic import BaseModel, ConfigDict, Field


class ShareModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    share: float = Field(1.0, ge=0, le=1, description="of the items not in `always`; 1 reveals all")
    always: list[str] = Field(default_factory=list, description="revealed whatever the share")


class RevealModel(BaseModel):
    """[reveal] of a policy file. Absent: the kit reveals everything."""
    model_config = ConfigDict(extra="forbid")
    seed: str = Field("", description="changes which items the share picks")
    lexicon: ShareModel = Field(default_factory=ShareModel)
    homoglyphs: ShareModel = Field(default_factory=ShareModel)
    variants: ShareModel = Field(default_factory=ShareModel)
    partial: bool = Field(False, description="set in a student kit's policy: the grading's policy "
                          "holds more than this file")


def reveal_order(seed: str, items) -> list[str]:
    """The seeded order the share is taken from: by sha256 of "SEED:ITEM", ties by item."""
    return sorted(items, key=lambda item: (hashlib.sha256(f"{seed}:{item}".encode()).hexdigest(), item))


def revealed(items, rule: ShareModel, seed: str, table: str) -> frozenset[str]:
    """The part of `items` the kit shows. Raises ValueError naming an `always` item not in it."""
    items = set(items)
    missing = sorted(set(rule.always) - items)
    if missing:
        raise ValueError(f"reveal.{table}.always: {missing[0]!r} is not in the {table} table")
    rest = reveal_order(seed, items - set(rule.always))
    return frozenset(rule.always) | frozenset(rest[:round(rule.share * len(rest))])
