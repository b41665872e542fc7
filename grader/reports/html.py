"""The HTML report: one self-contained page (no network), readable offline, light or dark.

It reads a GradeResult, the traces explain.py made of its failed public cases (optional) and
the kit's model, to draw the adversary's likeliest leaks letter by letter. It never calls
the submission. Every string is escaped: submissions are hostile.
"""
from __future__ import annotations

from model.protocol import DEFAULT_TEMPERATURE, normalize_prefix

from ..errors import GraderFault
from ..grading.trace import NameTrace, SampleTrace, Trace, prefix_text
from ..kit import load_kit_model
from ..grading.probability import LEAK_DEFINITION, Step, step_probabilities
from ..results import Status, integrity_headline, worst_first
from .page import bar, e, page, pct, plain

MAX_CASES_PER_CATEGORY = 200  # public failures listed per category; the rest are counted
MAX_ATTEMPTS_DRAWN = 24  # sampled names drawn per trace; the rest are counted

def rate_bar(rate) -> str:
    """A rate with its 95% interval: the range as a bracket, the estimate as a mark."""
    total = getattr(rate, "total", 0)
    if not total:
        return '<span class="muted">n/a</span>'
    lo, hi = rate.interval
    return (f'<span class="bar" role="img" aria-label="{e(rate.describe())}">'
            f'<span class="ci" style="left:{pct(lo)};width:{pct(hi - lo)}"></span>'
            f'<span class="pt" style="left:{pct(rate.value)}"></span></span> {e(rate.describe())}')


def mark(passed: bool) -> str:
    return '<span class="pass">&#10003; pass</span>' if passed else '<span class="fail">&#10007; FAIL</span>'


def step_box(step: Step) -> str:
    others = " &middot; ".join(f"{e(tok)} {p:.3f}" for tok, p in step.alternatives)
    return (f'<li class="step" aria-label="after {e(step.context or "the start")}: '
            f'{e(step.token)} with probability {step.probability:.4f}">'
            f'<span class="tok">{e(step.token)}</span><span class="mono">{step.probability:.3f}</span>'
            f'<span class="meter" style="width:{pct(step.probability)}"></span>'
            f'<small>{"else " + others if others else ""}</small></li>')


def given_box(letter: str) -> str:
    return (f'<li class="step given" aria-label="typed: {e(letter)}"><span class="tok">{e(letter)}</span>'
            '<small>typed</small></li>')


def path(steps, label: str, given: str = "") -> str:
    """The letters of a name as boxes: the typed prefix, then each sampled step."""
    return (f'<ol class="path" aria-label="{e(label)}">' + "".join(map(given_box, given))
            + "".join(map(step_box, steps)) + "</ol>")


def name_block(n: int, name: NameTrace) -> str:
    fate = (f'<span class="fail">&#10007; discarded by {e(name.discarded_by)}, resampled</span>'
            if name.discarded_by else '<span class="pass">&#10003; let through</span>')
    banned = ' <strong>(banned)</strong>' if name.banned else ""
    return (f'<p>attempt {n} from <code>{e(name.prefix)}</code>: <code>{e(name.name)}</code>{banned}, '
            f'P = {name.probability:.4g}; {fate}</p>'
            + path(name.steps, f"the letters of {name.name}", name.prefix))


def sample_block(sample: SampleTrace, budget: int) -> str:
    """A sample and at most `budget` of its attempts, drawn letter by letter."""
    verdict = f'<span class="fail">&#10007; {e(sample.why)}</span>' if sample.why else mark(True)
    by = f", refused by {e(sample.refused_by)}" if sample.refused_by else ""
    drawn = max(0, min(budget, len(sample.names)))
    left = len(sample.names) - drawn
    return (f'<h4>sample {sample.sample}: <code>{e(sample.response)}</code> '
            f'<span class="muted">[{e(sample.outcome)}{by}]</span> {verdict}</h4>'
            + "".join(name_block(i, n) for i, n in enumerate(sample.names[:drawn], 1))
            + (f'<p class="muted">... and {left} more attempt(s): see <code>python -m grader '
               f'explain</code></p>' if left > 0 else ""))


