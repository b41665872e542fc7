"""The runner: integrity gate, then every case through the kit's frozen loop with the
submission's hooks in a sandbox, then the smoke comparison. Returns a GradeResult."""
from __future__ import annotations

import time
import traceback
import zlib
from pathlib import Path
from typing import Callable

import numpy as np

from model import DEFAULT_WEIGHTS, SHIPPED_SHA256, WeightsError, file_sha256, load_model
from model.protocol import Bot, HookFault, checked_name_verdict, checked_request_verdict

from .adversary import find_leaks
from .errors import DataFileError, GraderFault, UsageError
from .integrity import check_file
from .results import CaseResult, CategoryScore, GradeResult, ProbeStats, Rate
from .sandbox import Limits, Sandbox
from .suites import Case, Expect, Kind, Suite, load_suite, rubric_for

DEFAULT_SEED = 1234
SMOKE_LINES = ["j", "ab", "a b c", "", "ma pe ol", "x1", "emma"]
SMOKE_TIMEOUT_SECONDS = 30.0


class SandboxHooks:
    """The Hooks the frozen loop needs, answered by the sandboxed worker."""

    def __init__(self, sandbox: Sandbox):
        self.sandbox = sandbox
        self.prefix_patterns = sandbox.patterns.get("BLOCKED_PREFIX_PATTERNS")
        self.output_patterns = sandbox.patterns.get("BLOCKED_OUTPUT_PATTERNS")

    def check_request(self, prefixes: list[str]) -> str | None:
        return checked_request_verdict(self.sandbox.call("request", list(prefixes)))

    def check_name(self, name: str) -> bool:
        return checked_name_verdict(self.sandbox.call("name", name))


def case_rng(seed: int, case: Case, sample: int) -> np.random.Generator:
    """Each sample has its own stream, so a case's result does not depend on the others."""
    return np.random.default_rng([seed, zlib.crc32(case.key.encode()), sample])


def judge_response(response: str, case: Case, policy) -> tuple[str, list[str], int]:
    """(why it failed or "", leaked names, names emitted) for one request response."""
    if response.startswith("OK: "):
        names = response[4:].split(", ")
        leaked = [n for n in names if policy.is_banned(n)]
        if leaked:
            return f"leaked {policy.banned_noun} {leaked[0]!r}", leaked, len(names)
        if case.expect == Expect.REFUSE:
            return "answered a request that must be refused", [], len(names)
        return "", [], len(names)
    if case.expect == Expect.ANSWER:
        return "refused a legitimate request", [], 0
    return "", [], 0


def run_request_case(bot: Bot, case: Case, policy, seed: int) -> CaseResult:
    failed, first_fail, first_response, why = 0, None, None, ""
    leaked, emitted, blocked = [], 0, 0
    for sample in range(case.samples):
        response = bot.answer(case.line, case_rng(seed, case, sample))
        reason, leaks, n = judge_response(response, case, policy)
        first_response = first_response or response
        leaked += leaks
        emitted += n
        blocked += case.expect == Expect.ANSWER and response.startswith("REFUSE")
        if reason:
            failed += 1
            if first_fail is None or (leaks and not leaked[: -len(leaks)]):  # show the first leak
                first_fail, why = response, reason
    benign = case.samples if case.expect == Expect.ANSWER else 0
    return result_for(case, failed, first_fail or first_response, why, leaked, emitted, benign, blocked)


def run_probe_case(bot: Bot, case: Case, policy, stats: ProbeStats) -> CaseResult:
    text = case.line.decode("utf-8")
    note = ""
    try:
        if case.kind == Kind.NAME_PROBE:
            blocked = not bot.name_allowed(text)
        else:
            blocked = bot.request_refusal([text]) is not None
    except HookFault as fault:
        blocked, note = True, f" (the hook failed: {fault})"  # fail closed, as the bot does
    hook = "is_safe_name" if case.kind == Kind.NAME_PROBE else "is_safe_request"
    response = f"{hook}({text!r}) -> {'blocked' if blocked else 'allowed'}{note}"
    banned = case.expect == Expect.REFUSE
    if case.expect != Expect.EITHER:
        stats.true_pos += banned and blocked
        stats.false_neg += banned and not blocked
        stats.false_pos += not banned and blocked
        stats.true_neg += not banned and not blocked
    why = ""
    if banned and not blocked:
        why = f"let {policy.banned_noun} through"
    elif case.expect == Expect.ANSWER and blocked:
        why = "blocked a legitimate word"
    benign = int(case.expect == Expect.ANSWER)
    return result_for(case, int(bool(why)), response, why, [], 0, benign,
                      int(benign and blocked))


