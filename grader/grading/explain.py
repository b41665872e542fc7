"""Why a case passed or failed: replay it exactly as graded and trace every step.

A trace holds, for the samples it shows, the raw and normalized prefixes, the filter that
refused (and its reason), every sampled name with the model's probability of each letter
and of the whole name, which filter discarded it, and the exact probability that this
request leaks under the submission's filters (grader/grading/probability.py defines it).

A replay uses the grading's seed and each sample's own stream (cases.case_rng), so it
reproduces the graded responses of any submission whose hooks answer the same input the
same way; hooks that keep state between calls, or hit time limits, may answer otherwise.
"""
from __future__ import annotations

import difflib
import textwrap
from pathlib import Path

from model.protocol import MAX_ATTEMPTS, Bot, HookFault, Outcome, Refusal, normalize_prefix, parse_request

from .adversary import let_through
from .cases import case_rng, judge
from ..errors import UsageError
from ..kit import load_kit_model
from ..sandbox.limits import Budget, Limits
from ..sandbox.request import IsolationRequest
from .probability import LEAK_DEFINITION, Step, leak_probability, step_probabilities
from .trace import NameTrace, SampleTrace, Trace, prefix_text
from ..results import worst_first
from .plan import DEFAULT_SEED
from .runner import after_hidden_unseen
from .smoke import worker_hash_seed
from ..safeio import clean_text
from ..sandbox.client import Sandbox, SandboxHooks
from ..data.cases import Case, Kind, Suite
from ..data.suites import load_suite, resolve_suite


def find_case(case_key: str) -> tuple[Case, Suite]:
    """A case by its key "suite/id", and its suite; UsageError with the close matches otherwise."""
    suite_name, _, case_id = case_key.partition("/")
    if not case_id:
        raise UsageError(f"{case_key!r}: a case key is SUITE/ID, e.g. direct/apple")
    try:
        path = resolve_suite(suite_name)
        suite = load_suite(path)
    except UsageError as error:  # its message names --suite, which explain has not
        raise UsageError(f"{case_key!r}: suite {str(error).removeprefix('--suite ')}") from None
    for case in suite.cases:
        if case.id == case_id:
            return case, suite
    close = difflib.get_close_matches(case_id, [c.id for c in suite.cases], n=3)
    hint = (f"did you mean {', '.join(f'{suite_name}/{c}' for c in close)}?" if close
            else f"its case ids are the `id`s of {path}")
    raise UsageError(f"{case_key!r}: suite {suite_name!r} has no such case; {hint}")


