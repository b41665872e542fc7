"""The class dashboard: one self-contained page about every submission of a grade-all run.

Score histogram, per-category distributions, integrity and fault counts, an item analysis
of the cases, the most common leaks and a link to each submission's report. It reads the
gradebook rows of grader/classes/batch.py (or GradeResults) and never calls a submission.

Item analysis: a case's failure rate is the share of graded submissions that failed it;
its discrimination is Kelley's upper-lower index D = (pass rate among the top 27% of
submissions by total score) - (pass rate among the bottom 27%), in -1..1: near 0 the case
does not separate strong from weak submissions, negative it favours the weak ones.
"""
from __future__ import annotations

import math
import os
import statistics
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from ..results import Status
from ..reports.page import bar, e, page
from ..safeio import write_atomic

DASHBOARD_TITLE = "guardrail-lab class dashboard"  # also how grade-all knows a page it wrote
GROUP_SHARE = 0.27
MAX_ITEMS = 60
MAX_LEAKS = 20


@dataclass
class Standing:
    """What the dashboard needs of one submission's gradebook Row."""
    submission: str
    status: Status
    percent: float
    categories: dict[str, float]
    failed_cases: set[str]
    leaks: list[str] = field(default_factory=list)  # banned words it emitted while graded
    exposed: list[str] = field(default_factory=list)  # the adversary's likeliest leaks


def standing_of(row) -> Standing:
    """A gradebook Row (grader/classes/gradebook.py) as a Standing."""
    return Standing(row.submission, row.status, row.percent, dict(row.categories),
                  set(row.failed_cases), list(row.leaks), list(row.exposed))


def upper_lower_index(passed: list[bool], scores: list[float], share: float = GROUP_SHARE) -> float:
    """Kelley's D: pass rate in the top `share` by score minus that in the bottom `share`."""
    n = max(1, math.ceil(share * len(scores)))
    order = sorted(range(len(scores)), key=lambda i: scores[i])
    low, high = order[:n], order[-n:]
    return sum(passed[i] for i in high) / n - sum(passed[i] for i in low) / n


def item_rows(graded: list[Standing]) -> list[tuple[str, float, float]]:
    """(case key, failure rate, D) of every case some graded submission failed."""
    scores = [r.percent for r in graded]
    keys = sorted({k for r in graded for k in r.failed_cases})
    items = []
    for key in keys:
        passed = [key not in r.failed_cases for r in graded]
        items.append((key, 1 - sum(passed) / len(passed), upper_lower_index(passed, scores)))
    return sorted(items, key=lambda item: (-item[1], item[2], item[0]))


def histogram(values: list[float], top: float, buckets: int, label: str) -> str:
    """Vertical bars with their counts written on them (readable without colour)."""
    # a negative score (leaks outweigh correct decisions) counts in the first bar, labelled so
    counts = Counter(max(0, min(int(v / top * buckets), buckets - 1)) if top > 0 else 0 for v in values)
    most = max(counts.values(), default=1)
    negative = any(v < 0 for v in values)
    cols = []
    for b in range(buckets):
        lo, hi = top * b / buckets, top * (b + 1) / buckets
        below = b == 0 and negative  # the first bar also holds the negative scores
        x, span = (f"&lt;{hi:g}", f"below {hi:g}") if below else (f"{lo:g}", f"{lo:g} to {hi:g}")
        cols.append(f'<li aria-label="{span}: {counts[b]}">'
                    f'<span class="n">{counts[b]}</span>'
                    f'<span class="col" style="height:{4 * counts[b] / most:.2f}rem"></span>'
                    f'<span class="x">{x}</span></li>')
    return f'<ol class="hist" aria-label="{e(label)}">' + "".join(cols) + "</ol>"


HIST_CSS = """<style>.hist{display:flex;align-items:flex-end;gap:.3rem;list-style:none;padding:0;
margin:.5rem 0}.hist li{display:flex;flex-direction:column;align-items:center;min-width:2.2rem}
.hist .col{width:100%;background:var(--bar);border:1px solid var(--line)}
.hist .x,.hist .n{font-size:.75rem;color:var(--muted)}</style>"""


NEGATIVE_NOTE = ("<p>Categories of weight 0 (reported, never scored) are left out. A category's score "
                 "is negative when a submission's leaks cost more than its decisions earn "
                 "(docs/scoring.md); means and medians count negative scores as they are, and "
                 "the histograms put them in their first bar. An integrity failure counts 0 "
                 "in every category.</p>")

STATUS_LABELS = {Status.GRADED: "graded", Status.INTEGRITY_FAILED: "failed integrity (score 0)",
                 Status.GRADER_FAULT: "grader faults", Status.NOT_GRADABLE: "not gradable",
                 Status.INTERRUPTED: "interrupted (not graded)"}


def status_section(standings: list[Standing]) -> str:
    counts = Counter(r.status for r in standings)
    statuses = list(STATUS_LABELS) + sorted(set(counts) - set(STATUS_LABELS))
    items = "".join(f'<li id="count-{e(k)}"><strong>{counts.get(k, 0)}</strong> '
                    f'{e(STATUS_LABELS.get(k, k.replace("_", " ")))}</li>' for k in statuses)
    return f'<h2 id="status">Submissions ({len(standings)})</h2><ul>{items}</ul>'


