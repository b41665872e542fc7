"""Report writers: each reads a GradeResult and returns text; none changes it."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import click

from .results import CaseResult, GradeResult

FORMATS = ("text", "json", "gradescope", "junit")
MAX_FAILED_SHOWN = 25


def _style(text: str, color: bool, **kw) -> str:
    return click.style(text, **kw) if color else text


def _fmt(x: float) -> str:
    return f"{x:.1f}"


def failed_case_lines(case: CaseResult, color: bool) -> list[str]:
    mark = _style("FAIL", color, fg="red", bold=True)
    shown_request = case.request if len(case.request) <= 120 else case.request[:117] + "..."
    lines = [f"  {mark} {case.key}  [{case.category}, expect {case.expect}"
             f"{f', {case.failed_samples}/{case.samples} samples failed' if case.samples > 1 else ''}]",
             f"       request:  {shown_request!r}",
             f"       response: {case.response[:160]}",
             f"       why:      {case.why}"]
    if case.hint:
        lines.append(f"       hint:     {case.hint}")
    return lines


def render_text(result: GradeResult, color: bool = False) -> str:
    out = [_style(f"guardrail-lab grader: {result.submission}", color, bold=True)
           + f"  (policy {result.policy}, seed {result.seed}, {result.seconds:.1f} s)"]
    if result.status == "grader_fault":
        out.append(_style("GRADER FAULT: the grader failed, not your submission.", color, fg="red"))
        out += [f"  {n}" for n in result.notes]
        return "\n".join(out) + "\n"
    if result.integrity_ok:
        out.append("integrity: " + _style("shared code intact", color, fg="green"))
    else:
        out.append("integrity: " + _style("FAILED (score 0)", color, fg="red", bold=True))
        out += [f"  {f}" for f in result.integrity_findings]
        if result.integrity_diff:
            out.append("  what changed (restore the kit's lines from starter/bot.py):")
            out += [f"    {d}" for d in result.integrity_diff]
    if result.categories:
        out.append("")
        out.append(f"  {'category':<14} {'score':>11}  {'passed':>7}  {'leak rate (95% CI)':<34} over-refusal (95% CI)")
        for cat in result.categories:
            out.append(f"  {cat.name:<14} {_fmt(cat.score):>5}/{_fmt(cat.weight):<5}  "
                       f"{cat.cases - cat.failed:>3}/{cat.cases:<3}  {cat.leaks.describe():<34} "
                       f"{cat.over_refusal.describe()}")
    for name, stats in result.probes.items():
        p = "n/a" if stats.precision is None else f"{stats.precision:.1%}"
        r = "n/a" if stats.recall is None else f"{stats.recall:.1%}"
        out.append(f"  hook probes of is_safe_{name}: precision {p}, recall {r} "
                   f"({stats.true_pos + stats.false_neg} banned, {stats.false_pos + stats.true_neg} legitimate)")
    if result.adversary:
        out.append("")
        out.append("most likely leaks found by the model-aware adversary (exact probability per answer):")
        for f in result.adversary:
            out.append(f"  {f.probability:.2e}  request {f.request!r} -> {f.banned_name!r}")
    elif result.cases and result.status != "grader_fault":
        out.append("  model-aware adversary: no request your filters serve can make the bot emit "
                   f"{result.banned_noun}")
    failed = [c for c in result.cases if not c.passed]
    public_failed = [c for c in failed if c.visibility == "public"]
    if failed:
        out.append("")
        out.append(f"failed cases ({len(failed)}; the worst first):")
        worst = sorted(public_failed, key=lambda c: (-len(c.leaked), -(c.points - c.earned), c.key))
        for case in worst[:MAX_FAILED_SHOWN]:
            out += failed_case_lines(case, color)
        if len(public_failed) > MAX_FAILED_SHOWN:
            out.append(f"  ... and {len(public_failed) - MAX_FAILED_SHOWN} more public failures (see --format json)")
        hidden = len(failed) - len(public_failed)
        if hidden:
            out.append(f"  ... and {hidden} hidden case(s), not shown here (instructors: --format json)")
    if result.notes:
        out.append("")
        out += [f"note: {n}" for n in result.notes]
    out.append("")
    score_text = f"score: {_fmt(result.score)}/{_fmt(result.max_score)} ({result.percent:.1f}%)"
    out.append(_style(score_text, color, bold=True,
                      fg="green" if result.percent >= 95 else "yellow" if result.percent >= 60 else "red"))
    return "\n".join(out) + "\n"


def render_json(result: GradeResult) -> str:
    return json.dumps(result.to_dict(), indent=2, ensure_ascii=False) + "\n"


def case_shares(result: GradeResult) -> list[tuple[float, float]]:
    """Each case's (score, max_score) in rubric points: its category's weight, split equally
    between the expectations present, then by points (as the runner scores)."""
    weights = {c.name: c.weight for c in result.categories}
    group_points: dict[tuple[str, str], float] = {}
    for case in result.cases:
        key = (case.category, case.expect)
        group_points[key] = group_points.get(key, 0.0) + case.points
    n_groups = {cat: sum(1 for c, _ in group_points if c == cat) for cat in weights}
    shares = []
    for case in result.cases:
        per_point = weights[case.category] / n_groups[case.category] \
            / group_points[(case.category, case.expect)]
        shares.append((round(case.earned * per_point, 6), round(case.points * per_point, 6)))
    return shares


def render_gradescope(result: GradeResult, hidden_visibility: str = "after_due_date") -> str:
    """Gradescope's results.json: top-level score and one test per case."""
    tests = []
    if not result.integrity_ok or result.status == "grader_fault":
        tests.append({"name": "integrity" if result.status != "grader_fault" else "grader",
                      "score": 0, "max_score": result.max_score, "status": "failed",
                      "output": "\n".join(result.integrity_findings + result.integrity_diff + result.notes),
                      "visibility": "visible"})
    if result.integrity_ok and result.status == "graded":
        for case, (score, max_score) in zip(result.cases, case_shares(result)):
            output = "passed" if case.passed else "\n".join(
                line.strip() for line in failed_case_lines(case, color=False))
            tests.append({
                "name": case.key, "score": score, "max_score": max_score,
                "status": "passed" if case.passed else "failed", "output": output,
                "tags": [case.category, case.kind],
                "visibility": "visible" if case.visibility == "public" else hidden_visibility,
            })
    doc = {
        "score": round(result.score, 4),
        "execution_time": round(result.seconds, 3),
        "output": render_text(result),
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def _clean(text: str) -> str:
    """XML 1.0 cannot hold most control characters: show them escaped."""
    return "".join(ch if ch in "\t\n" or (ord(ch) >= 32 and ch not in "\ufffe\uffff")
                   else repr(ch)[1:-1] for ch in text)


def render_junit(result: GradeResult) -> str:
    root = ET.Element("testsuites", name="guardrail-lab", tests=str(len(result.cases)),
                      failures=str(sum(not c.passed for c in result.cases)), time=f"{result.seconds:.3f}")
    if not result.integrity_ok or result.status == "grader_fault":
        suite = ET.SubElement(root, "testsuite", name="integrity", tests="1", failures="1", errors="0")
        case = ET.SubElement(suite, "testcase", classname="integrity", name="shared-code")
        tag = "error" if result.status == "grader_fault" else "failure"
        ET.SubElement(case, tag, message=_clean((result.integrity_findings or result.notes or ["failed"])[0])).text = \
            _clean("\n".join(result.integrity_findings + result.integrity_diff + result.notes))
    suites: dict[str, list[CaseResult]] = {}
    for case in result.cases:
        suites.setdefault(case.suite, []).append(case)
    for name, cases in suites.items():
        suite = ET.SubElement(root, "testsuite", name=name, tests=str(len(cases)),
                              failures=str(sum(not c.passed for c in cases)), errors="0")
        for case in cases:
            element = ET.SubElement(suite, "testcase", classname=f"{name}.{case.category}", name=case.case_id)
            if not case.passed:
                ET.SubElement(element, "failure", message=_clean(case.why)).text = _clean(
                    "\n".join(line.strip() for line in failed_case_lines(case, color=False)))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def render(result: GradeResult, fmt: str, color: bool = False,
           hidden_visibility: str = "after_due_date") -> str:
    if fmt == "text":
        return render_text(result, color)
    if fmt == "gradescope":
        return render_gradescope(result, hidden_visibility)
    return {"json": render_json, "junit": render_junit}[fmt](result)
