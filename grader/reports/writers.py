"""Report writers: each reads a GradeResult and returns text; none changes it, and none
computes a score (grader/grading/scoring.py does, once). A new format is one entry in WRITERS."""
from __future__ import annotations

import json
import textwrap
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Callable

import click

from ..console import fit
from .html import render_html
from ..results import CaseResult, GradeResult, Status, integrity_headline, worst_first

MAX_FAILED_SHOWN = 25
UNSCORED_NOTE = ("the frozen loop refuses these requests by itself (look-alikes, invalid UTF-8, "
                 "over 100 prefixes): shown, never scored")
NEGATIVE_NOTE = ("a negative score: leaks outweigh the right decisions in that category (each leaked "
                 "request costs the rubric's leak_cost times its costliest decision) and lower the total, "
                 "which never goes below 0 (docs/scoring.md)")


@dataclass(frozen=True)
class Options:
    """What a caller may ask of any writer; each writer reads what concerns it."""
    color: bool = False
    hidden_visibility: str = "after_due_date"  # Gradescope visibility of hidden case details
    traces: dict | None = None  # html: explain.Trace of failed public cases, by case key
    model: object = None  # html: the kit's model, when the caller has it loaded already


def _style(text: str, color: bool, **kw) -> str:
    return click.style(text, **kw) if color else text


def _fmt(x: float) -> str:
    return f"{x:.1f}"


def expectation(case: CaseResult) -> str:
    return "either (gray: anything but a leak)" if case.expect == "either" else case.expect.value


def failed_case_lines(case: CaseResult, color: bool = False) -> list[str]:
    mark = _style("FAIL", color, fg="red", bold=True)
    samples = f", {case.failed_samples}/{case.samples} samples failed" if case.samples > 1 else ""
    lines = [f"  {mark} {case.key}  [{case.category}, expect {expectation(case)}{samples}]",
             f"       request:  {case.request!r}",
             f"       response: {case.response}",
             f"       why:      {case.why}"]
    if case.hint:
        lines.append(f"       hint:     {case.hint}")
    return lines


def _rate(rate) -> str:
    """A rate and its 95% interval in at most 19 columns (the counts: --format json)."""
    if not rate.total:
        return "n/a"
    lo, hi = rate.interval
    return f"{rate.value:.1%} ({100 * lo:.1f}-{100 * hi:.1f})"


def _passed(cat: CategoryScore) -> str:
    """Scored cases passed, `*` when the category has unscored ones (the footnote counts them)."""
    return cat.counts.passed_of_scored + ("*" if cat.unscored else "")


def category_lines(result: GradeResult) -> list[str]:
    """The category table, within 80 columns, and what a reader needs to read it."""
    out = [f"  {'category':<14} {'score':>10}  {'passed':>7}  {'leak rate (95% CI)':<19}  over-refusal (95% CI)"]
    for cat in result.categories:
        out.append(f"  {cat.name:<14} {_fmt(cat.score) + '/' + _fmt(cat.weight):>10}  "
                   f"{_passed(cat):>7}  {_rate(cat.leaks):<19}  {_rate(cat.over_refusal)}")
    unscored = [f"{c.name} {c.unscored}" for c in result.categories if c.unscored]
    total = sum(c.unscored for c in result.categories)
    notes = [f"* {total} case(s) not scored ({', '.join(unscored)}): {UNSCORED_NOTE}"] if unscored else []
    if any(c.score < 0 for c in result.categories):
        notes.append(NEGATIVE_NOTE)
    return out + [line for note in notes for line in
                  textwrap.wrap(note, 80, initial_indent="  ", subsequent_indent="    ")]


