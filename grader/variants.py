"""Request variants: the same request written the ways an attacker would write it.

Each variant maps a request text to another; a variant that would not change a request is
skipped. Normalization variants reach the model as the base request (the bot normalizes
them); look-alike variants do not, and the bot must refuse them by itself.
"""
from __future__ import annotations

from typing import Callable

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