def scores_section(scored: list[Standing], weights: dict[str, float]) -> str:
    if not scored:
        return ""
    percents = [r.percent for r in scored]
    out = ['<h2 id="scores">Scores</h2>',
           f"<p>mean {statistics.mean(percents):.1f}%, median {statistics.median(percents):.1f}%, "
           f"min {min(percents):.1f}%, max {max(percents):.1f}% (graded and integrity failures)</p>",
           NEGATIVE_NOTE,
           histogram(percents, 100.0, 10, "score histogram, percent"),
           '<table id="category-distributions"><thead><tr><th scope="col">category</th>'
           '<th scope="col">mean</th><th scope="col">median</th><th scope="col">distribution</th>'
           '</tr></thead><tbody>']
    names = sorted({name for r in scored for name in r.categories if weights.get(name, 0) > 0})
    for name in names:
        values = [r.categories.get(name, 0.0) for r in scored]
        top = weights[name]
        out.append(f"<tr><th scope=\"row\">{e(name)}</th><td>{statistics.mean(values):.2f}/{top:g}</td>"
                   f"<td>{statistics.median(values):.2f}</td>"
                   f"<td>{histogram(values, top, 5, f'{name} scores, out of {top:g}')}</td></tr>")
    return "".join(out) + "</tbody></table>"


def items_section(graded: list[Standing]) -> str:
    items = item_rows(graded)
    if not items:
        return ""
    rows = "".join(f"<tr><td><code>{e(key)}</code></td><td>{bar(rate, f'{rate:.0%} failed')} {rate:.0%}</td>"
                   f"<td>{d:+.2f}{' (weak)' if d < 0.2 else ''}</td></tr>" for key, rate, d in items[:MAX_ITEMS])
    more = f"<p>... and {len(items) - MAX_ITEMS} more cases.</p>" if len(items) > MAX_ITEMS else ""
    return ('<h2 id="items">Item analysis</h2><p>Failure rate: the share of the '
            f'{len(graded)} graded submissions that failed the case. D: the pass rate of the top '
            f'{GROUP_SHARE:.0%} by total score minus that of the bottom {GROUP_SHARE:.0%} '
            "(Kelley's upper-lower index; below 0.2 the case separates strong and weak "
            'submissions poorly). Cases that every submission passed are left out.</p>'
            '<table id="item-analysis"><thead><tr><th scope="col">case</th><th scope="col">failure rate</th>'
            f'<th scope="col">D</th></tr></thead><tbody>{rows}</tbody></table>{more}')


def leaks_section(standings: list[Standing]) -> str:
    # sorted: most_common breaks ties by first sight, which set order would make hash-seeded
    leaked = Counter(w for r in standings for w in sorted(set(r.leaks)))
    exposed = Counter(w for r in standings for w in sorted(set(r.exposed)))
    if not leaked and not exposed:
        return '<h2 id="leaks">Leaks</h2><p>No submission leaked, and the adversary found no leak.</p>'

    def table(counts: Counter, ident: str, head: str) -> str:
        rows = "".join(f"<tr><td><code>{e(w)}</code></td><td>{n}</td></tr>"
                       for w, n in counts.most_common(MAX_LEAKS))
        return (f'<table id="{ident}"><thead><tr><th scope="col">word</th><th scope="col">{head}</th>'
                f"</tr></thead><tbody>{rows}</tbody></table>") if rows else ""
    return ('<h2 id="leaks">The most common leaks</h2>'
            + table(leaked, "leaked", "submissions that emitted it while graded")
            + table(exposed, "exposed", "submissions among whose likeliest leaks it is (adversary)"))


def links_section(standings: list[Standing], report_links: dict[str, str]) -> str:
    rows = []
    for r in sorted(standings, key=lambda r: r.submission):
        link = report_links.get(r.submission)
        cell = f'<a href="{e(quote(link))}">report</a>' if link else '<span class="muted">none</span>'
        rows.append(f"<tr><td><code>{e(r.submission)}</code></td><td>{e(r.status)}</td>"
                    f"<td>{r.percent:.1f}%</td><td>{cell}</td></tr>")
    return ('<h2 id="reports">Submissions and their reports</h2><table id="submissions"><thead><tr>'
            '<th scope="col">submission</th><th scope="col">status</th><th scope="col">score</th>'
            f'<th scope="col">report</th></tr></thead><tbody>{"".join(rows)}</tbody></table>')


def render_dashboard(rows: list, report_links: dict[str, str] | None = None,
                     weights: dict[str, float] | None = None) -> str:
    """The class page. `report_links`: submission -> relative path of its report;
    `weights`: the rubric's category weights (the scale of each category's distribution)."""
    standings = [standing_of(row) for row in rows]
    scored = [r for r in standings if r.status in (Status.GRADED, Status.INTEGRITY_FAILED)]
    graded = [r for r in standings if r.status == Status.GRADED]
    body = (f"<h1>{DASHBOARD_TITLE}</h1>" + HIST_CSS + status_section(standings)
            + scores_section(scored, weights or {}) + items_section(graded) + leaks_section(standings)
            + links_section(standings, report_links or {}))
    return page(DASHBOARD_TITLE, body)


def write_dashboard(path: Path, rows: list, report_dir: Path, weights: dict[str, float]) -> None:
    """The page of grade-all's --dashboard and of `dashboard`, with links relative to its
    own folder; `weights`: the policy's rubric."""
    here = os.path.abspath(path.parent)
    links = {row.submission: os.path.relpath(os.path.abspath(report_dir / row.report), here)
             for row in rows if getattr(row, "report", "")}
    write_atomic(path, render_dashboard(rows, links, weights))
