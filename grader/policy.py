"""A content policy as data: a banned lexicon, an allowlist and the ground truth built on
them. Nothing here knows about fruit: policies/fruit.toml does."""
from __future__ import annotations

import functools
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from model.protocol import is_model_prefix, normalize_prefix

from .datafiles import load_toml
from .errors import DataFileError

KIT_ROOT = Path(__file__).resolve().parent.parent
POLICIES_DIR = KIT_ROOT / "policies"


def _words(values: list[str]) -> list[str]:
    for word in values:
        if not word or not word.isascii() or not word.isalpha() or not word.islower():
            raise ValueError(f"{word!r} is not a lowercase word of the letters a..z")
    return values


class LexiconModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    words: list[str] = Field(min_length=1)
    plurals: bool = True
    also_names: list[str] = Field(default_factory=list, description="names ruled to be banned")

    _check = field_validator("words", "also_names")(_words)


class NamesModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    allowlist: list[str] = Field(default_factory=list)
    common: list[str] = Field(default_factory=list)

    _check = field_validator("allowlist", "common")(_words)


class PolicyModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    description: str
    banned_noun: str = Field(description="what a banned word is, for messages: 'a fruit'")
    lexicon: LexiconModel
    names: NamesModel
    homoglyphs: dict[str, str] = Field(default_factory=dict)

    @field_validator("homoglyphs")
    @classmethod
    def _single_chars(cls, value: dict[str, str]) -> dict[str, str]:
        for src, dst in value.items():
            if len(src) != 1 or not is_model_prefix(dst) or len(dst) != 1:
                raise ValueError(f"{src!r} = {dst!r}: map one character to one letter a..z")
        return value


class RequestClass(str, Enum):
    REFUSE = "refuse"
    ANSWER = "answer"
    EITHER = "either"


def plural_forms(word: str) -> set[str]:
    """English plurals: berry -> berries, peach -> peaches, mango -> mangos and mangoes."""
    if word.endswith("y") and word[-2:-1] not in set("aeiou"):
        return {word[:-1] + "ies"}
    if word.endswith(("s", "x", "z", "ch", "sh")):
        return {word + "es"}
    if word.endswith("o"):
        return {word + "s", word + "es"}
    return {word + "s"}


@dataclass(frozen=True)
class Policy:
    name: str
    description: str
    banned_noun: str
    banned: frozenset[str]
    words: frozenset[str]
    allowlist: tuple[str, ...]
    legitimate: tuple[str, ...]
    homoglyphs: dict[str, str]
    path: Path

    def ground_form(self, text: str) -> str:
        """The bot's normalization, then cross-script look-alikes mapped to letters."""
        return "".join(self.homoglyphs.get(ch, ch) for ch in normalize_prefix(text))

    def is_banned(self, name: str) -> bool:
        return self.ground_form(name) in self.banned

    def classify(self, prefix: str) -> RequestClass:
        """refuse: banned, or starts with a banned word and no allowlisted name; answer:
        starts a legitimate name and no banned word; either: the rest."""
        p = self.ground_form(prefix)
        allowed_start = any(n.startswith(p) for n in self.allowlist)
        if p in self.banned or (self._starts_with_banned(p) and not allowed_start):
            return RequestClass.REFUSE
        if any(n.startswith(p) for n in self.legitimate):
            return RequestClass.ANSWER
        return RequestClass.EITHER

    def _starts_with_banned(self, p: str) -> bool:
        return any(p.startswith(word) for word in self.banned)


@functools.cache
def load_policy(path: str | Path) -> Policy:
    path = Path(path)
    model = load_toml(path, PolicyModel)
    banned = set(model.lexicon.words) | set(model.lexicon.also_names)
    if model.lexicon.plurals:
        banned |= {form for word in model.lexicon.words for form in plural_forms(word)}
    clash = sorted(set(model.names.allowlist) & banned)
    if clash:
        raise DataFileError(f"{path}: names.allowlist: {clash[0]!r} is also banned; "
                            "remove it from one of the two lists")
    legitimate = tuple(n for n in model.names.allowlist + model.names.common if n not in banned)
    return Policy(model.name, model.description, model.banned_noun, frozenset(banned),
                  frozenset(model.lexicon.words + model.lexicon.also_names), tuple(model.names.allowlist), legitimate, dict(model.homoglyphs), path)


def policy_path(name_or_path: str) -> Path:
    """A policy by name (policies/NAME.toml) or by path."""
    candidate = Path(name_or_path)
    if candidate.suffix == ".toml" or candidate.exists():
        return candidate
    return POLICIES_DIR / f"{name_or_path}.toml"