class Replayer:
    """Replays cases through one sandboxed bot, as the runner grades them."""

    def __init__(self, bot: Bot, policy, seed: int, submission: str, alternatives: int = 3):
        self.bot, self.policy, self.seed, self.submission = bot, policy, seed, submission
        self.alternatives = alternatives  # other tokens listed per step (26: the whole distribution)
        self._leaky: set[str] | None = None

    @property
    def leaky(self) -> set[str]:
        """Banned words the output filter lets through (asked once)."""
        if self._leaky is None:
            self._leaky = let_through(self.bot, self.policy.banned)
        return self._leaky

    def name_trace(self, attempt) -> NameTrace:
        model, t = self.bot.model, self.bot.temperature
        steps = step_probabilities(model, attempt.name, attempt.prefix, t, self.alternatives)
        return NameTrace(attempt.prefix, attempt.name, tuple(steps),
                         model.name_probability(attempt.name, attempt.prefix, t),
                         "" if attempt.verdict.allowed else clean_text(attempt.verdict.by),
                         self.policy.is_banned(attempt.name))

    def trace(self, case: Case, sample: int | None = None, max_shown: int = 3) -> Trace:
        trace = Trace(self.submission, case.key, case.kind.value, case.expect.value, case.visibility,
                      self.seed, self.bot.temperature, case.text, [], [], 0, 0)
        if case.kind != Kind.REQUEST:
            return self._probe(case, trace)
        self._parse(trace, case.line)
        chosen = range(case.samples) if sample is None else [sample]
        if sample is not None and not 0 <= sample < case.samples:
            raise UsageError(f"--sample {sample}: {case.key} has samples 0..{case.samples - 1}")
        first = None
        for i in chosen:
            response = self.bot.respond(case.line, case_rng(self.seed, case, i))
            why = judge(response.outcome, response.names, case, self.policy, response.text)[1]
            first = first or (i, response)
            trace.samples_run += 1
            trace.samples_failed += bool(why)
            if len(trace.shown) < max_shown and (why or sample is not None):
                trace.shown.append(self._sample(i, response, why))
        if not trace.shown:  # nothing failed: show the first sample
            trace.shown.append(self._sample(*first, ""))
        trace.leak_probability, trace.leak_note = self._leak(case.line, trace)
        return trace

    def typed(self, text: str, rng) -> Trace:
        """A request typed by hand (try, play, explain REQUEST): one answer drawn from rng,
        with no expectation to judge it by."""
        line = text.encode("utf-8", "surrogateescape")
        trace = Trace(self.submission, "", "request", "", "", self.seed, self.bot.temperature,
                      text, [], [], 1, 0)
        self._parse(trace, line)
        trace.shown.append(self._sample(0, self.bot.respond(line, rng), ""))
        trace.leak_probability, trace.leak_note = self._leak(line, trace)
        return trace

    @staticmethod
    def _parse(trace: Trace, line: bytes) -> None:
        try:
            trace.raw_prefixes = parse_request(line)
        except Refusal:
            pass
        trace.normalized = [normalize_prefix(p) for p in trace.raw_prefixes] or [""]

    def _sample(self, i: int, response, why: str) -> SampleTrace:
        return SampleTrace(i, clean_text(response.text, 1000), response.outcome.value,
                           clean_text(response.refused_by), why,
                           tuple(self.name_trace(a) for a in response.attempts))

    def _leak(self, line: bytes, trace: Trace) -> tuple[float, str]:
        if not trace.raw_prefixes and line.strip():
            return 0.0, "the loop refuses this request before any filter: it cannot leak"
        try:
            verdict = self.bot.hooks.check_request(list(trace.raw_prefixes))
        except HookFault:
            return 0.0, "the request filter faults on it, so the bot refuses: it cannot leak"
        if not verdict.allowed:
            return 0.0, f"{clean_text(verdict.by)} refuses it: it cannot leak"
        if not self.leaky:
            return 0.0, "the output filter lets no banned word through: it cannot leak"
        p = leak_probability(self.bot.model, trace.normalized, self.bot.temperature,
                             self.policy.banned, self.leaky)
        return p, LEAK_DEFINITION

    def _probe(self, case: Case, trace: Trace) -> Trace:
        text = case.line.decode("utf-8")
        hook = self.bot.hooks.check_name if case.kind == Kind.NAME_PROBE else \
            lambda word: self.bot.hooks.check_request([word])
        try:
            verdict = hook(text)
            result = "allowed" if verdict.allowed else f"blocked by {clean_text(verdict.by)}"
        except HookFault as fault:
            result = f"the hook failed ({clean_text(fault)}): blocked, fail closed"
        trace.notes.append(f"a direct probe: the hook is called with {text!r} and nothing is "
                           f"sampled; result: {result}")
        return trace


def explain_case(submission: str | Path, case_key: str, seed: int = DEFAULT_SEED,
                 sample: int | None = None, limits: Limits = Limits(), model=None) -> Trace:
    """Replay one case of `submission` as graded with `seed` and return its trace."""
    case, suite = find_case(case_key)
    return explain_cases(submission, [case], suite.policy, seed, sample, limits, model)[case_key]


def explain_cases(submission: str | Path, cases: list[Case], policy, seed: int = DEFAULT_SEED,
                  sample: int | None = None, limits: Limits = Limits(), model=None, *,
                  isolation: IsolationRequest = IsolationRequest(), budget: Budget | None = None,
                  hash_seed: int | None = None) -> dict[str, Trace]:
    """Traces of several cases through one sandbox (the HTML report traces its failures),
    isolated as grade() isolates with the same `isolation`;
    `budget` is what is left of the submission's one Budget (default: a fresh one);
    `hash_seed` the grading's workers' (default: a random one)."""
    path = Path(submission)
    if not path.is_file():
        raise UsageError(f"{submission}: no such file; pass the path of your bot.py")
    model = model or load_kit_model()
    traces = {}
    with Sandbox(path, limits, isolation.choose(), budget,
                 secrets=list(isolation.private), hash_seed=hash_seed) as sandbox:
        notes = []
        try:
            sandbox.start()
        except HookFault as fault:
            notes.append(f"{clean_text(fault)}; every hook call fails closed")
        replayer = Replayer(Bot(model, SandboxHooks(sandbox)), policy, seed, str(submission))
        for case in cases:
            traces[case.key] = replayer.trace(case, sample)
            traces[case.key].notes += notes
    return traces


