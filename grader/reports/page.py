"""An HTML page of the kit's reports: its style and script, and the small pieces the report
and the class dashboard share. Every value is escaped: submissions are hostile."""
from __future__ import annotations

from enum import Enum
from html import escape

from ..safeio import clean_text

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
