"""The bot's line protocol and loop: frozen code shared by starter/bot.py and the grader.

docs/protocol.md describes exactly what this does. The safety hooks come in through a
`Hooks` object (model/filters.py): the bot wraps the student's functions in-process
(`LocalHooks`), the grader wraps a sandboxed worker; both raise `HookFault` when a hook
misbehaves, and a fault refuses the request (fail closed) instead of breaking the protocol.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, BinaryIO, Callable, Iterator, TextIO

# the filters' side, which the loop asks (a submission imports normalize_prefix from here)
from .filters import HookFault, Hooks, LocalHooks, Verdict, is_model_prefix, normalize_prefix

if TYPE_CHECKING:  # numpy is loaded where it is used: the grader's worker never needs it
    import numpy as np

MAX_LINE_BYTES = 4096
MAX_PREFIXES = 100
MAX_PREFIX_LETTERS = 15
MAX_ATTEMPTS = 10
MAX_REASON_CHARS = 200
DEFAULT_TEMPERATURE = 0.5
DEFAULT_REASON = "The request was refused by the safety policy."


class Refusal(Exception):
    """A request refused by the protocol or by the hooks; the message is the reason."""


class Outcome(str, Enum):
    ANSWERED = "answered"
    REFUSED = "refused"  # by the loop's own checks, a pattern or a hook
    FAULTED = "faulted"  # a hook or pattern list misbehaved: refused only to stay safe


@dataclass(frozen=True)
class Attempt:
    """One sampled name and the output filter's verdict on it."""
    prefix: str
    name: str
    verdict: Verdict


@dataclass(frozen=True)
class Response:
    """One answered request line: the text the bot prints and how it came about."""
    text: str
    outcome: Outcome
    names: tuple[str, ...] = ()
    refused_by: str = ""  # "loop", a pattern, a hook, "resampling" or "fault"
    attempts: tuple[Attempt, ...] = ()


def one_line_reason(reason: str) -> str:
    """A refusal reason as one printable line: whitespace collapsed, capped, never empty."""
    text = " ".join("".join(ch if ch.isprintable() else " " for ch in reason).split())
    if len(text) > MAX_REASON_CHARS:
        text = text[: MAX_REASON_CHARS - 3].rstrip() + "..."
    return text or DEFAULT_REASON


@dataclass
class Bot:
    """Answers request lines with the model and a set of hooks."""
    model: object
    hooks: Hooks
    temperature: float = DEFAULT_TEMPERATURE

    def answer(self, line: bytes, rng: np.random.Generator) -> str:
        """One request line (without its newline) to one response line (without newline)."""
        return self.respond(line, rng).text

    def respond(self, line: bytes, rng: np.random.Generator) -> Response:
        """The answer with how it came about (the grader judges and explains from this)."""
        return self.respond_many([(line, rng)])[0]

    def respond_many(self, requests: list[tuple[bytes, np.random.Generator]]) -> list[Response]:
        """The answer to each (line, random stream), each exactly what respond(line, rng)
        gives (each draws from its own stream in the same order; the hooks are stateless),
        computed together: the model steps all pending names at once and the hooks judge
        them in one `check_many` per round."""
        runs = [_Run.of(line, rng) for line, rng in requests]
        asking = [run for run in runs if run.response is None]
        for run, verdict in zip(asking, self.hooks.check_many([("request", list(run.raw)) for run in asking])):
            run.asked(verdict)
        while pending := [run for run in runs if run.response is None]:
            names = self.model.sample_many([run.prefix() for run in pending], self.temperature,
                                           [run.rng for run in pending])
            for run, name, verdict in zip(pending, names, self.hooks.check_many([("name", n) for n in names])):
                run.judged(name, verdict)
        return [run.response for run in runs]


@dataclass(eq=False)
class _Run:
    """Where one answer stands: a name per prefix, each resampled up to MAX_ATTEMPTS times."""
    raw: list[str]
    rng: np.random.Generator
    response: Response | None = None

    def __post_init__(self):
        self.prefixes = [normalize_prefix(p) for p in self.raw] or [""]
        self.names: list[str] = []
        self.attempts: list[Attempt] = []
        self.tries = 0

    @classmethod
    def of(cls, line: bytes, rng: np.random.Generator) -> "_Run":
        try:
            return cls(parse_request(line), rng)
        except Refusal as refusal:
            return cls([], rng, Response("REFUSE: " + one_line_reason(str(refusal)), Outcome.REFUSED,
                                         refused_by="loop"))

    def prefix(self) -> str:
        return self.prefixes[len(self.names)]

    def asked(self, verdict: Verdict | HookFault) -> None:
        """The request filter's answer: refused, faulted, or on to sampling."""
        if isinstance(verdict, HookFault):
            self._fault(verdict)
        elif not verdict.allowed:
            self.response = Response("REFUSE: " + one_line_reason(verdict.reason), Outcome.REFUSED,
                                     refused_by=verdict.by)

    def judged(self, name: str, verdict: Verdict | HookFault) -> None:
        """The output filter's answer on the name just sampled for the current prefix."""
        if isinstance(verdict, HookFault):
            return self._fault(verdict)
        prefix = self.prefix()
        self.attempts.append(Attempt(prefix, name, verdict))
        self.tries += 1
        if verdict.allowed:
            self.names.append(name)
            self.tries = 0
            if len(self.names) == len(self.prefixes):
                self.response = Response("OK: " + ", ".join(self.names), Outcome.ANSWERED,
                                         tuple(self.names), attempts=tuple(self.attempts))
        elif self.tries == MAX_ATTEMPTS:
            reason = f"No safe name starting with {prefix!r} was found in {MAX_ATTEMPTS} attempts."
            self.response = Response("REFUSE: " + one_line_reason(reason), Outcome.REFUSED,
                                     refused_by="resampling", attempts=tuple(self.attempts))

    def _fault(self, fault: HookFault) -> None:
        self.response = Response("REFUSE: " + one_line_reason(f"{fault}; refusing to stay safe."),
                                 Outcome.FAULTED, refused_by="fault", attempts=tuple(self.attempts))


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
    import numpy as np

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

    @click.command(help="Serve names over stdin/stdout (docs/protocol.md).",
                   context_settings={"help_option_names": ["-h", "--help"]})
    @click.option("--seed", default=0, show_default=True, type=click.IntRange(min=0))
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
        if hooks.pattern_error:
            print(f"warning: {hooks.pattern_error}; every request will be refused", file=sys.stderr)
        bot = Bot(model, hooks, temperature)
        stdout = open(sys.stdout.fileno(), "w", encoding="utf-8", closefd=False)
        try:
            serve(bot, seed, sys.stdin.buffer, stdout)
        except KeyboardInterrupt:  # Ctrl-C ends a session typed by hand
            sys.exit(130)
        except BrokenPipeError:  # the reader went away: nothing left to answer
            sys.exit(0)

    try:
        command.main(args=argv, prog_name="bot.py", standalone_mode=False)
    except click.UsageError as exc:  # one line, exit 2: `bot.py --seed -5`
        print(f"Error: {exc.format_message()} (see bot.py --help)", file=sys.stderr)
        sys.exit(2)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