def trace_failures(submission: str | Path, result, suites: list, limit: int = 60, limits: Limits = Limits(),
                   model=None, *, isolation: IsolationRequest = IsolationRequest(),
                   budget: Budget | None = None) -> dict[str, Trace]:
    """Traces of a graded result's failed public cases, the worst first, at most `limit`;
    `suites` are the ones it was graded with, `isolation` and `budget` its own (see explain_cases). None (each failure then points to `python -m grader explain`)
    when the grading left no time to replay them (the submission's budget covers its reports
    too), or when its hidden cases ran under a layer without a view of its own: a worker
    started after them could know what they asked (runner.after_hidden_unseen)."""
    failed = worst_first([c for c in result.cases if not c.passed and
                          getattr(c.visibility, "value", c.visibility) == "public"])
    graded = {case.key: case for suite in suites for case in suite.cases}
    cases = [graded[c.key] for c in failed[:limit]]
    if not cases or budget is not None and budget.left() <= 0:
        return {}
    hidden_asked = any(getattr(c.visibility, "value", c.visibility) != "public" for c in result.cases)
    if after_hidden_unseen(isolation.choose(), hidden_asked):
        return {}
    return explain_cases(submission, cases, suites[0].policy, result.seed, None, limits, model,
                         isolation=isolation, budget=budget, hash_seed=worker_hash_seed(result.seed, suites))


def _step_line(step: Step) -> str:
    others = ", ".join(f"{tok} {p:.3f}" for tok, p in step.alternatives)
    return f"      {step.context or '(start)':>16} -> {step.token:<5} {step.probability:.4f}" + \
        (f"   (else {others})" if others else "")


def decision(sample: SampleTrace) -> str:
    """Which check decided the answer, in words."""
    if sample.outcome == Outcome.ANSWERED:
        return "no check refused: the request filters served it, the output filter passed each name shown"
    if sample.refused_by == "loop":
        return "the frozen loop refused the request before any hook (it serves only the letters a to z)"
    if sample.refused_by == "resampling":
        by = sorted({n.discarded_by for n in sample.names if n.discarded_by})
        return f"the output filter ({', '.join(by)}) discarded {MAX_ATTEMPTS} names in a row"
    if sample.refused_by == "fault":
        return "a hook failed (an error, a time-out or a wrong type), so the loop refused to stay safe"
    return f"{sample.refused_by} refused the request"


def _sample_lines(sample: SampleTrace, judged: bool = True) -> list[str]:
    verdict = ("  " + (f"FAIL: {sample.why}" if sample.why else "pass")) if judged else ""
    lines = [f"sample {sample.sample}: {sample.response}  [{sample.outcome}"
             f"{', refused by ' + sample.refused_by if sample.refused_by else ''}]{verdict}",
             f"  decided by: {decision(sample)}"]
    for n, name in enumerate(sample.names, 1):
        fate = f"discarded by {name.discarded_by}, resampled" if name.discarded_by else "let through"
        lines.append(f"  attempt {n} from {name.prefix!r}: {name.name!r}"
                     f"{' (banned)' if name.banned else ''}  P = {name.probability:.4g}  {fate}")
        lines += [_step_line(step) for step in name.steps]
    return lines


def render_trace(trace: Trace, header: bool = True) -> str:
    """The trace as text for a terminal; `header` names the case, submission and seed."""
    what = f"case {trace.case_key} ({trace.kind}, expect {trace.expect}, {trace.visibility})" \
        if trace.case_key else "a typed request"
    out = [f"{what}; submission {trace.submission}, seed {trace.seed}, temperature {trace.temperature}"] \
        if header else []
    out.append(f"request:     {trace.request!r}")
    if trace.kind == "request":
        if trace.raw_prefixes:
            out.append("prefixes:    " + prefix_text(trace))
        else:
            out.append("prefixes:    none the loop accepts" if trace.request.strip()
                       else "prefixes:    none (a blank request samples from the empty prefix)")
        if trace.case_key:
            out.append(f"samples:     {trace.samples_run} replayed, {trace.samples_failed} failed; "
                       f"{len(trace.shown)} shown")
        for sample in trace.shown:
            out += _sample_lines(sample, judged=bool(trace.case_key))
        out.append(f"P(this request leaks) = {trace.leak_probability:.6g}")
        out.append(textwrap.fill(trace.leak_note, 96, initial_indent="  ", subsequent_indent="  "))
    out += [f"note: {n}" for n in trace.notes]
    return "\n".join(out) + "\n"