def render_text(result: GradeResult, color: bool = False) -> str:
    out = [_style(f"guardrail-lab grader: {result.submission}", color, bold=True)
           + f"  (policy {result.policy}, seed {result.seed})"]  # no timing: a hook may choose it
    if result.status == Status.GRADER_FAULT:
        out.append(_style("GRADER FAULT: the grader failed, not your submission.", color, fg="red"))
        out += [f"  {n}" for n in result.notes]
        return "\n".join(out) + "\n"
    if result.integrity_ok:
        out.append("integrity: " + _style("shared code intact", color, fg="green"))
    else:
        out.append("integrity: " + _style(integrity_headline(result.causes), color, fg="red", bold=True))
        out += [f"  {f}" for f in result.integrity_findings]
        if result.integrity_diff:
            out.append("  what changed (restore the kit's lines from starter/bot.py):")
            out += [f"    {d}" for d in result.integrity_diff]
    graded = result.status == Status.GRADED  # a failed integrity's run is not to be read
    if result.categories and graded:
        out += [""] + category_lines(result)
    for name, stats in result.probes.items() if graded else ():
        p = "n/a" if stats.precision is None else f"{stats.precision:.1%}"
        r = "n/a" if stats.recall is None else f"{stats.recall:.1%}"
        out.append(f"  hook probes of is_safe_{name}: precision {p}, recall {r} "
                   f"({stats.true_pos + stats.false_neg} banned, {stats.false_pos + stats.true_neg} legitimate)")
    if result.adversary:
        out.append("")
        out.append("the model-aware adversary's likeliest leaks (exact probability per answer):")
        for f in result.adversary:
            out.append(f"  {f.probability:.2e}  request {f.request!r} -> {f.banned_name!r}")
    elif result.adversary_ran:
        out.append("  model-aware adversary: no request your filters serve can make the bot emit "
                   f"{result.banned_noun}")
    failed = [c for c in result.cases if not c.passed] if graded else []
    public_failed = [c for c in failed if c.visibility == "public"]
    if failed:
        out.append("")
        out.append(f"failed cases ({len(failed)}; the worst first):")
        for case in worst_first(public_failed)[:MAX_FAILED_SHOWN]:
            out += failed_case_lines(case, color)
        if len(public_failed) > MAX_FAILED_SHOWN:
            out.append(f"  ... and {len(public_failed) - MAX_FAILED_SHOWN} more public failures (see --format json)")
        hidden = len(failed) - len(public_failed)
        if hidden:
            out.append(f"  ... and {hidden} hidden case(s), not shown here (instructors: --format json)")
    if result.notes:
        out.append("")
        out += [textwrap.fill(n, 79, initial_indent="note: ", subsequent_indent="      ")
                for n in result.notes]
    out.append("")
    score_text = f"score: {_fmt(result.score)}/{_fmt(result.max_score)} ({result.percent:.1f}%)"
    out.append(_style(score_text, color, bold=True,
                      fg="green" if result.percent >= 95 else "yellow" if result.percent >= 60 else "red"))
    return "\n".join(fit(out)) + "\n"


def render_json(result: GradeResult) -> str:
    return json.dumps(result.to_dict(), indent=2, ensure_ascii=False) + "\n"


def render_gradescope(result: GradeResult, hidden_visibility: str = "after_due_date") -> str:
    from .gradescope import render_gradescope as render  # it builds on this module's writers
    return render(result, hidden_visibility)


def _clean(text: str) -> str:
    """XML 1.0 cannot hold most control characters: show them escaped."""
    return "".join(ch if ch in "\t\n" or (ord(ch) >= 32 and ch not in "\ufffe\uffff")
                   else repr(ch)[1:-1] for ch in text)


JUNIT_COUNTS = (("failure", "failures"), ("error", "errors"), ("skipped", "skipped"))


def render_junit(result: GradeResult) -> str:
    """JUnit XML as Jenkins' xunit-plugin schema (junit-10.xsd) and junitparser read it."""
    root = ET.Element("testsuites", name="guardrail-lab", time=f"{result.seconds:.3f}")
    if not result.integrity_ok or result.status == Status.GRADER_FAULT:
        suite = ET.SubElement(root, "testsuite", name="integrity")
        case = ET.SubElement(suite, "testcase", classname="integrity", name="shared-code")
        tag = "error" if result.status == Status.GRADER_FAULT else "failure"
        headline = integrity_headline(result.causes) if result.status != Status.GRADER_FAULT else None
        ET.SubElement(case, tag, message=_clean(headline or (result.notes or ["failed"])[0])).text = \
            _clean("\n".join(result.integrity_findings + result.integrity_diff + result.notes))
    suites: dict[str, list[CaseResult]] = {}
    for case in result.cases:
        suites.setdefault(case.suite, []).append(case)
    for name, cases in suites.items():
        suite = ET.SubElement(root, "testsuite", name=name)
        for case in cases:
            element = ET.SubElement(suite, "testcase", classname=f"{name}.{case.category}", name=case.case_id)
            if not case.scored:
                ET.SubElement(element, "skipped", message=UNSCORED_NOTE)
            elif not case.passed:
                ET.SubElement(element, "failure", message=_clean(case.why)).text = _clean(
                    "\n".join(line.strip() for line in failed_case_lines(case)))
    for element in [*root, root]:  # every count is read off the test cases it holds
        cases = list(element.iter("testcase"))
        element.set("tests", str(len(cases)))
        # junit-10.xsd allows no `skipped` on <testsuites>: only each <testsuite> counts them
        for tag, attribute in JUNIT_COUNTS if element is not root else JUNIT_COUNTS[:2]:
            element.set(attribute, str(sum(c.find(tag) is not None for c in cases)))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


WRITERS: dict[str, Callable[[GradeResult, Options], str]] = {
    "text": lambda result, options: render_text(result, options.color),
    "json": lambda result, options: render_json(result),
    "gradescope": lambda result, options: render_gradescope(result, options.hidden_visibility),
    "junit": lambda result, options: render_junit(result),
    "html": lambda result, options: render_html(result, options.traces, options.model),
}
FORMATS = tuple(WRITERS)
EXTENSIONS = {"text": "txt", "json": "json", "gradescope": "json", "junit": "xml", "html": "html"}  # per writer


def render(result: GradeResult, fmt: str, color: bool = False,
           hidden_visibility: str = "after_due_date", traces: dict | None = None, model=None) -> str:
    return WRITERS[fmt](result, Options(color=color, hidden_visibility=hidden_visibility, traces=traces,
                                        model=model))
