"""The integrity gate: the shared code is the kit's, and the editable part stays inside.

Outside the STUDENT CODE markers only comments, blank lines and spacing may differ from the
kit's starter/bot.py. Inside, a set of AST rules forbids reaching into the frozen code or the
interpreter. Every finding names a line and a rule; any finding scores the submission 0.
"""
from __future__ import annotations

import ast
import difflib
import io
import re
import tokenize
from dataclasses import dataclass
from pathlib import Path

from ..kit import KIT_ROOT
from ..results import Cause
from .rules import EditableChecker, Finding
from .state_rules import stateful_findings
from ..safeio import clean_text

KIT_STARTER = KIT_ROOT / "starter" / "bot.py"  # the kit's copy
BEGIN_MARKER = "# >>> STUDENT CODE BEGINS"
END_MARKER = "# <<< STUDENT CODE ENDS <<<"
MAX_SUBMISSION_BYTES = 1 << 20
REQUIRED = ("BLOCKED_PREFIX_PATTERNS", "BLOCKED_OUTPUT_PATTERNS", "is_safe_request", "is_safe_name")

CODING_COOKIE = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)")


# One message per cause, with its fix: what the report says after the findings.
CAUSES = {
    Cause.SYNTAX: ("your bot.py cannot be run as it is: fix what the finding names "
                   "(score 0 until it runs)", {"empty", "size", "encoding", "encoding-cookie", "syntax"}),
    Cause.MISSING: ("a required definition is missing: define it between the STUDENT CODE markers "
                    "(score 0 until it is there)", {"missing-definition"}),
    Cause.FORBIDDEN: ("your code uses something a guardrail may not use: remove it (score 0 until it "
                      "is gone)", {"forbidden-import", "escape-hatch", "rebinds-frozen-name", "patches-module"}),
    Cause.STATEFUL: ("your hooks keep state between calls, so an answer can depend on what they were asked "
                     "before: make each answer depend only on its argument (module-level tables built at "
                     "import are fine; score 0 until they are stateless)",
                     {"stateful-hook"}),
    Cause.FROZEN: ("the shared code outside the STUDENT CODE markers was changed: copy it back from "
                   "starter/bot.py (score 0 until it is restored)", {"markers", "frozen-code"}),
}


@dataclass(frozen=True)
class IntegrityReport:
    ok: bool
    findings: list[Finding]
    diff: list[str]

    def cause_kinds(self) -> list[Cause]:
        """Each kind of finding present, in a fixed order."""
        rules = {f.rule for f in self.findings}
        return [cause for cause, (_, members) in CAUSES.items() if rules & members]

    def causes(self) -> list[str]:
        """The message and fix of each kind of finding present, in the same order."""
        return [CAUSES[cause][0] for cause in self.cause_kinds()]


@dataclass(frozen=True)
class Parts:
    header: list[tuple[int, str]]  # (line number, text) outside the markers, before
    footer: list[tuple[int, str]]
    begin: int  # line numbers of the markers
    end: int


def split_parts(text: str) -> Parts | Finding:
    lines = text.splitlines()
    begins = [i for i, line in enumerate(lines, 1) if line.strip().startswith(BEGIN_MARKER)]
    ends = [i for i, line in enumerate(lines, 1) if line.strip() == END_MARKER]
    if len(begins) != 1 or len(ends) != 1 or begins[0] > ends[0]:
        return Finding(begins[0] if begins else 1, "markers",
                       "the STUDENT CODE begin and end markers must each appear once, in order; "
                       "restore them from starter/bot.py")
    b, e = begins[0], ends[0]
    numbered = list(enumerate(lines, 1))
    return Parts(numbered[: b - 1], numbered[e:], b, e)