def trace_block(trace: Trace) -> str:
    if trace.kind != "request":  # a direct probe of a hook: nothing is sampled
        return '<div class="trace">' + "".join(f"<p>{e(n)}</p>" for n in trace.notes) + "</div>"
    rows = [("prefixes", e(prefix_text(trace, "\u2192")) or "none the loop accepts"),
            ("samples", f"{trace.samples_run} replayed, {trace.samples_failed} failed, "
                        f"{len(trace.shown)} shown")]
    if trace.leak_probability is not None:
        how = (f'<details class="how"><summary>how this is computed</summary>{e(trace.leak_note)}</details>'
               if trace.leak_note == LEAK_DEFINITION else f'<span class="muted">{e(trace.leak_note)}</span>')
        rows.append(("P(leak)", f"<strong>{trace.leak_probability:.6g}</strong> {how}"))
    rows += [("note", e(n)) for n in trace.notes]
    samples, budget = [], MAX_ATTEMPTS_DRAWN  # a request of 100 prefixes stays readable (and small)
    for sample in trace.shown:
        samples.append(sample_block(sample, budget))
        budget -= len(sample.names)
    return ('<div class="trace"><dl>' + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in rows)
            + "</dl>" + "".join(samples) + "</div>")


def case_block(case, trace: Trace | None, submission: str) -> str:
    shown = case.request if len(case.request) <= 200 else case.request[:197] + "..."
    expect = e(case.expect) + (" (gray: anything but a leak)" if plain(case.expect) == "either" else "")
    rows = [("request", f"<code>{e(repr(shown))}</code>"), ("expect", expect),
            ("response", f"<code>{e(case.response)}</code>"), ("why", e(case.why))]
    if case.samples > 1:
        rows.append(("samples", f"{case.failed_samples}/{case.samples} failed"))
    if case.hint:
        rows.append(("hint", e(case.hint)))
    more = trace_block(trace) if trace else (
        f'<p class="muted">For the letter-by-letter trace run <code>python -m grader explain '
        f'{e(submission)} {e(case.key)}</code>.</p>')
    return (f'<details class="case" data-key="{e(case.key)}"><summary>{mark(False)} '
            f'<code>{e(case.key)}</code> &mdash; {e(case.why)}</summary><dl>'
            + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in rows) + f"</dl>{more}</details>")


def summary_section(result) -> str:
    rows = "".join(
        f"<tr><th scope=\"row\">{e(c.name)}</th>"
        f"<td>{bar(c.score / c.weight if c.weight else 0, f'{c.score:.1f} of {c.weight:.1f}')}"
        f" {c.score:.1f}/{c.weight:.1f}</td><td>{e(c.counts.describe())}</td>"
        f"<td>{rate_bar(c.leaks)}</td><td>{rate_bar(c.over_refusal)}</td></tr>"
        for c in result.categories)
    integrity = mark(True) + " shared code intact" if result.integrity_ok else \
        mark(False) + " " + e(integrity_headline(result.causes))
    findings = "".join(f"<li><code>{e(f)}</code></li>" for f in
                       list(result.integrity_findings) + list(result.integrity_diff))
    probes = "".join(f"<li>is_safe_{e(name)}: precision {e(_maybe(s.precision))}, "
                     f"recall {e(_maybe(s.recall))}</li>" for name, s in result.probes.items())
    return (f'<h2 id="summary">Summary</h2><p><strong id="score">{result.score:.1f}/{result.max_score:.1f} '
            f'({result.percent:.1f}%)</strong> &middot; integrity: {integrity}</p>'
            + (f"<ul>{findings}</ul>" if findings else "")
            + ('<table id="categories"><thead><tr><th scope="col">category</th><th scope="col">score</th>'
               '<th scope="col">passed</th><th scope="col">leak rate (95% CI)</th>'
               f'<th scope="col">over-refusal (95% CI)</th></tr></thead><tbody>{rows}</tbody></table>'
               if rows else "")
            + (f"<ul>{probes}</ul>" if probes else ""))


def _maybe(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.1%}"


