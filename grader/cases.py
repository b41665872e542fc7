"""Running one case: a request through the kit's frozen loop, or a direct probe of a hook,
judged against the policy's ground truth. Returns CaseResults; scoring.py weighs them."""
from __future__ import annotations

import zlib

import numpy as np

from model.protocol import Bot, HookFault

from .results import CaseResult, ProbeStats
from .suites import Case, Expect, Kind


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
            blocked = not bot.hooks.check_name(text).allowed
        else:
            blocked = not bot.hooks.check_request([text]).allowed
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
