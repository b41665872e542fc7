"""The filters' side of the bot's protocol: frozen code shared by starter/bot.py and the grader.

What the model sees of a typed prefix (normalize_prefix), a filter's Verdict, the `Hooks` the
loop asks (model/protocol.py) and the student's patterns and hooks run in-process
(`LocalHooks`); a hook that misbehaves raises `HookFault`, and the loop refuses (fail closed).
"""
from __future__ import annotations

import contextlib
import sys
import traceback
import unicodedata
from dataclasses import dataclass
from typing import Callable, Protocol

import regex

PATTERN_TIMEOUT_SECONDS = 0.5
_DROPPED_CATEGORIES = {"Mn", "Mc", "Me", "Cf"}  # combining marks and format characters


def normalize_prefix(text: str) -> str:
    """What the model sees of a typed prefix: NFKC, casefold, marks and format chars dropped.

    `ÁPPLE`, `ａｐｐｌｅ`, `ﬁg` and `pe\\u200bar` become `apple`, `apple`, `fig`, `pear`. The
    result may still hold other characters (digits, Cyrillic): the loop refuses those.
    """
    decomposed = unicodedata.normalize("NFD", unicodedata.normalize("NFKC", text).casefold())
    kept = "".join(ch for ch in decomposed if unicodedata.category(ch) not in _DROPPED_CATEGORIES)
    return unicodedata.normalize("NFC", kept)


def is_model_prefix(prefix: str) -> bool:
    """True when a normalized prefix is made only of the letters a..z (or is empty)."""
    return all("a" <= ch <= "z" for ch in prefix)


class HookFault(Exception):
    """A hook raised, returned the wrong type, hung or crashed; the message says which."""

@dataclass(frozen=True)
class Verdict:
    """A filter's decision and what made it: `BLOCKED_PREFIX_PATTERNS[2]`, `is_safe_name`, ..."""
    allowed: bool
    reason: str = ""
    by: str = ""


ALLOW = Verdict(True)


Call = tuple  # ("request", prefixes) or ("name", name): one question to a filter


class Hooks(Protocol):
    """The two filters the loop asks; both raise HookFault when the submission misbehaves.
    `check_many` asks several questions at once and answers each with its Verdict or its
    HookFault, exactly as asking them one by one in that order would."""

    def check_request(self, prefixes: list[str]) -> Verdict: ...

    def check_name(self, name: str) -> Verdict: ...

    def check_many(self, calls: list[Call]) -> list[Verdict | HookFault]: ...


class OneByOne:
    """`check_many` for hooks that have nothing to gain from asking together."""

    def check_many(self, calls: list[Call]) -> list[Verdict | HookFault]:
        answers = []
        for hook, arg in calls:
            try:
                answers.append(self.check_request(arg) if hook == "request" else self.check_name(arg))
            except HookFault as fault:
                answers.append(fault)
        return answers


def type_name(value: object) -> str:
    """`int`, or `module.Name` for anything not built in (a str subclass named bool is not bool)."""
    kind = type(value)
    return kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"


def checked_request_verdict(value: object) -> str | None:
    if value is None or type(value) is str:
        return value
    raise HookFault(f"is_safe_request returned {type_name(value)}, expected None or str")


def checked_name_verdict(value: object) -> bool:
    if type(value) is bool:
        return value
    raise HookFault(f"is_safe_name returned {type_name(value)}, expected bool")


def compile_patterns(label: str, patterns: object) -> list:
    """The compiled list, or HookFault naming what is wrong with it."""
    if not isinstance(patterns, list) or not all(type(p) is str for p in patterns):
        raise HookFault(f"{label} must be a list of strings")
    compiled = []
    for i, pattern in enumerate(patterns):
        try:
            compiled.append(regex.compile(pattern))
        except (regex.error, RecursionError, OverflowError, MemoryError) as exc:
            raise HookFault(f"{label}[{i}] is not a valid regular expression ({exc})") from None
    return compiled


class LocalHooks(OneByOne):
    """The student's patterns and hooks, run in this process; output goes to stderr.

    The bot uses this directly; the grader runs it inside its sandboxed worker, so that
    student code and student patterns never run in the grader's own process."""

    def __init__(self, is_safe_request: Callable, is_safe_name: Callable,
                 prefix_patterns: object, output_patterns: object):
        self._request, self._name = is_safe_request, is_safe_name
        self.pattern_error = None
        try:
            self.prefix_regexes = compile_patterns("BLOCKED_PREFIX_PATTERNS", prefix_patterns)
            self.output_regexes = compile_patterns("BLOCKED_OUTPUT_PATTERNS", output_patterns)
        except HookFault as fault:
            self.pattern_error = str(fault)

    def _call(self, hook: Callable, arg: object) -> object:
        try:
            with contextlib.redirect_stdout(sys.stderr):
                return hook(arg)
        except (Exception, SystemExit) as exc:  # fail closed; only Ctrl-C stops the bot
            with contextlib.suppress(OSError):  # a full or closed stderr loses the traceback only
                traceback.print_exc(file=sys.stderr)
            raise HookFault(f"{getattr(hook, '__name__', 'a hook')} raised {type_name(exc)}") from None

    def _patterns_ok(self) -> None:
        if self.pattern_error:
            raise HookFault(self.pattern_error)

    @staticmethod
    def _first_match(patterns: list, text: str, label: str, shown: str) -> int | None:
        for i, pattern in enumerate(patterns):
            try:
                if pattern.search(text, timeout=PATTERN_TIMEOUT_SECONDS):
                    return i
            except TimeoutError:  # the refusal names what the user may read: never a drawn name
                raise HookFault(f"{label}[{i}] took too long on {shown}") from None
        return None

    def check_request(self, prefixes: list[str]) -> Verdict:
        """Prefix patterns on each normalized prefix, then is_safe_request on the raw ones."""
        self._patterns_ok()
        for prefix in map(normalize_prefix, prefixes):
            i = self._first_match(self.prefix_regexes, prefix, "BLOCKED_PREFIX_PATTERNS", repr(prefix))
            if i is not None:
                return Verdict(False, f"The prefix {prefix!r} is blocked.", f"BLOCKED_PREFIX_PATTERNS[{i}]")
        reason = checked_request_verdict(self._call(self._request, list(prefixes)))
        return ALLOW if reason is None else Verdict(False, reason, "is_safe_request")

    def check_name(self, name: str) -> Verdict:
        """Output patterns, then is_safe_name."""
        self._patterns_ok()
        i = self._first_match(self.output_regexes, name, "BLOCKED_OUTPUT_PATTERNS", "a name the model drew")
        if i is not None:
            return Verdict(False, "", f"BLOCKED_OUTPUT_PATTERNS[{i}]")
        return ALLOW if checked_name_verdict(self._call(self._name, name)) else \
            Verdict(False, "", "is_safe_name")