def adversary_section(result, model) -> str:
    findings = list(result.adversary)
    if not findings:
        return ('<h2 id="adversary">Model-aware adversary</h2><p>No request your filters serve '
                f'can make the bot emit {e(result.banned_noun)}.</p>' if getattr(result, "adversary_ran", False)
                else "")
    items = []
    for f in findings:
        label = f"request {f.request!r} leaks {f.banned_name!r} with probability {f.probability:.3g}"
        drawing = ""
        if model is not None:
            prefix = normalize_prefix(f.request)
            drawing = path(step_probabilities(model, f.banned_name, prefix, DEFAULT_TEMPERATURE),
                           label, prefix)
        items.append(f'<li class="leak"><p>request <code>{e(repr(f.request))}</code> &rarr; '
                     f'<code>{e(f.banned_name)}</code>: P(leak per answer) = '
                     f'<strong>{f.probability:.3e}</strong></p>{drawing}</li>')
    return ('<h2 id="adversary">The likeliest leaks</h2><p>Each path is the model sampling the '
            'banned name letter by letter from the request, with the probability of each step '
            '(and the likeliest other letters).</p><ol>' + "".join(items) + "</ol>")


def failures_section(result, traces: dict, submission: str) -> str:
    failed = [c for c in result.cases if not c.passed]
    public = [c for c in failed if plain(getattr(c, "visibility", "hidden")) == "public"]
    hidden = len(failed) - len(public)
    groups: dict[str, list] = {}
    for case in worst_first(public):
        groups.setdefault(case.category, []).append(case)
    parts = [f'<h2 id="failed">Failed cases ({len(failed)})</h2>']
    if public:
        parts.append('<p><button type="button" id="expand-all">Expand all</button> '
                     '<button type="button" id="collapse-all">Collapse all</button> '
                     '<label>Filter by key <input id="filter" type="search"></label> '
                     '<span id="shown-count"></span> shown</p>')
    for category, cases in groups.items():
        parts.append(f'<h3>{e(category)} ({len(cases)} failed)</h3>')
        parts += [case_block(c, traces.get(c.key), submission) for c in cases[:MAX_CASES_PER_CATEGORY]]
        if len(cases) > MAX_CASES_PER_CATEGORY:
            parts.append(f"<p>... and {len(cases) - MAX_CASES_PER_CATEGORY} more (see --format json)</p>")
    if hidden:
        parts.append(f'<p id="hidden-failed">... and {hidden} hidden case(s), not shown here '
                     '(instructors: --format json)</p>')
    return "".join(parts) if failed else ""


def kit_model_or_none():
    try:
        return load_kit_model()
    except GraderFault:
        return None  # the report still shows the adversary's numbers


def render_html(result, traces: dict | None = None, model=None) -> str:
    """The report page. `traces`: case key -> Trace (explain.trace_failures), public cases
    only; `model`: to draw the adversary's paths (default: the kit's, if it loads)."""
    traces = {k: t for k, t in (traces or {}).items() if plain(getattr(t, "visibility", "")) == "public"}
    model = model or kit_model_or_none()
    head = (f"<h1>guardrail-lab report</h1><p><code>{e(result.submission)}</code> &middot; policy "
            f"{e(result.policy)} &middot; seed {e(result.seed)}</p>")  # no timing: a hook may choose it
    if result.status == Status.GRADER_FAULT:
        body = '<p class="fail">GRADER FAULT: the grader failed, not your submission.</p>'
        body += "".join(f"<p>{e(n)}</p>" for n in result.notes)
        return page("guardrail-lab report", head + body)
    notes = "".join(f"<li>{e(n)}</li>" for n in result.notes)
    body = (head + summary_section(result) + adversary_section(result, model)
            + failures_section(result, traces, result.submission)
            + (f'<h2 id="notes">Notes</h2><ul>{notes}</ul>' if notes else ""))
    return page(f"guardrail-lab report: {result.submission}", body)



def fallback_html(submission: str, status: str, note: str) -> str:
    """grade-all's report for a submission that has no grading result: why there is none."""
    return page(f"guardrail-lab report: {submission}",
                f"<h1>guardrail-lab report</h1><p><code>{e(submission)}</code></p>"
                f'<p class="fail">{e(status.replace("_", " "))}: {e(note)}</p>')
