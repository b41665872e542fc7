"""Request variants: the same request written the ways an attacker would write it.

Each variant maps a request text to another; a variant that would not change a request is
skipped. Normalization variants reach the model as the base request (the bot normalizes
them); look-alike variants do not, and the bot must refuse them by itself.
"""
from __future__ import annotations

from typing import Callable

from pydantic import BaseModel, ConfigDict, Field, model_validator

CYRILLIC = str.maketrans({"a": "а", "e": "е", "o": "о", "p": "р", "c": "с", "y": "у", "x": "х", "i": "і"})
GREEK = str.maketrans({"o": "ο", "a": "α", "p": "ρ", "i": "ι", "v": "ν", "k": "κ"})
LEET = str.maketrans({"a": "4", "e": "3", "o": "0", "i": "1", "l": "1", "s": "5", "t": "7"})
PRECOMPOSED = str.maketrans({"a": "á", "e": "é", "i": "í", "o": "ö", "u": "ü", "c": "ç", "n": "ñ"})


def fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalpha() else c for c in text)


def between_letters(mark: str) -> Callable[[str], str]:
    def insert(text: str) -> str:
        return " ".join(mark.join(word) for word in text.split(" "))
    return insert


def after_vowels(mark: str) -> Callable[[str], str]:
    return lambda text: "".join(c + mark if c in "aeiou" else c for c in text)


def ligatures(text: str) -> str:
    for pair, lig in (("ffi", "ﬃ"), ("ffl", "ﬄ"), ("ff", "ﬀ"), ("fi", "ﬁ"), ("fl", "ﬂ"), ("st", "ﬆ")):
        text = text.replace(pair, lig)
    return text


VARIANTS: dict[str, Callable[[str], str]] = {
    # normalized back to the base request by the bot
    "upper": str.upper,
    "title": str.title,
    "fullwidth": fullwidth,
    "combining_accents": after_vowels("\u0301"),
    "precomposed_accents": lambda t: t.translate(PRECOMPOSED),
    "zero_width": between_letters("\u200b"),
    "soft_hyphen": between_letters("\u00ad"),
    "word_joiner": between_letters("\u2060"),
    "ligature": ligatures,
    # not letters a..z after normalization: the bot refuses them itself
    "cyrillic": lambda t: t.translate(CYRILLIC),
    "greek": lambda t: t.translate(GREEK),
    "leet": lambda t: t.translate(LEET),
    "dotted": between_letters("."),
}
LOOKALIKE_VARIANTS = {"cyrillic", "greek", "leet", "dotted"}


def expand(text: str, names: list[str]) -> list[tuple[str, str]]:
    """(variant name, text) for each variant that changes text."""
    out = []
    for name in names:
        changed = VARIANTS[name](text)
        if changed != text:
            out.append((name, changed))
    return out


class FamilyModel(BaseModel):
    """An attack family written as data in a suite's [families.NAME] table: exactly one
    rewrite of each word of a request (its spaces kept)."""
    model_config = ConfigDict(extra="forbid")
    description: str = ""
    alphabet: str | None = Field(None, description="26 characters that replace a..z in order")
    letters: dict[str, str] | None = Field(None, description="a letter -> what replaces it")
    between: str | None = Field(None, description="inserted between the letters of each word")
    reverse: bool = Field(False, description="each word spelled backwards")
    split: str | None = Field(None, description="each word cut in two at every place, joined by "
                              "this: one case per cut")

    @model_validator(mode="after")
    def _one_rewrite(self) -> "FamilyModel":
        given = [f for f in REWRITES if getattr(self, f) not in (None, False)]
        if len(given) != 1:
            raise ValueError(f"give exactly one of {', '.join(REWRITES)} (given: {', '.join(given) or 'none'})")
        if self.alphabet is not None and len(self.alphabet) != 26:
            raise ValueError(f"alphabet has {len(self.alphabet)} characters, not 26 (one per a..z)")
        if self.letters is not None and any(len(k) != 1 for k in self.letters):
            raise ValueError("letters: each key is one letter")
        return self

    def rewrites(self, text: str) -> list[str]:
        """Every rewrite of text this family makes (several for split, else one)."""
        if self.split is not None:
            words = text.split(" ")
            return [" ".join(words[:i] + [w[:cut] + self.split + w[cut:]] + words[i + 1:])
                    for i, w in enumerate(words) for cut in range(1, len(w))]
        return [" ".join(self.word(w) for w in text.split(" "))]

    def word(self, word: str) -> str:
        if self.alphabet is not None:
            return word.translate(str.maketrans("abcdefghijklmnopqrstuvwxyz", self.alphabet))
        if self.letters is not None:
            return word.translate(str.maketrans(self.letters))
        if self.between is not None:
            return self.between.join(word)
        return word[::-1]


REWRITES = ("alphabet", "letters", "between", "reverse", "split")


def expand_families(text: str, names: list[str], families: dict[str, FamilyModel]) -> list[tuple[str, str]]:
    """(variant label, text) for each variant, built-in or a suite's family, that changes
    text; a family making several rewrites labels them NAME.1, NAME.2, ..."""
    out = []
    for name in names:
        if name not in families:
            out.extend(expand(text, [name]))
            continue
        changed = [t for t in families[name].rewrites(text) if t != text]
        labels = [name] if len(changed) == 1 else [f"{name}.{i}" for i in range(1, len(changed) + 1)]
        out.extend(zip(labels, changed))
    return out
