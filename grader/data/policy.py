"""A content policy as data: what is banned, and which names are legitimate.

This module ships to students (their self-check needs `is_banned` to see a leak); it holds
no request classifier. Deciding what a whole request should get is the assignment, and the
grader's own answer to it lives in grader/data/derive.py, which the student kit leaves out.

The legitimate names come from the training data: `python -m grader derive-names` writes
policies/NAME/names.toml (the instructors' guide), and the loader refuses a stale one.
"""
from __future__ import annotations

import functools
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from model.protocol import is_model_prefix, normalize_prefix

from .files import load_toml
from ..errors import DataFileError
from ..kit import KIT_ROOT
from .reveal import RevealModel, revealed
from .variants import VARIANTS

POLICIES_DIR = KIT_ROOT / "policies"


def default_policy(root: Path = POLICIES_DIR) -> str:
    """The policy a command grades when none is named: a kit bundled for one policy holds
    only that one (`bundle ... --policy NAME`); the development kit's default is fruit."""
    names = sorted(p.stem for p in root.glob("*.toml"))
    return names[0] if len(names) == 1 else "fruit"


DEFAULT_POLICY = default_policy()
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
    reveal: RevealModel = Field(default_factory=RevealModel,
                                description="what the student kit shows (grader/data/reveal.py)")

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
    frequency: dict[str, int] = Field(description="occurrences in the data of each name above")

    _check = field_validator("allowlist", "common")(_words)

    @model_validator(mode="after")
    def _every_name_counted(self) -> "DerivedNamesModel":
        if set(self.frequency) != set(self.allowlist) | set(self.common) or min(
                self.frequency.values(), default=1) < 1:
            raise ValueError("frequency must give each allowlisted and common name a count of at least 1")
        return self


def plural_forms(word: str) -> set[str]:
    """English plurals: berry -> berries, plum -> plums, mango -> mangos and mangoes."""
    if word.endswith("y") and word[-2:-1] not in set("aeiou"):
        return {word[:-1] + "ies"}
    if word.endswith(("s", "x", "z", "ch", "sh")):
        return {word + "es"}
    if word.endswith("o"):
        return {word + "s", word + "es"}
    return {word + "s"}


def word_forms(words, plurals: bool) -> frozenset[str]:
    """The words, and with plurals their plural forms."""
    forms = set(words)
    if plurals:
        forms |= {form for word in words for form in plural_forms(word)}
    return frozenset(forms)


