"""The bot's line protocol and loop: frozen code shared by starter/bot.py and the grader.

docs/protocol.md describes exactly what this does. The safety hooks come in through a
`Hooks` object: the bot wraps the student's functions in-process (`LocalHooks`), the grader
wraps a sandboxed worker; both raise `HookFault` when a hook misbehaves, and a fault refuses
the request (fail closed) instead of breaking the protocol.
"""
from __future__ import annotations

import contextlib
import sys
import traceback
import unicodedata
from dataclasses import dataclass
from typing import BinaryIO, Callable, Iterator, Protocol, TextIO

import numpy as np
import regex

MAX_LINE_BYTES = 4096
MAX_PREFIXES = 100
MAX_PREFIX_LETTERS = 15
MAX_ATTEMPTS = 10
MAX_REASON_CHARS = 200
DEFAULT_TEMPERATURE = 0.5
DEFAULT_REASON = "The request was refused by the safety policy."
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


class Hooks(Protocol):
    prefix_patterns: list[str]
    output_patterns: list[str]

    def check_request(self, prefixes: list[str]) -> str | None: ...

    def check_name(self, name: str) -> bool: ...


def one_line_reason(reason: str) -> str:
    """A refusal reason as one printable line: whitespace collapsed, capped, never empty."""
    text = " ".join("".join(ch if ch.isprintable() else " " for ch in reason).split())
    if len(text) > MAX_REASON_CHARS:
        text = text[: MAX_REASON_CHARS - 3].rstrip() + "..."
    return text or DEFAULT_REASON


def checked_request_verdict(value: object) -> str | None:
    if value is None or type(value) is str:
        return value
    raise HookFault(f"is_safe_request returned {type(value).__name__}, expected None or str")


def checked_name_verdict(value: object) -> bool:
    if type(value) is bool:
        return value
    raise HookFault(f"is_safe_name returned {type(value).__name__}, expected bool")


class LocalHooks:
    """The student's hooks, called in this process; output goes to stderr, errors fault."""

    def __init__(self, is_safe_request: Callable, is_safe_name: Callable,
                 prefix_patterns: list[str], output_patterns: list[str]):
        self._request, self._name = is_safe_request, is_safe_name
        self.prefix_patterns, self.output_patterns = list(prefix_patterns), list(output_patterns)

    def _call(self, hook: Callable, arg: object) -> object:
        try:
            with contextlib.redirect_stdout(sys.stderr):
                return hook(arg)
        except (Exception, SystemExit) as exc:  # fail closed; only Ctrl-C stops the bot
            traceback.print_exc(file=sys.stderr)
            raise HookFault(f"{hook.__name__} raised {type(exc).__name__}") from None

    def check_request(self, prefixes: list[str]) -> str | None:
        return checked_request_verdict(self._call(self._request, list(prefixes)))

    def check_name(self, name: str) -> bool:
        return checked_name_verdict(self._call(self._name, name))


@dataclass
class Bot:
    """Answers request lines with the model and a set of hooks."""
    model: object
    hooks: Hooks
    temperature: float = DEFAULT_TEMPERATURE

    def __post_init__(self) -> None:
        self.pattern_error = None
        self.prefix_regexes = self._compile("BLOCKED_PREFIX_PATTERNS", self.hooks.prefix_patterns)
        self.output_regexes = self._compile("BLOCKED_OUTPUT_PATTERNS", self.hooks.output_patterns)

    def _compile(self, label: str, patterns: object) -> list:
        if not isinstance(patterns, list) or not all(type(p) is str for p in patterns):
            self.pattern_error = f"{label} must be a list of strings"
            return []
        compiled = []
        for i, pattern in enumerate(patterns):
            try:
                compiled.append(regex.compile(pattern))
            except regex.error as exc:
                self.pattern_error = f"{label}[{i}] is not a valid regular expression ({exc})"
        return compiled

    @staticmethod
    def _matches(patterns: list, text: str, label: str) -> bool:
        try:
            return any(p.search(text, timeout=PATTERN_TIMEOUT_SECONDS) for p in patterns)
        except TimeoutError:
            raise HookFault(f"a pattern in {label} took too long on {text!r}") from None

    def answer(self, line: bytes, rng: np.random.Generator) -> str:
        """One request line (without its newline) to one response line (without newline)."""
        try:
            return "OK: " + ", ".join(self._names(line, rng))
        except Refusal as refusal:
            return "REFUSE: " + one_line_reason(str(refusal))
        except HookFault as fault:
            return "REFUSE: " + one_line_reason(f"{fault}; refusing to stay safe.")

    def _names(self, line: bytes, rng: np.random.Generator) -> list[str]:
        raw = parse_request(line)
        prefixes = [normalize_prefix(p) for p in raw] or [""]
        reason = self.request_refusal(raw)
        if reason is not None:
            raise Refusal(reason)
        return [self._safe_name(prefix, rng) for prefix in prefixes]

    def request_refusal(self, raw: list[str]) -> str | None:
        """Why the request is refused before generation (prefix patterns, then the hook)."""
        if self.pattern_error:
            return f"{self.pattern_error}; refusing to stay safe."
        for prefix in [normalize_prefix(p) for p in raw]:
            if self._matches(self.prefix_regexes, prefix, "BLOCKED_PREFIX_PATTERNS"):
                return f"The prefix {prefix!r} is blocked."
        return self.hooks.check_request(list(raw))

    def name_allowed(self, name: str) -> bool:
        """The output filter: output patterns, then the hook (nothing passes broken patterns)."""
        return not self.pattern_error and not self._matches(self.output_regexes, name, "BLOCKED_OUTPUT_PATTERNS") \
            and self.hooks.check_name(name)

    def _safe_name(self, prefix: str, rng: np.random.Generator) -> str:
        for _ in range(MAX_ATTEMPTS):
            name = self.model.sample(prefix, self.temperature, rng)
            if self.name_allowed(name):
                return name
        raise Refusal(f"No safe name starting with {prefix!r} was found in {MAX_ATTEMPTS} attempts.")


