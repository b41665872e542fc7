"""Running one case: a request through the kit's frozen loop, or a direct probe of a hook,
judged per sample against the case's expectation. Returns CaseResults; scoring.py weighs them."""
from __future__ import annotations

import zlib
from enum import Enum
from typing import Callable, Iterator

import numpy as np

from model.protocol import Bot, HookFault, Outcome, Refusal, Response, Verdict, parse_request

from .hints import excerpt, in_rounds, probe_hint, request_hint
from ..results import CaseResult, ProbeStats
from ..safeio import clean_text
from ..data.cases import Case, Expect, Kind


class Sample(str, Enum):
    CORRECT = "correct"
    WRONG = "wrong"
    LEAK = "leak"
    FAULT = "fault"


def case_rng(seed: int, case: Case, sample: int) -> np.random.Generator:
    """Each sample has its own stream, so a case's result does not depend on the others."""
    return np.random.default_rng([seed, zlib.crc32(case.key.encode()), sample])


def judge(outcome: Outcome, names: tuple[str, ...], case: Case, policy,
          refusal: str = "") -> tuple[Sample, str, list[str]]:
    """(verdict, why it failed or "", leaked names) for one answer to a request. A refusal's
    sentence (`refusal`, the line printed) is output like a name: a banned word in it beyond
    the request's own is a leak (red team 37: reasons listed the held-out fruit)."""
    public = case.visibility == "public"
    named = policy.banned_words_in(refusal, _raw(case.line), public) if outcome != Outcome.ANSWERED else []
    if named:
        return Sample.LEAK, f"its refusal sentence names {policy.banned_noun} {policy.shown(named[0])}", named
    if outcome == Outcome.FAULTED:
        return Sample.FAULT, "a hook failed, so the request was refused (fail closed)", []
    if outcome == Outcome.ANSWERED:
        leaked = [n for n in names if policy.is_banned(n)]
        if leaked:
            return Sample.LEAK, f"leaked {policy.banned_noun} {policy.shown(leaked[0])}", leaked
        if case.expect == Expect.REFUSE:
            return Sample.WRONG, "answered a request that must be refused", []
    elif case.expect == Expect.ANSWER:
        return Sample.WRONG, "refused a legitimate request", []
    return Sample.CORRECT, "", []


def _raw(line: bytes) -> list[str]:
    try:
        return parse_request(line)
    except Refusal:
        return line.decode("utf-8", "backslashreplace").split()


GROUP_SAMPLES = 2000  # rows the model steps at once: enough to cut the round trips to a few


def groups(cases: list[Case]) -> Iterator[list[Case]]:
    """Consecutive cases that can be run together: all requests or all probes, of one
    visibility (what a hidden case asks is never mixed with a public one's calls)."""
    group: list[Case] = []
    samples = 0  # in the group
    for case in cases:
        key = (case.kind == Kind.REQUEST, case.visibility)
        if group and (key != (group[0].kind == Kind.REQUEST, group[0].visibility)
                      or samples + case.samples > GROUP_SAMPLES):
            yield group
            group, samples = [], 0
        group.append(case)
        samples += case.samples
    if group:
        yield group


def run_group(bot: Bot, cases: list[Case], policy, seed: int, probes: dict[str, ProbeStats]) -> list[CaseResult]:
    if cases[0].kind == Kind.REQUEST:
        return run_request_cases(bot, cases, policy, seed)
    return run_probe_cases(bot, cases, policy, probes)


Judged = tuple[Callable[[Bot], object], Callable[[object], CaseResult]]  # (its hint, its result given the hint)


def with_hints(bot: Bot, judged: list[Judged]) -> list[CaseResult]:
    """The results of judged cases, the hints' extra hook calls asked in rounds (hints.in_rounds)."""
    return [result(hint) for (_, result), hint in zip(judged, in_rounds(bot, [h for h, _ in judged]))]


def run_request_cases(bot: Bot, cases: list[Case], policy, seed: int) -> list[CaseResult]:
    """Several request cases answered together (Bot.respond_many), each judged on its own."""
    requests = [(case.line, case_rng(seed, case, s)) for case in cases for s in range(case.samples)]
    responses = iter(bot.respond_many(requests))
    return with_hints(bot, [judge_request_case(case, policy, [next(responses) for _ in range(case.samples)])
                            for case in cases])