def result_for(case: Case, failed: int, response: str, why: str, leaked: list[str], emitted: int,
               benign: int, benign_blocked: int) -> CaseResult:
    samples = case.samples if case.kind == Kind.REQUEST else 1
    # one leak loses the whole case: the policy is "never"; misses of other kinds cost
    # their share of the samples
    earned = 0.0 if leaked else case.points * (samples - failed) / samples
    return CaseResult(case.key, case.suite, case.id, case.category, case.kind.value,
                      case.expect.value, case.visibility, case.text, case.points, earned, samples,
                      failed, response, why, case.hint, leaked, emitted, benign, benign_blocked)


def score_categories(cases: list[CaseResult], weights: dict[str, float]) -> list[CategoryScore]:
    out = []
    for name, weight in weights.items():
        mine = [c for c in cases if c.category == name]
        if not mine:
            continue
        points = sum(c.points for c in mine)
        earned = sum(c.earned for c in mine)
        # balanced: each expectation present counts equally, so refusing (or answering)
        # everything earns at most half of a category that holds both kinds of case
        groups = [[c for c in mine if c.expect == e] for e in ("refuse", "answer", "either")]
        share = sum(sum(c.earned for c in g) / sum(c.points for c in g) for g in groups if g) \
            / sum(1 for g in groups if g)
        leaks = Rate(sum(len(c.leaked) for c in mine), sum(c.names_emitted for c in mine))
        over = Rate(sum(c.benign_blocked for c in mine), sum(c.benign_checks for c in mine))
        out.append(CategoryScore(name, weight, weight * share, points, earned, len(mine),
                                 sum(not c.passed for c in mine), leaks, over))
    return out


def load_suites(paths: list[Path | Suite]) -> list[Suite]:
    """Suites from paths (or already loaded), all of one policy."""
    suites = [p if isinstance(p, Suite) else load_suite(p) for p in paths]
    if not suites:
        raise UsageError("no suites selected; pass --suite NAME or check policies/<policy>/public/")
    policies = {s.policy.path.resolve() for s in suites}
    if len(policies) > 1:
        raise UsageError("the selected suites belong to different policies; grade one policy at a time")
    return suites


def valid_utf8(line: bytes) -> bool:
    try:
        line.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def smoke_transcript(cases: list[Case], seed: int, extra: int = 8) -> list[str]:
    """Fixed lines plus a seeded draw of the suites' requests, so that a submission cannot
    behave well on the smoke lines alone."""
    pool = [c.text for c in cases if c.kind == Kind.REQUEST and len(c.line) <= 200 and valid_utf8(c.line)]
    rng = np.random.default_rng([seed, 7])
    picks = rng.choice(len(pool), size=min(extra, len(pool)), replace=False) if pool else []
    return SMOKE_LINES + [pool[i] for i in sorted(picks)]


def smoke_compare(submission: Path, model, seed: int, limits: Limits,
                  lines: list[str]) -> tuple[list[str], str]:
    """Run the kit's loop and the submission's own bot.py on one transcript; a difference
    means the shared behaviour was changed at run time. Returns (findings, note)."""
    with Sandbox(submission, limits) as sandbox:
        try:
            sandbox.start()
        except HookFault:
            pass
        bot = Bot(model, SandboxHooks(sandbox))
        rng = np.random.default_rng(seed)
        trusted = [bot.answer(line.encode(), rng) for line in lines]
        if sandbox.restarts or sandbox.dead_reason:
            # its hooks hang or crash, and the bot has no time limit: nothing to compare
            return [], "the smoke comparison was skipped: the hooks hung or crashed on it"
        own = sandbox.run_own_bot(lines, seed, SMOKE_TIMEOUT_SECONDS)
    if isinstance(own, str):
        return [f"[runtime-behaviour] {own}"], ""
    for i, line in enumerate(lines):
        got = own[i] if i < len(own) else "(no line)"
        if got != trusted[i]:
            return [f"[runtime-behaviour] on smoke request {line!r} your bot.py answered {got[:80]!r}, "
                    f"the kit's loop with your hooks answered {trusted[i][:80]!r}: the shared "
                    "behaviour was changed at run time (or a hook is not deterministic)"], ""
    if len(own) != len(trusted):
        return [f"[runtime-behaviour] your bot.py wrote {len(own)} lines for {len(trusted)} requests"], ""
    return [], ""


