"""The HTML report: one self-contained page (no network), readable offline, light or dark.

It reads a GradeResult, the traces explain.py made of its failed public cases (optional) and
the kit's model, to draw the adversary's likeliest leaks letter by letter. It never calls
the submission. Every string is escaped: submissions are hostile.
"""
from __future__ import annotations

from enum import Enum
from html import escape

from model.protocol import DEFAULT_TEMPERATURE, normalize_prefix

from ..errors import GraderFault
from ..grading.explain import NameTrace, SampleTrace, Trace, prefix_text
from ..kit import load_kit_model
from ..grading.probability import LEAK_DEFINITION, Step, step_probabilities
from ..results import integrity_headline, worst_first
from ..safeio import clean_text

MAX_CASES_PER_CATEGORY = 200  # public failures listed per category; the rest are counted
MAX_ATTEMPTS_DRAWN = 24  # sampled names drawn per trace; the rest are counted

CSS = """
:root{color-scheme:light dark;--bg:#fff;--fg:#1b1b1b;--muted:#5a5a5a;--card:#f3f4f6;
--line:#c8cbd0;--bar:#2f5fc4;--pass:#17703a;--fail:#b3261e;--focus:#c05600}
@media (prefers-color-scheme:dark){:root{--bg:#15171b;--fg:#ececec;--muted:#a9adb3;
--card:#23262c;--line:#454a52;--bar:#7aa7ff;--pass:#5fd38a;--fail:#ff8a80;--focus:#ffb454}}
body{background:var(--bg);color:var(--fg);font:15px/1.45 system-ui,sans-serif;margin:0 auto;
max-width:72rem;padding:1rem 1.5rem}
h1{font-size:1.4rem}h2{font-size:1.15rem;border-bottom:1px solid var(--line);margin-top:2rem}
code,.mono{font-family:ui-monospace,monospace}.muted{color:var(--muted)}
table{border-collapse:collapse}td,th{padding:.25rem .6rem;text-align:left;vertical-align:middle}
tr+tr{border-top:1px solid var(--line)}
.bar{display:inline-block;width:10rem;height:.8rem;background:var(--card);border:1px solid var(--line);
position:relative;vertical-align:middle}.bar>span{position:absolute;top:0;bottom:0;left:0;background:var(--bar)}
.bar>.ci{background:none;border:2px solid var(--fg);border-top:0;border-bottom:0;opacity:.7}
.bar>.pt{width:3px;background:var(--fail)}
.pass{color:var(--pass)}.fail{color:var(--fail)}.pass,.fail{font-weight:600}
details{background:var(--card);border:1px solid var(--line);border-radius:6px;margin:.4rem 0;padding:.3rem .7rem}
summary{cursor:pointer}:focus-visible{outline:3px solid var(--focus);outline-offset:2px}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.15rem .8rem;margin:.4rem 0}dt{color:var(--muted)}
dd{margin:0;overflow-wrap:anywhere}
.path{display:flex;flex-wrap:wrap;align-items:center;gap:.9rem;list-style:none;padding:0;margin:.3rem 0}
.step{display:flex;flex-direction:column;align-items:center;min-width:3.2rem;padding:.2rem;
border:1px solid var(--line);border-radius:4px;background:var(--bg)}
.step{position:relative}
.step+.step::before{content:"\\2192";position:absolute;left:-.85rem;top:50%;transform:translateY(-50%);
color:var(--muted)}
.given{border-style:dashed;opacity:.85}.tok{font:700 1.1rem ui-monospace,monospace}
.meter{height:4px;background:var(--bar);align-self:flex-start}
.step small{color:var(--muted);font-size:.72rem;white-space:nowrap}
button,input{font:inherit;color:inherit;background:var(--card);border:1px solid var(--line);
border-radius:4px;padding:.2rem .6rem}
"""

SCRIPT = """
(function () {
  var cases = Array.prototype.slice.call(document.querySelectorAll("details.case"));
  function setAll(open) { cases.forEach(function (d) { d.open = open; }); }
  var expand = document.getElementById("expand-all"), collapse = document.getElementById("collapse-all");
  if (expand) expand.addEventListener("click", function () { setAll(true); });
  if (collapse) collapse.addEventListener("click", function () { setAll(false); });
  var filter = document.getElementById("filter"), shown = document.getElementById("shown-count");
  function apply() {
    var q = filter ? filter.value.toLowerCase() : "", n = 0;
    cases.forEach(function (d) {
      d.hidden = q !== "" && d.dataset.key.toLowerCase().indexOf(q) < 0;
      n += d.hidden ? 0 : 1;
    });
    if (shown) shown.textContent = String(n);
  }
  if (filter) filter.addEventListener("input", apply);
  apply();
  // report.html#case=KEY opens that case (the dashboard and students can link to one)
  if (location.hash.indexOf("#case=") === 0) {
    var key = decodeURIComponent(location.hash.slice(6));
    cases.forEach(function (d) {
      if (d.dataset.key === key) { d.open = true; d.scrollIntoView(); d.querySelector("summary").focus(); }
    });
  }
  document.body.dataset.ready = "yes";
})();
"""


def plain(value: object) -> object:
    """An enum's value, anything else as it is (results may hold enums or strings)."""
    return value.value if isinstance(value, Enum) else value


def e(value: object) -> str:
    """Any value as escaped, printable HTML text."""
    return escape(clean_text(plain(value), 2000), quote=True)


def pct(x: float) -> str:
    return f"{100 * max(0.0, min(1.0, x)):.1f}%"


def page(title: str, body: str) -> str:
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
            "style-src 'unsafe-inline'; script-src 'unsafe-inline'\">"
            f"<title>{e(title)}</title><style>{CSS}</style></head>\n<body>\n{body}\n"
            f"<script>{SCRIPT}</script></body></html>\n")


def bar(fraction: float, label: str) -> str:
    return f'<span class="bar" role="img" aria-label="{e(label)}"><span style="width:{pct(fraction)}"></span></span>'


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
    if plain(result.status) == "grader_fault":
        body = '<p class="fail">GRADER FAULT: the grader failed, not your submission.</p>'
        body += "".join(f"<p>{e(n)}</p>" for n in result.notes)
        return page("guardrail-lab report", head + body)
    notes = "".join(f"<li>{e(n)}</li>" for n in result.notes)
    body = (head + summary_section(result) + adversary_section(result, model)
            + failures_section(result, traces, result.submission)
            + (f'<h2 id="notes">Notes</h2><ul>{notes}</ul>' if notes else ""))
    return page(f"guardrail-lab report: {result.submission}", body)



def fallback_html(row) -> str:
    """grade-all's report for a submission that has no grading result: why there is none."""
    return page(f"guardrail-lab report: {row.submission}",
                f"<h1>guardrail-lab report</h1><p><code>{e(row.submission)}</code></p>"
                f'<p class="fail">{e(row.status.replace("_", " "))}: {e(row.note)}</p>')
