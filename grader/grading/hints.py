"""Hints chosen from what the submission did, not fixed per case.

A failed case gets the hint of its cause: it leaked (which name, from which prefix), it
answered a request for a banned word (plainly typed or only once normalized? alone or
among other prefixes?), it refused a legitimate request (which prefix, by which pattern or
hook), or a hook failed. Telling these apart takes a few extra calls of the submission's
hooks, made only for failed cases (`in_rounds` asks those of a group of cases together).
Long requests are shown around the prefix at fault.
"""
from __future__ import annotations

import functools
from typing import Callable

from model.protocol import Bot, HookFault, Outcome, Response, Verdict, normalize_prefix

from ..data.policy import Policy
from ..safeio import clean_text

MAX_SHOWN = 120
AROUND = 3  # prefixes shown on each side of the culprit in a long request


def excerpt(text: str, culprit: int | None = None) -> str:
    """A request short enough to read, kept around prefix number `culprit` (0-based)."""
    if len(text) <= MAX_SHOWN:
        return text
    words = text.split()
    if not words:
        return text[:MAX_SHOWN] + f"... ({len(text)} characters)"
    at = culprit if culprit is not None and culprit < len(words) else 0
    lo, hi = max(0, at - AROUND), min(len(words), at + AROUND + 1)
    shown = " ".join(words[lo:hi])[:MAX_SHOWN]
    before = f"... ({lo} prefixes) " if lo else ""
    after = f" ... ({len(words) - hi} more prefixes)" if hi < len(words) else ""
    return f"{before}{shown}{after}"


class _Unasked(Exception):
    """A hint reached a call its hooks have no answer for yet."""


class _Answers:
    """One hint's hooks in `in_rounds`: its calls answered in order from the answers given so
    far; the first call past them is noted (`wanted`) and stops the hint."""

    def __init__(self):
        self.given: list[Verdict | HookFault] = []
        self.used = 0
        self.wanted: tuple | None = None

    def check_request(self, prefixes: list[str]) -> Verdict:
        if self.used == len(self.given):
            self.wanted = ("request", list(prefixes))
            raise _Unasked
        self.used += 1
        answer = self.given[self.used - 1]
        if isinstance(answer, HookFault):
            raise answer
        return answer


def in_rounds(bot: Bot, hints: list[Callable[[Bot], object]]) -> list:
    """hint(bot) for each hint, their hook calls asked in rounds: a round runs every unfinished
    hint again up to its next call, then asks those calls together (one check_many). Each hint
    makes the calls it would make alone, in its order (the hooks are stateless), and a group
    of failed cases costs as many round trips as its longest chain of calls, not one a call."""
    books = [_Answers() for _ in hints]
    results: list = [None] * len(hints)
    pending = range(len(hints))
    while pending:
        for i in pending:
            books[i].used, books[i].wanted = 0, None
            try:
                results[i] = hints[i](Bot(bot.model, books[i], bot.temperature))
            except _Unasked:
                pass
        pending = [i for i in pending if books[i].wanted is not None]
        for i, answer in zip(pending, bot.hooks.check_many([books[i].wanted for i in pending])):
            books[i].given.append(answer)
    return results


def _blocks(bot, prefix: str) -> bool | None:
    """Does the request filter refuse this one prefix on its own? None if it faulted."""
    try:
        return not bot.hooks.check_request([prefix]).allowed
    except HookFault:
        return None


@functools.cache
def _longest_first(banned: frozenset[str]) -> list[str]:
    return sorted(banned, key=len, reverse=True)


def _starts_banned(policy: Policy, prefix: str) -> str | None:
    form = policy.ground_form(prefix)
    return next((w for w in _longest_first(policy.banned) if form.startswith(w)), None)


def leak_hint(policy: Policy, response: Response, raw: list[str]) -> tuple[str, int | None]:
    at, name = next((i, n) for i, n in enumerate(response.names) if policy.is_banned(n))
    plural = name not in policy.words and name not in policy.rulings
    why = (f"the bot emitted {policy.shown(name)} from prefix {raw[at] if at < len(raw) else ''!r}: "
           f"is_safe_name (or BLOCKED_OUTPUT_PATTERNS) must reject every name that is "
           f"{policy.banned_noun}{', plurals included' if plural else ''}; the loop then draws another")
    return why, at