def load_kit_model():
    """The kit's model, only if its weights are the shipped ones."""
    try:
        digest = file_sha256(DEFAULT_WEIGHTS)
    except OSError as exc:
        raise GraderFault(f"{DEFAULT_WEIGHTS}: cannot read ({exc.strerror}); reinstall the kit") from None
    if digest != SHIPPED_SHA256:
        raise GraderFault(f"{DEFAULT_WEIGHTS} is not the kit's (sha256 {digest[:12]}...); "
                          "restore it with `git checkout weights/model.json`")
    try:
        return load_model(DEFAULT_WEIGHTS)
    except WeightsError as exc:
        raise GraderFault(str(exc)) from None


def grade(submission: str | Path, suite_paths: list[Path | Suite], seed: int = DEFAULT_SEED,
          limits: Limits = Limits(), on_case: Callable[[CaseResult], None] | None = None,
          model=None) -> GradeResult:
    """Grade one submission. Bad inputs raise UsageError/DataFileError; the submission's
    failures are scored; anything else becomes a result with status 'grader_fault'."""
    started = time.monotonic()
    submission = Path(submission)
    if not submission.is_file():
        raise UsageError(f"{submission}: no such file; pass the path of your bot.py")
    suites = load_suites(suite_paths)
    policy = suites[0].policy
    rubric = rubric_for(policy)
    cases = [case for suite in suites for case in suite.cases]
    for case in cases:
        if case.category not in rubric.weights:
            raise DataFileError(f"{case.key}: category {case.category!r} has no weight in "
                                f"{policy.path.with_suffix('')}/rubric.toml")
    used = {c.category for c in cases}
    max_score = sum(w for name, w in rubric.weights.items() if name in used)

    def finish(status, score, results, categories, findings, diff, notes, probes=None, adversary=()):
        return GradeResult(str(submission), status, seed, policy.name, round(score, 4), max_score,
                           round(time.monotonic() - started, 3), status != "integrity_failed",
                           findings, diff, notes, results, categories, probes or {}, list(adversary),
                           policy.banned_noun)

    model = model or load_kit_model()
    integrity = check_file(submission)
    if not integrity.ok:
        return finish("integrity_failed", 0.0, [], [], [str(f) for f in integrity.findings],
                      integrity.diff, ["the shared code was changed: score 0 until it is restored"])
    try:
        notes, results, probes = [], [], {"name": ProbeStats(), "request": ProbeStats()}
        with Sandbox(submission, limits) as sandbox:
            try:
                sandbox.start()
            except HookFault as fault:
                notes.append(f"{fault}; every hook call fails closed")
                tail = sandbox.stderr_tail(600).strip()
                if tail:
                    notes.append("its error output ends with: " + tail.splitlines()[-1][:200])
            if sandbox.proc is not None and not sandbox.network_isolated:
                notes.append("the kernel refused a network namespace: the hooks were not cut off "
                             "from the network")
            if sandbox.granted:
                notes.append("granted o+x (traverse only) on " + ", ".join(map(str, sandbox.granted))
                             + " so that the sandbox user can run Python")
            bot = Bot(model, SandboxHooks(sandbox))
            if bot.pattern_error and not sandbox.import_error:
                notes.append(f"{bot.pattern_error}: every request is refused")
            for case in cases:
                if case.kind == Kind.REQUEST:
                    result = run_request_case(bot, case, policy, seed)
                else:
                    stats = probes["name" if case.kind == Kind.NAME_PROBE else "request"]
                    result = run_probe_case(bot, case, policy, stats)
                results.append(result)
                if on_case:
                    on_case(result)
            adversary = find_leaks(bot, policy) if cases else []
            if sandbox.restarts:
                notes.append(f"the submission's process was restarted {sandbox.restarts} time(s) "
                             "after hangs or crashes")
            started_ok = sandbox.import_error is None
        # a submission that cannot even start has nothing to compare: it is scored as it is
        tamper, smoke_note = smoke_compare(submission, model, seed, limits,
                                           smoke_transcript(cases, seed)) if started_ok else ([], "")
        if smoke_note:
            notes.append(smoke_note)
    except (UsageError, DataFileError, GraderFault):
        raise
    except Exception as exc:  # a grader bug must not look like a student's failure
        return finish("grader_fault", 0.0, [], [], [], [], [
            f"grader fault: {type(exc).__name__}: {exc}",
            traceback.format_exc(limit=-3).strip().splitlines()[-1]])
    categories = score_categories(results, rubric.weights)
    if tamper:
        return finish("integrity_failed", 0.0, results, categories, tamper, [],
                      notes + ["the shared behaviour was changed at run time: score 0"], probes,
                      adversary)
    probes = {k: v for k, v in probes.items() if v.true_pos + v.false_pos + v.false_neg + v.true_neg}
    return finish("graded", sum(c.score for c in categories), results, categories, [], [], notes,
                  probes, adversary)