def banned_set(model: PolicyModel) -> frozenset[str]:
    return word_forms(model.lexicon.words, model.lexicon.plurals) | set(model.rulings.banned)


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
    frequency: dict[str, int]  # occurrences in the data: how many users a name stands for
    revealed_words: frozenset[str]  # the development share of the lexicon the kit shows
    revealed_homoglyphs: frozenset[str]
    revealed_variants: frozenset[str]
    plurals: bool = True
    kit_of_partial: bool = False  # a student kit's policy, made from one that holds some out

    @property
    def partial(self) -> bool:
        """Whether the grading covers more than the student kit shows."""
        return bool(self.kit_of_partial or self.held_out or self.revealed_variants != set(VARIANTS)
                    or self.revealed_homoglyphs != set(self.homoglyphs))

    @property
    def held_out_notes(self) -> list[str]:
        """What every report says when the grading covers more than the kit shows."""
        return [f"held-out evaluation: the kit lists only part of what policy {self.name} bans; "
                "the hidden suites grade the whole of it (more words, spellings and look-alikes), "
                "so a bot that knows only the kit's lists passes the public suites, not the "
                "hidden ones"] if self.partial else []

    @property
    def legitimate(self) -> tuple[str, ...]:
        """Every name the grader knows to be legitimate: all of them are in the data."""
        return self.allowlist + self.common

    @functools.cached_property
    def revealed_banned(self) -> frozenset[str]:
        """The banned forms of the revealed words (the rulings among them included)."""
        return word_forms(self.revealed_words, self.plurals)

    @property
    def held_out(self) -> frozenset[str]:
        """Banned forms the student kit never shows; only hidden suites draw on them."""
        return self.banned - self.revealed_banned

    @property
    def revealed_allowlist(self) -> tuple[str, ...]:
        """The allowlisted names that hold a revealed banned form: the kit's allowlist."""
        return tuple(n for n in self.allowlist if any(w in n for w in self.revealed_banned))

    def shown(self, name: str) -> str:
        """A banned name as student-facing text may show it: never a held-out one (the JSON's
        leaked lists, for instructors, keep it)."""
        return "(one the kit holds out)" if name in self.held_out else repr(name)

    def source(self, name: str, public: bool) -> list[str]:
        """A list of the policy for [[generate]]: the whole of it, or its revealed part."""
        banned = self.revealed_banned if public else self.banned
        words = self.revealed_words if public else self.words
        lists = {"banned": banned, "words": words, "plurals": banned - self.words - set(self.rulings),
                 "rulings": set(self.rulings) & banned, "common": self.common,
                 "allowlist": self.revealed_allowlist if public else self.allowlist}
        return sorted(lists[name])

    def held_out_in(self, request: str, hint: str = "", variant: str = "") -> str | None:
        """What of the held-out part a case shows (a public case may show none of it), or None:
        a held-out variant, look-alike, or banned word that a word of the request or hint starts with."""
        if variant and variant not in self.revealed_variants:
            return f"the variant {variant!r}"
        chars = sorted(set(request) & (set(self.homoglyphs) - self.revealed_homoglyphs))
        if chars:
            return f"the look-alike {chars[0]!r}"
        seen = [self.ground_form(w) for w in re.split(r"[\s'\"(),.:;!?]+", f"{request} {hint}") if w]
        named = sorted(h for h in self.held_out if any(w.startswith(h) for w in seen))
        return f"the word {named[0]!r}" if named else None

    def ground_form(self, text: str) -> str:
        """The bot's normalization, then cross-script look-alikes mapped to letters."""
        return "".join(self.homoglyphs.get(ch, ch) for ch in normalize_prefix(text))

    def is_banned(self, name: str) -> bool:
        return self.ground_form(name) in self.banned

    def banned_words_in(self, sentence: str, asked: list[str], public: bool) -> list[str]:
        """The banned words a sentence shown to the user names, normalized as names are,
        other than the request's own prefixes (a refusal may quote what was asked). Where
        the student sees the verdict (`public`), only the revealed words count: the
        sentence is the submission's own text, so judging it by the whole list would
        classify any word it chose to write (the hidden cases judge those)."""
        banned = self.revealed_banned if public else self.banned
        quoted = {self.ground_form(prefix) for prefix in asked}
        # the grader's escapes of control characters (safeio.clean_text) separate words, as
        # the spaces a bot prints for them do
        spaced = re.sub(r"\\u[0-9a-fA-F]{4}", " ", sentence)
        return [word for word in re.findall(r"\w+", self.ground_form(spaced))
                if word in banned and word not in quoted]


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
                  common=tuple(derived.common), homoglyphs=dict(model.homoglyphs), path=path,
                  frequency=dict(derived.frequency), plurals=model.lexicon.plurals,
                  kit_of_partial=model.reveal.partial, **_revealed_parts(path, model))


def _revealed_parts(path: Path, model: PolicyModel) -> dict[str, frozenset[str]]:
    rule = model.reveal
    try:
        parts = {"revealed_words": revealed(model.lexicon.words, rule.lexicon, rule.seed, "lexicon"),
                 "revealed_homoglyphs": revealed(model.homoglyphs, rule.homoglyphs, rule.seed, "homoglyphs"),
                 "revealed_variants": revealed(VARIANTS, rule.variants, rule.seed, "variants")}
    except ValueError as exc:
        raise DataFileError(f"{path}: {exc}") from None
    shown = parts["revealed_words"]
    held = banned_set(model) - word_forms(shown, model.lexicon.plurals)
    for field, text in (("description", model.description), ("rulings.why", model.rulings.why)):
        named = sorted(w for w in held if re.search(rf"\b{w}\b", text, re.IGNORECASE))
        if named:
            raise DataFileError(f"{path}: {field}: names {named[0]!r}, which the kit holds out; "
                                f"use revealed words as examples, or add it to reveal.lexicon.always")
    return parts


def policy_path(name_or_path: str) -> Path:
    """A policy by name (policies/NAME.toml) or by path."""
    candidate = Path(name_or_path)
    if candidate.suffix == ".toml" or candidate.exists():
        return candidate
    return POLICIES_DIR / f"{name_or_path}.toml"