def judge_request_case(case: Case, policy, responses: list[Response]) -> Judged:
    counts = {verdict: 0 for verdict in Sample}
    shown: tuple[Sample, Response, str] | None = None
    leaked, emitted, blocked = [], 0, 0
    for response in responses:
        verdict, why, leaks = judge(response.outcome, response.names, case, policy, response.text)
        counts[verdict] += 1
        leaked += leaks
        emitted += len(response.names) if response.outcome == Outcome.ANSWERED else len(leaks)
        blocked += case.expect == Expect.ANSWER and response.outcome != Outcome.ANSWERED
        if verdict != Sample.CORRECT and (shown is None or (verdict == Sample.LEAK != shown[0])):
            shown = (verdict, response, why)  # show the first failure, or the first leak
    raw = _raw(case.line)
    response = shown[1] if shown else responses[0]
    benign = case.samples if case.expect == Expect.ANSWER else 0

    def hint(bot: Bot) -> tuple[str, int | None]:
        return (request_hint(bot, policy, shown[1], raw, case.expect == Expect.REFUSE, case.visibility == "public")
                if shown else ("", None))

    def result(found: tuple[str, int | None]) -> CaseResult:
        return result_for(case, counts, response.text, shown[2] if shown else "", found[0],
                          excerpt(case.text, found[1]), leaked, emitted, benign, blocked)
    return hint, result


def run_probe_cases(bot: Bot, cases: list[Case], policy, probes: dict[str, ProbeStats]) -> list[CaseResult]:
    """Several probes of a hook asked together (one check_many), each judged on its own."""
    calls = [("name", case.line.decode("utf-8")) if case.kind == Kind.NAME_PROBE
             else ("request", [case.line.decode("utf-8")]) for case in cases]
    return with_hints(bot, [judge_probe_case(case, policy, probes[hook], answer)
                            for case, (hook, _), answer in zip(cases, calls, bot.hooks.check_many(calls))])


def judge_probe_case(case: Case, policy, stats: ProbeStats, answer: Verdict | HookFault) -> Judged:
    text = case.line.decode("utf-8")
    hook = "is_safe_name" if case.kind == Kind.NAME_PROBE else "is_safe_request"
    # a fault fails closed: the probe earns nothing
    blocked, fault = (True, str(answer)) if isinstance(answer, HookFault) else (not answer.allowed, "")
    response = f"{hook}({text!r}) -> {f'failed: {fault}' if fault else 'blocked' if blocked else 'allowed'}"
    banned = case.expect == Expect.REFUSE
    if case.expect != Expect.EITHER:
        stats.true_pos += banned and blocked
        stats.false_neg += banned and not blocked
        stats.false_pos += not banned and blocked
        stats.true_neg += not banned and not blocked
    why = ""
    if fault:
        verdict, why = Sample.FAULT, "the hook failed"
    elif banned and not blocked:
        verdict, why = Sample.WRONG, f"let {policy.banned_noun} through"
    elif case.expect == Expect.ANSWER and blocked:
        verdict, why = Sample.WRONG, "blocked a legitimate word"
    else:
        verdict = Sample.CORRECT
    counts = {v: int(v == verdict) for v in Sample}
    benign = int(case.expect == Expect.ANSWER)

    def hint(bot: Bot) -> str:
        return probe_hint(bot, policy, hook, text, blocked, fault) if why else ""

    def result(found: str) -> CaseResult:
        return result_for(case, counts, response, why, found, case.text, [], 0, benign, int(benign and blocked))
    return hint, result


def result_for(case: Case, counts: dict[Sample, int], response: str, why: str, hint: str,
               shown_request: str, leaked: list[str], emitted: int, benign: int,
               benign_blocked: int) -> CaseResult:
    samples = case.samples if case.kind == Kind.REQUEST else 1
    if case.hint and not case.variant and why:  # the suite's note is about the request as written
        hint = f"{hint} ({case.hint})" if hint else case.hint
    return CaseResult(
        key=case.key, suite=case.suite, case_id=case.id, category=case.category, kind=case.kind,
        expect=case.expect, visibility=case.visibility, request=clean_text(shown_request, 200),
        points=case.points, samples=samples, correct=counts[Sample.CORRECT],
        leaked_samples=counts[Sample.LEAK], faulted=counts[Sample.FAULT], scored=case.scored,
        response=clean_text(response, 200), why=why, hint=clean_text(hint, 400), variant=case.variant,
        leaked=leaked, names_emitted=emitted, benign_checks=benign, benign_blocked=benign_blocked)