def code_tokens(numbered: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """(type, string) of the code tokens: comments, blank lines and trailing spaces dropped."""
    source = "\n".join(text for _, text in numbered) + "\n"
    skip = {tokenize.COMMENT, tokenize.NL, tokenize.ENCODING, tokenize.ENDMARKER}
    return [(tok.type, "\n".join(part.rstrip() for part in tok.string.split("\n")))
            for tok in tokenize.generate_tokens(io.StringIO(source).readline) if tok.type not in skip]


def code_lines(numbered: list[tuple[int, str]]) -> list[tuple[int, str]]:
    return [(n, t.rstrip()) for n, t in numbered if t.strip() and not t.strip().startswith("#")]


def frozen_diff(kit: list[tuple[int, str]], sub: list[tuple[int, str]]) -> list[str]:
    """A short line diff of the code lines, with the submission's line numbers."""
    a, b = code_lines(kit), code_lines(sub)
    out = []
    matcher = difflib.SequenceMatcher(a=[t for _, t in a], b=[t for _, t in b], autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        out += [f"- kit line {n}: {t}" for n, t in a[i1:i2]]
        out += [f"+ your line {n}: {clean_text(t, 200)}" for n, t in b[j1:j2]]  # the submission's text
    return out[:12]


def compare_frozen(kit_text: str, text: str) -> tuple[list[Finding], list[str]]:
    kit, sub = split_parts(kit_text), split_parts(text)
    if isinstance(sub, Finding):
        return [sub], []
    findings, diff = [], []
    for label, kit_part, sub_part, fallback in (("before", kit.header, sub.header, sub.begin),
                                                ("after", kit.footer, sub.footer, sub.end)):
        try:
            same = code_tokens(kit_part) == code_tokens(sub_part)
        except (tokenize.TokenError, SyntaxError):
            same = False
        if same:
            continue
        part_diff = frozen_diff(kit_part, sub_part)
        changed = [int(d.split(":")[0].split()[-1]) for d in part_diff if d.startswith("+")]
        findings.append(Finding(changed[0] if changed else fallback, "frozen-code",
                                f"the shared code {label} the STUDENT CODE markers differs from the "
                                "kit's; copy it back from starter/bot.py"))
        diff += part_diff
    return findings, diff


def frozen_bindings(tree: ast.Module, begin: int, end: int) -> set[str]:
    """Names the frozen code binds at module level (its imports and definitions)."""
    names = set()
    for node in tree.body:
        if begin <= node.lineno <= end:
            continue
        for sub in ast.walk(node):
            if isinstance(sub, ast.alias):
                names.add((sub.asname or sub.name).split(".")[0])
            elif isinstance(sub, (ast.FunctionDef, ast.ClassDef)):
                names.add(sub.name)
            elif isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                names.add(sub.id)
    return names


def marker_findings(text: str, tree: ast.Module, parts: Parts) -> list[Finding]:
    """The markers must be real comments (not text inside a string that hides code after
    the end marker), and no statement may straddle one."""
    comments = [(tok.start[0], tok.string.strip()) for tok in
                tokenize.generate_tokens(io.StringIO(text).readline) if tok.type == tokenize.COMMENT]
    begins = [n for n, c in comments if c.startswith(BEGIN_MARKER)]
    ends = [n for n, c in comments if c == END_MARKER]
    if begins != [parts.begin] or ends != [parts.end]:
        return [Finding(parts.end, "markers", "a STUDENT CODE marker sits inside a string or "
                        "bracket; close it before the marker")]
    return [Finding(node.lineno, "markers", "a statement runs across a STUDENT CODE marker; end "
                    "it before the marker") for node in tree.body
            if node.lineno < parts.begin <= node.end_lineno or node.lineno <= parts.end < node.end_lineno]


def check_source(text: str, kit_text: str) -> IntegrityReport:
    findings, diff = compare_frozen(kit_text, text)
    try:
        tree = ast.parse(text)
    except SyntaxError as exc:
        findings.append(Finding(exc.lineno or 1, "syntax", f"the file does not parse: {exc.msg}"))
        return IntegrityReport(False, findings, diff)
    parts = split_parts(text)
    if isinstance(parts, Finding):
        return IntegrityReport(False, findings, diff)
    findings += marker_findings(text, tree, parts)
    frozen = frozen_bindings(tree, parts.begin, parts.end)
    editable = [node for node in tree.body if parts.begin <= node.lineno <= parts.end]
    findings += EditableChecker(frozen).check(editable) + stateful_findings(editable)
    defined = set()
    for node in editable:
        if isinstance(node, ast.FunctionDef):
            defined.add(node.name)
        for target in getattr(node, "targets", []) + [getattr(node, "target", None)]:
            if isinstance(target, ast.Name):
                defined.add(target.id)
    for name in REQUIRED:
        if name not in defined:
            findings.append(Finding(parts.begin, "missing-definition",
                                    f"{name} must be defined between the STUDENT CODE markers"))
    findings.sort(key=lambda f: f.line)
    return IntegrityReport(not findings, findings, diff)


def check_file(path: str | Path, kit_starter: str | Path = KIT_STARTER) -> IntegrityReport:
    kit_text = Path(kit_starter).read_text(encoding="utf-8")
    size = Path(path).stat().st_size
    if size > MAX_SUBMISSION_BYTES:
        return IntegrityReport(False, [Finding(1, "size", f"the file has {size} bytes; a bot.py "
                                                          f"holds at most {MAX_SUBMISSION_BYTES}")], [])
    data = Path(path).read_bytes()
    for number, line in enumerate(data.splitlines()[:2], 1):
        match = CODING_COOKIE.match(line)
        if match and match.group(1).decode("ascii", "replace").lower().replace("_", "-") not in ("utf-8", "utf8"):
            return IntegrityReport(False, [Finding(number, "encoding-cookie", "a coding declaration "
                                   "makes Python read the file differently from what you see; remove it")], [])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return IntegrityReport(False, [Finding(1, "encoding", f"the file is not UTF-8 ({exc.reason}); "
                                                              "save it as UTF-8")], [])
    if not text.strip():
        return IntegrityReport(False, [Finding(1, "empty", "the file is empty: start from a copy of "
                                                           "starter/bot.py")], [])
    if "\x00" in text:
        return IntegrityReport(False, [Finding(1, "syntax", "the file holds a NUL byte; remove it")], [])
    return check_source(text, kit_text)