class Refusal(Exception):
    """A request refused by the protocol or by the hooks; the message is the reason."""


def parse_request(line: bytes) -> list[str]:
    """The raw prefixes of a request line, or Refusal for input the model cannot serve."""
    if len(line) > MAX_LINE_BYTES:
        raise Refusal(f"The request is longer than {MAX_LINE_BYTES} bytes.")
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        raise Refusal("The request is not valid UTF-8.") from None
    raw = text.split()
    if len(raw) > MAX_PREFIXES:
        raise Refusal(f"The request has {len(raw)} prefixes; at most {MAX_PREFIXES} are served.")
    for i, typed in enumerate(raw, 1):
        prefix = normalize_prefix(typed)
        if not prefix or not is_model_prefix(prefix):
            raise Refusal(f"Prefix {i} ({typed!r}) is not made of the letters a to z.")
        if len(prefix) > MAX_PREFIX_LETTERS:
            raise Refusal(f"Prefix {i} is longer than {MAX_PREFIX_LETTERS} letters.")
    return raw


def read_lines(stream: BinaryIO) -> Iterator[bytes]:
    """Request lines without their line ending; an over-long line is cut (and later refused)
    without ever holding more than MAX_LINE_BYTES + 1 bytes of it."""
    while True:
        line = stream.readline(MAX_LINE_BYTES + 2)
        if not line:
            return
        if not line.endswith(b"\n") and len(line) > MAX_LINE_BYTES:
            while (rest := stream.readline(65536)) and not rest.endswith(b"\n"):
                pass
        yield line.removesuffix(b"\n").removesuffix(b"\r")


def serve(bot: Bot, seed: int, stdin: BinaryIO, stdout: TextIO) -> None:
    """Answer every line of stdin with one flushed line on stdout, in order, until EOF."""
    rng = np.random.default_rng(seed)
    for line in read_lines(stdin):
        stdout.write(bot.answer(line, rng) + "\n")
        stdout.flush()


def run_bot(is_safe_request: Callable, is_safe_name: Callable, prefix_patterns: list[str],
            output_patterns: list[str], argv: list[str] | None = None) -> None:
    """The command line of starter/bot.py: `python bot.py [--seed N] [--temperature T]`."""
    import click

    from .lm import load_model
    from .weights import DEFAULT_WEIGHTS, WeightsError

    @click.command(help="Serve names over stdin/stdout (docs/protocol.md).")
    @click.option("--seed", default=0, show_default=True, type=int)
    @click.option("--temperature", default=DEFAULT_TEMPERATURE, show_default=True,
                  type=click.FloatRange(min=0, min_open=True))
    @click.option("--weights", default=str(DEFAULT_WEIGHTS), show_default=True,
                  type=click.Path(dir_okay=False))
    def command(seed: int, temperature: float, weights: str) -> None:
        try:
            model = load_model(weights)
        except WeightsError as exc:
            raise click.ClickException(str(exc)) from None
        hooks = LocalHooks(is_safe_request, is_safe_name, prefix_patterns, output_patterns)
        bot = Bot(model, hooks, temperature)
        if bot.pattern_error:
            print(f"warning: {bot.pattern_error}; every request will be refused", file=sys.stderr)
        stdout = open(sys.stdout.fileno(), "w", encoding="utf-8", closefd=False)
        try:
            serve(bot, seed, sys.stdin.buffer, stdout)
        except KeyboardInterrupt:  # Ctrl-C ends a session typed by hand
            sys.exit(130)
        except BrokenPipeError:  # the reader went away: nothing left to answer
            sys.exit(0)

    command.main(args=argv, prog_name="bot.py", standalone_mode=True)