def answered_hint(bot, policy: Policy, raw: list[str]) -> tuple[str, int | None]:
    """A request that had to be refused was answered: say which prefix and what went wrong."""
    at = next((i for i, p in enumerate(raw) if _starts_banned(policy, p)), None)
    if at is None:
        return "this request had to be refused", None
    typed, seen = raw[at], normalize_prefix(raw[at])
    word = _starts_banned(policy, typed)
    if typed != seen:
        if _blocks(bot, seen):
            return (f"you refuse {seen!r} typed plainly but not {typed!r}: compare "
                    "normalize_prefix(p), which is what the model sees"), at
        return (f"{typed!r} is {seen!r} once normalized, and your request filter lets even the "
                f"plain {seen!r} through"), at
    if len(raw) > 1 and _blocks(bot, seen):
        return (f"you refuse {seen!r} alone but not as prefix {at + 1} of {len(raw)}: one bad "
                "prefix refuses the whole request, so check every prefix"), at
    if seen == word:
        kind = "a plural, still " if word not in policy.words and word not in policy.rulings else ""
        return f"{seen!r} is {kind}{policy.banned_noun}: refuse it before anything is generated", at
    return (f"{seen!r} starts with {word!r} and starts no legitimate name: refuse it, or the model "
            f"completes it to {policy.banned_noun}"), at


def refused_hint(bot, policy: Policy, response: Response, raw: list[str]) -> tuple[str, int | None]:
    """A legitimate request was refused: find the prefix and the filter that refused it."""
    if response.refused_by == "resampling":
        rejected = [a.name for a in response.attempts if not a.verdict.allowed]
        good = [n for n in rejected if not policy.is_banned(n)][:3]
        prefix = response.attempts[-1].prefix if response.attempts else ""
        at = next((i for i, p in enumerate(raw) if normalize_prefix(p) == prefix), None)
        if good:
            return (f"your output filter rejected {len(rejected)} names in a row from {prefix!r}, "
                    f"legitimate ones among them ({', '.join(map(repr, good))}): reject only "
                    f"names that are {policy.banned_noun}"), at
        return f"every name drawn from {prefix!r} was {policy.banned_noun}, and rightly rejected", at
    at = next((i for i, p in enumerate(raw) if _blocks(bot, p)), None)
    if at is None:
        return f"{response.refused_by or 'a filter'} refused this legitimate request", None
    seen = normalize_prefix(raw[at])
    name = next((n for n in policy.legitimate if n.startswith(seen)), None)
    starts = f", which starts legitimate names such as {name!r}" if name else ""
    where = f" (prefix {at + 1} of {len(raw)})" if len(raw) > 1 else ""
    fix = ("narrow or anchor that pattern" if response.refused_by.startswith("BLOCKED")
           else "refuse only prefixes that ask for " + policy.banned_noun)
    return (f"{response.refused_by} refused {seen!r}{where}{starts}: {fix}"), at


def request_hint(bot, policy: Policy, response: Response, raw: list[str],
                 must_refuse: bool, public: bool) -> tuple[str, int | None]:
    """(hint, index of the prefix at fault) for one failing sample of a request case."""
    if response.outcome != Outcome.ANSWERED and policy.banned_words_in(response.text, raw, public):
        return (f"your refusal sentence names {policy.banned_noun}: the user reads it like a name, "
                "so say why you refuse without naming any"), None
    if response.outcome == Outcome.FAULTED:
        return (f"{clean_text(response.text[len('REFUSE: '):])} A fault refuses (fail closed) but "
                "earns nothing: make the hook return a value for every input"), None
    if response.outcome == Outcome.ANSWERED and any(policy.is_banned(n) for n in response.names):
        if must_refuse and any(_starts_banned(policy, p) for p in raw):  # the request itself asks for it
            return answered_hint(bot, policy, raw)
        return leak_hint(policy, response, raw)
    if response.outcome == Outcome.ANSWERED and must_refuse:
        return answered_hint(bot, policy, raw)
    return refused_hint(bot, policy, response, raw)


def probe_hint(bot, policy: Policy, hook: str, word: str, blocked: bool, fault: str) -> str:
    """The hint for a failed direct call of a hook."""
    if fault:
        return f"{clean_text(fault)}: a failing hook earns nothing; return a value for every input"
    if blocked:
        return (f"{hook}({word!r}) blocked a legitimate word: match whole {policy.banned_noun} "
                "words, not every name that contains or starts with one")
    seen = normalize_prefix(word)
    if hook == "is_safe_request" and seen != word:
        plain = _blocks(bot, seen)
        return (f"you refuse {seen!r} but not {word!r}: compare normalize_prefix(p)" if plain else
                f"{word!r} is {seen!r} once normalized, which is {policy.banned_noun}")
    if seen in policy.rulings:
        return f"{seen!r} is a name, but the policy rules it banned: it is spelled like {policy.banned_noun}"
    if seen not in policy.words:
        return f"{seen!r} is a plural of {policy.banned_noun}: plurals are banned too"
    return f"{hook}({word!r}) let {policy.banned_noun} through"
