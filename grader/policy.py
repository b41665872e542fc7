"""A content policy as data: what is banned, and which names are legitimate.

This module ships to students (their self-check needs `is_banned` to see a leak); it holds
no request classifier. Deciding what a whole request should get is the assignment, and the
grader's own answer to it lives in grader/derive.py, which the student kit leaves out.

The legitimate names come from the training data: `python -m grader derive-names` writes
policies/NAME/names.toml (docs/instructors.md), and the loader refuses a stale one.
"""
from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from model.protocol import is_model_prefix, normalize_prefix

from .datafiles import load_toml
from .errors import DataFileError

KIT_ROOT = Path(__file__).resolve().parent.parent
POLICIES_DIR = KIT_ROOT / "policies"
DERIVE_COMMAND = "python -m grader derive-names --policy {name} --data ../shared/data/names.txt"


def _words(values: list[str]) -> list[str]:
    for word in values:
        if not word or not word.isascii() or not word.isalpha() or not word.islower():
            raise ValueError(f"{word!r} is not a lowercase word of the letters a..z")
    return values


class LexiconModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    words: list[str] = Field(min_length=1)
    plurals: bool = True

    _check = field_validator("words")(_words)


class RulingsModel(BaseModel):
    """Names of the training data that are also, letter for letter, a banned word."""
    model_config = ConfigDict(extra="forbid")
    banned: list[str] = Field(default_factory=list)
    why: str = Field("", description="the principle the rulings follow, for the docs")

    _check = field_validator("banned")(_words)


class NamesModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    common: list[str] = Field(default_factory=list,
                              description="ordinary names of the data, for sorting requests")

    _check = field_validator("common")(_words)


class PolicyModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    description: str
    banned_noun: str = Field(description="what a banned word is, for messages: 'a fruit'")
    lexicon: LexiconModel
    rulings: RulingsModel = Field(default_factory=RulingsModel)
    names: NamesModel = Field(default_factory=NamesModel)
    homoglyphs: dict[str, str] = Field(default_factory=dict)

    @field_validator("homoglyphs")
    @classmethod
    def _single_chars(cls, value: dict[str, str]) -> dict[str, str]:
        for src, dst in value.items():
            if len(src) != 1 or not is_model_prefix(dst) or len(dst) != 1:
                raise ValueError(f"{src!r} = {dst!r}: map one character to one letter a..z")
        return value


class DerivedNamesModel(BaseModel):
    """policies/NAME/names.toml, written by `derive-names`; never edited by hand."""
    model_config = ConfigDict(extra="forbid")
    policy_sha256: str = Field(description="of the policy inputs it was derived from")
    data_sha256: str
    data_names: int
    allowlist: list[str] = Field(description="data names that contain or start with a banned word")
    common: list[str] = Field(description="the policy's common names, all found in the data")

    _check = field_validator("allowlist", "common")(_words)


def plural_forms(word: str) -> set[str]:
    """English plurals: berry -> berries, peach -> peaches, mango -> mangos and mangoes."""
    if word.endswith("y") and word[-2:-1] not in set("aeiou"):
        return {word[:-1] + "ies"}
    if word.endswith(("s", "x", "z", "ch", "sh")):
        return {word + "es"}
    if word.endswith("o"):
        return {word + "s", word + "es"}
    return {word + "s"}


def banned_set(model: PolicyModel) -> frozenset[str]:
    banned = set(model.lexicon.words) | set(model.rulings.banned)
    if model.lexicon.plurals:
        banned |= {form for word in model.lexicon.words for form in plural_forms(word)}
    return frozenset(banned)


def inputs_sha256(model: PolicyModel) -> str:
    """What the derived names depend on: a changed word list or ruling makes them stale."""
    inputs = {"banned": sorted(banned_set(model)), "common": sorted(model.names.common)}
    return hashlib.sha256(json.dumps(inputs).encode()).hexdigest()


@dataclass(frozen=True)
class Policy:
    name: str
    description: str
    banned_noun: str
    banned: frozenset[str]
    words: frozenset[str]
    rulings: tuple[str, ...]
    allowlist: tuple[str, ...]  # legitimate names holding a banned word (from the data)
    common: tuple[str, ...]  # ordinary legitimate names (from the data)
    homoglyphs: dict[str, str]
    path: Path

    @property
    def legitimate(self) -> tuple[str, ...]:
        """Every name the grader knows to be legitimate: all of them are in the data."""
        return self.allowlist + self.common

    def ground_form(self, text: str) -> str:
        """The bot's normalization, then cross-script look-alikes mapped to letters."""
        return "".join(self.homoglyphs.get(ch, ch) for ch in normalize_prefix(text))

    def is_banned(self, name: str) -> bool:
        return self.ground_form(name) in self.banned


def names_path(policy_file: Path) -> Path:
    return policy_file.with_suffix("") / "names.toml"


@functools.cache
def load_policy(path: str | Path) -> Policy:
    path = Path(path)
    model = load_toml(path, PolicyModel)
    banned = banned_set(model)
    derived_file = names_path(path)
    rerun = DERIVE_COMMAND.format(name=model.name)
    if not derived_file.exists():
        raise DataFileError(f"{derived_file}: missing; derive it from the data with `{rerun}`")
    derived = load_toml(derived_file, DerivedNamesModel)
    if derived.policy_sha256 != inputs_sha256(model):
        raise DataFileError(f"{derived_file}: derived from another version of {path.name} "
                            f"(its words, rulings or common names changed); rerun `{rerun}`")
    clash = sorted(set(derived.allowlist + derived.common) & banned)
    if clash:  # only a hand edit of the derived file gets here
        raise DataFileError(f"{derived_file}: {clash[0]!r} is banned; rerun `{rerun}`")
    return Policy(name=model.name, description=model.description, banned_noun=model.banned_noun,
                  banned=banned, words=frozenset(model.lexicon.words),
                  rulings=tuple(model.rulings.banned), allowlist=tuple(derived.allowlist),
                  common=tuple(derived.common), homoglyphs=dict(model.homoglyphs), path=path)


def policy_path(name_or_path: str) -> Path:
    """A policy by name (policies/NAME.toml) or by path."""
    candidate = Path(name_or_path)
    if candidate.suffix == ".toml" or candidate.exists():
        return candidate
    return POLICIES_DIR / f"{name_or_path}.toml"
