"""The text report: what a student reads on a terminal, within 80 columns, and the lines
of a failed case that the other writers quote."""
from __future__ import annotations

import textwrap

import click

from ..console import fit
from ..results import CaseResult, CategoryScore, GradeResult, Status, integrity_headline, worst_first

MAX_FAILED_SHOWN = 25
UNSCORED_NOTE = ("the frozen loop refuses these requests by itself (look-alikes, invalid UTF-8, "
                 "over 100 prefixes): shown, never scored")
NEGATIVE_NOTE = ("a negative score: leaks outweigh the right decisions in that category (each leaked "
                 "request costs the rubric's leak_cost times its costliest decision) and lower the total, "
                 "which never goes below 0 (docs/scoring.md)")


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


def _passed(cat: CategoryScore) -> str:
    """Scored cases passed, `*` when the category has unscored ones (the footnote counts them)."""
    return cat.counts.passed_of_scored + ("*" if cat.unscored else "")


def category_lines(result: GradeResult) -> list[str]:
    """The category table, within 80 columns, and what a reader needs to read it."""
    out = [f"  {'category':<14} {'score':>10}  {'passed':>7}  {'leak rate (95% CI)':<19}  over-refusal (95% CI)"]
    for cat in result.categories:
        out.append(f"  {cat.name:<14} {_fmt(cat.score) + '/' + _fmt(cat.weight):>10}  "
                   f"{_passed(cat):>7}  {cat.leaks.describe(compact=True):<19}  "
                   f"{cat.over_refusal.describe(compact=True)}")
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
