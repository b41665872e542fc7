"""The playground's page (grader/playground/server.py serves it): static HTML, CSS and script, nothing
remote. The script sets every value from the server as text (textContent), never as HTML,
and draws bars by width alone; each bar also carries its number, so no colour is needed.
Every address is relative: the page lives under the server's token (http://127.0.0.1:PORT/TOKEN/)."""

HTML = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>guardrail-lab playground</title><link rel="stylesheet" href="play.css"></head>
<body>
<header><h1>Playground</h1>
<p class="muted">Type a request as the bot reads it: prefixes separated by spaces (<code>pearl</code>,
<code>a b</code>). Each answer shows which check decided, every name drawn letter by letter and the
exact chance that this request leaks. Choose a letter (Tab, then Enter) to see its distribution and
the forward pass that produced it. Editing your bot file reloads its hooks.</p></header>
<main>
<section aria-labelledby="chat-title"><h2 id="chat-title">Chat</h2>
<form id="ask"><label for="request">Request</label>
<input id="request" name="request" autocomplete="off" autofocus maxlength="4096">
<button id="send" type="submit">Ask</button></form>
<div id="log" role="log" aria-live="polite"></div></section>
<section id="detail" aria-labelledby="detail-title" aria-live="polite">
<h2 id="detail-title">Step</h2><div id="step"><p class="muted">Ask something, then choose a letter.</p></div>
</section>
</main>
<script src="play.js"></script>
</body></html>
"""

CSS = """
:root{color-scheme:light dark;--bg:#fff;--fg:#1b1b1b;--muted:#5a5a5a;--card:#f3f4f6;--line:#c8cbd0;
--bar:#2f5fc4;--neg:#b3261e;--focus:#c05600}
@media (prefers-color-scheme:dark){:root{--bg:#15171b;--fg:#ececec;--muted:#a9adb3;--card:#23262c;
--line:#454a52;--bar:#7aa7ff;--neg:#ff8a80;--focus:#ffb454}}
body{background:var(--bg);color:var(--fg);font:15px/1.45 system-ui,sans-serif;margin:0 auto;
max-width:90rem;padding:1rem 1.5rem}
h1{font-size:1.4rem;margin:.2rem 0}h2{font-size:1.15rem;border-bottom:1px solid var(--line)}
h3{font-size:1rem;margin:.8rem 0 .3rem}
main{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:1.5rem}
@media (max-width:60rem){main{grid-template-columns:1fr}}
code,.mono,.tok{font-family:ui-monospace,monospace}.muted{color:var(--muted)}
form{display:flex;gap:.5rem;align-items:center}input{flex:1}
button,input{font:inherit;color:inherit;background:var(--card);border:1px solid var(--line);
border-radius:4px;padding:.25rem .6rem}
:focus-visible{outline:3px solid var(--focus);outline-offset:2px}
.turn{background:var(--card);border:1px solid var(--line);border-radius:6px;margin:.6rem 0;padding:.4rem .8rem}
.turn p{margin:.2rem 0;overflow-wrap:anywhere}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.15rem .8rem;margin:.4rem 0}dt{color:var(--muted)}
dd{margin:0;overflow-wrap:anywhere}
.path{display:flex;flex-wrap:wrap;gap:.3rem;list-style:none;padding:0;margin:.2rem 0 .5rem}
.path button{display:flex;flex-direction:column;align-items:center;min-width:2.6rem;padding:.1rem .3rem}
.path button[aria-pressed=true]{border-width:3px;font-weight:700}
.path small{color:var(--muted);font-size:.72rem}.path .given{align-self:center;color:var(--muted)}
.bars{display:grid;grid-template-columns:max-content 12rem max-content;gap:.1rem .5rem;align-items:center}
.bar{display:inline-block;height:.75rem;background:var(--card);border:1px solid var(--line);position:relative}
.bar>span{position:absolute;top:0;bottom:0;left:0;background:var(--bar)}
.bar.neg>span{background:var(--neg)}
.chosen{font-weight:700}
table{border-collapse:collapse}td,th{padding:.1rem .35rem;text-align:right;font:12px ui-monospace,monospace}
.vec{display:flex;gap:2px;height:4rem;background:linear-gradient(var(--line),var(--line)) center/100% 1px no-repeat}
.vec i{position:relative;width:.5rem;height:100%}
.vec i span{position:absolute;left:0;right:0;bottom:50%;background:var(--bar)}
.vec i span.neg{bottom:auto;top:50%;background:var(--neg)}
details.note{font-size:.85rem}
"""

SCRIPT = r"""
"use strict";
(function () {
  var form = document.getElementById("ask"), input = document.getElementById("request");
  var log = document.getElementById("log"), detail = document.getElementById("step");
  var send = document.getElementById("send");

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = String(text);
    return node;
  }
  function add(parent, tag, cls, text) { return parent.appendChild(el(tag, cls, text)); }
  function num(p) { return p === null ? "n/a" : (p === 0 || p >= 0.001 ? p.toFixed(4) : p.toExponential(3)); }
  function quote(s) { return "'" + s + "'"; }
  function post(path, body) {
    return fetch(path, {method: "POST", headers: {"Content-Type": "application/json"},
                        body: JSON.stringify(body)}).then(function (r) { return r.json(); });
  }
  function bar(fraction, label) {
    var b = el("span", "bar" + (fraction < 0 ? " neg" : "")), fill = b.appendChild(el("span"));
    b.style.width = "12rem";
    fill.style.width = Math.min(100, 100 * Math.abs(fraction)).toFixed(1) + "%";
    b.setAttribute("role", "img");
    b.setAttribute("aria-label", label);
    return b;
  }
  function bars(parent, rows, chosen) {  // rows: [label, value, fraction]
    var grid = add(parent, "div", "bars");
    rows.forEach(function (row) {
      var mark = row[0] === chosen ? "chosen" : "";
      add(grid, "span", "tok " + mark, row[0] + (row[0] === chosen ? " (drawn)" : ""));
      grid.appendChild(bar(row[2], row[0] + " " + num(row[1])));
      add(grid, "span", "mono " + mark, num(row[1]));
    });
  }
  function vector(parent, title, values) {  // signed values as bars up and down, numbers on hover and in the label
    add(parent, "h3", "", title);
    var scale = Math.max.apply(null, values.map(Math.abs)) || 1, row = add(parent, "div", "vec");
    row.setAttribute("role", "img");
    row.setAttribute("aria-label", title + ": " + values.map(function (v) { return v.toFixed(2); }).join(", "));
    values.forEach(function (v) {
      var s = add(add(row, "i"), "span", v < 0 ? "neg" : "");
      s.style.height = (50 * Math.abs(v) / scale).toFixed(1) + "%";
      s.title = v.toFixed(3);
    });
    add(parent, "p", "muted mono", values.length + " numbers, from " + Math.min.apply(null, values).toFixed(2) +
        " to " + Math.max.apply(null, values).toFixed(2) + " (bars above the line are positive, below negative)");
  }

  function forward(target, step) {
    post("forward", {context: step.context}).then(function (f) {
      if (f.error) { add(target, "p", "", "forward pass: " + f.error); return; }
      add(target, "h3", "", "Forward pass for the letter after " + quote(step.context || "<start>"));
      var last = f.tokens[f.tokens.length - 1];
      vector(target, "1. embedding of " + quote(last) + ": token row of wte", f.token_embedding);
      vector(target, "   plus position " + (f.tokens.length - 1) + ": row of wpe", f.position_embedding);
      add(target, "h3", "", "2. attention: how much each head reads each earlier token");
      var table = add(target, "table"), head = add(table, "tr");
      add(head, "th", "", "head");
      f.tokens.forEach(function (t) { add(head, "th", "", t); });
      f.attention.forEach(function (weights, h) {
        var tr = add(table, "tr");
        add(tr, "th", "", h);
        weights.forEach(function (w) { add(tr, "td", "", w.toFixed(2)); });
      });
      var active = f.mlp.filter(function (v) { return v > 0; }).length;
      vector(target, "3. MLP: " + active + " of " + f.mlp.length + " hidden units active after ReLU", f.mlp);
      add(target, "h3", "", "4. logits / temperature " + f.temperature + " -> softmax: the next-letter distribution");
      var letters = "abcdefghijklmnopqrstuvwxyz".split("").concat(["<end>"]);
      var rows = letters.map(function (t, i) { return [t, f.probabilities[i], f.probabilities[i], f.logits[i]]; });
      rows.sort(function (a, b) { return b[1] - a[1]; });
      bars(target, rows.slice(0, 10).map(function (r) { return [r[0] + " (logit " + r[3].toFixed(2) + ")", r[1], r[2]]; }), "");
    });
  }

  function showStep(step, button) {
    Array.prototype.forEach.call(document.querySelectorAll(".path button"), function (b) {
      b.setAttribute("aria-pressed", String(b === button));
    });
    detail.replaceChildren();
    add(detail, "p", "", "After " + quote(step.context) + " the model drew " + quote(step.token) +
        " with probability " + num(step.probability) + ". The whole next-letter distribution:");
    var target = add(detail, "div", "distribution");
    target.id = "distribution";
    bars(target, step.distribution.map(function (d) { return [d[0], d[1], d[1]]; }), step.token);
    forward(detail, step);
  }

  function names(turn, data) {
    data.names.forEach(function (n, i) {
      var fate = n.discarded_by ? "discarded by " + n.discarded_by + ", drawn again" : "let through";
      add(turn, "p", "", "name " + (i + 1) + " from " + quote(n.prefix) + ": " + quote(n.name) +
          (n.banned ? " (banned)" : "") + ", P = " + num(n.probability) + ", " + fate);
      var path = add(turn, "ol", "path");
      path.setAttribute("aria-label", "letters of " + n.name);
      add(add(path, "li", "given"), "span", "tok", (n.prefix || "<start>") + " ->");  // typed, not drawn
      n.steps.forEach(function (s) {
        var b = add(add(path, "li"), "button");
        b.type = "button";
        b.setAttribute("aria-pressed", "false");
        b.setAttribute("aria-label", "after " + quote(s.context) + ": " + s.token + ", probability " + num(s.probability));
        add(b, "span", "tok", s.token);
        add(b, "small", "", num(s.probability).slice(0, 5));
        b.addEventListener("click", function () { showStep(s, b); });
      });
    });
    if (data.names_total > data.names.length)
      add(turn, "p", "muted", (data.names_total - data.names.length) + " more names drawn, not shown");
  }

  function answer(turn, data) {
    if (data.error || data.refused) {
      add(turn, "p", "bot", "Not answered: " + (data.refused || data.error));
      return;
    }
    add(turn, "p", "bot answer", "Bot: " + data.answer);
    var dl = add(turn, "dl");
    function item(k, v) { add(dl, "dt", "", k); return add(dl, "dd", "", v); }
    item("decided by", data.decided_by);
    item("prefixes", data.prefixes.length ? data.prefixes.map(function (p) {
      return quote(p[0]) + " -> " + quote(p[1]); }).join(", ") : "none the loop accepts");
    var leak = item("P(leak)", num(data.leak) + " ");
    leak.id = "leak";
    var why = add(leak, "details", "note");
    add(why, "summary", "", "how it is computed");
    add(why, "p", "", data.leak_note);
    data.notes.forEach(function (n) { item("note", n); });
    names(turn, data);
    var first = turn.querySelector(".path button");
    if (first) first.click();
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value, turn = el("article", "turn");
    log.insertBefore(turn, log.firstChild);
    add(turn, "p", "you", "You: " + text);
    var waiting = add(turn, "p", "muted", "answering...");
    send.disabled = true;
    post("ask", {request: text}).then(function (data) {
      turn.removeChild(waiting);
      answer(turn, data);
    }).catch(function (err) {
      waiting.textContent = "No answer: " + err + " (is the playground still running?)";
    }).then(function () { send.disabled = false; input.select(); document.body.dataset.answers = String(log.childNodes.length); });
  });
  document.body.dataset.ready = "yes";
})();
"""
