"""Each integrity rule with an example that passes and one that fails."""
import pytest

from grader.integrity.gate import END_MARKER, check_source
from submissions import STARTER, splice, with_hooks

OK_BODY = with_hooks()


def findings(text: str) -> list[str]:
    return [f.rule for f in check_source(text, STARTER).findings]


def test_starter_and_plain_solutions_pass():
    assert check_source(STARTER, STARTER).ok
    assert check_source(splice(with_hooks(prelude="import regex\nimport unicodedata\nWORDS = {'apple'}",
                                          name_body="return name not in WORDS")), STARTER).ok


def test_comments_blank_lines_and_trailing_spaces_outside_are_fine():
    text = splice(OK_BODY).replace('if __name__ == "__main__":',
                                   '# my comment\n\nif __name__ == "__main__":   ')
    assert check_source(text, STARTER).ok


def test_changed_frozen_code_fails_with_a_diff():
    text = splice(OK_BODY).replace("run_bot(is_safe_request,", "run_bot(lambda p: None,")
    report = check_source(text, STARTER)
    assert [f.rule for f in report.findings] == ["frozen-code"]
    assert any(d.startswith("- kit line") and "run_bot(is_safe_request," in d for d in report.diff)
    assert any(d.startswith("+ your line") and "lambda p: None" in d for d in report.diff)
    line = int(report.diff[-1].split(":")[0].split()[-1])
    assert report.findings[0].line == line


def test_changed_docstring_fails():
    assert findings(splice(OK_BODY).replace("make this name bot safe", "make it safe")) == ["frozen-code"]


def test_missing_markers_fail():
    assert findings(STARTER.replace("# <<< STUDENT CODE ENDS <<<", "")) == ["markers"]


def test_syntax_error_is_a_finding():
    assert "syntax" in findings(splice(OK_BODY + "\ndef broken(:\n"))


@pytest.mark.parametrize("missing", ["BLOCKED_PREFIX_PATTERNS", "BLOCKED_OUTPUT_PATTERNS",
                                     "is_safe_request", "is_safe_name"])
def test_each_definition_is_required(missing):
    body = OK_BODY.replace(missing, "something_else")
    assert findings(splice(body)) == ["missing-definition"]


@pytest.mark.parametrize("code, rule", [
    ("run_bot = print", "rebinds-frozen-name"),
    ("del normalize_prefix", "rebinds-frozen-name"),
    ("from model.protocol import Bot as run_bot", "rebinds-frozen-name"),
    ("def run_bot(*a):\n    pass", "rebinds-frozen-name"),
    ("def f():\n    global run_bot\n    return 1", "rebinds-frozen-name"),
    ("import regex\nregex.search = None", "patches-module"),
    ("import model.protocol\nmodel.protocol.MAX_ATTEMPTS = 1000", "patches-module"),
    ("normalize_prefix.__defaults__ = None", "patches-module"),
    ("x = globals()", "escape-hatch"),
    ("exec('1')", "escape-hatch"),
    ("eval('1')", "escape-hatch"),
    ("compile('1', 'f', 'exec')", "escape-hatch"),
    ("m = __import__('os')", "escape-hatch"),
    ("import importlib", "forbidden-import"),
    ("import builtins", "forbidden-import"),
    ("from ctypes import CDLL", "forbidden-import"),
    ("import subprocess", "forbidden-import"),
    ("import sys\nm = sys.modules", "forbidden-import"),
    ("from sys import modules", "forbidden-import"),
    ("setattr(object, 'x', 1)", "escape-hatch"),
    ("import os\nos.system('true')", "forbidden-import"),
    ("x = ().__class__.__bases__", "escape-hatch"),
    # the bypasses of a deny-list: the allowlist of modules and attribute rules close them
    ("E = getattr(normalize_prefix, '_' + '_globals__')", "escape-hatch"),
    ("import posix", "forbidden-import"),
    ("import numpy.ctypeslib", "forbidden-import"),
    ("import operator\nG = operator.attrgetter('x')", "forbidden-import"),
    ("import grader.data.policy", "forbidden-import"),
    ("from grader import policy", "forbidden-import"),
    ("from . import policy", "forbidden-import"),
    ("import collections\nS = collections._sys", "escape-hatch"),
    ("X = '{0.__globals__}'.format(normalize_prefix)", "escape-hatch"),
    ("T = '{0.x}'\nX = T.format(1)", "escape-hatch"),
    ("F = (i for i in []).gi_frame", "escape-hatch"),
    ("match 1:\n    case object(__class__=c):\n        pass", "escape-hatch"),
    ("from model.protocol import _DROPPED_CATEGORIES", "escape-hatch"),
    ("D = open('/etc/passwd').read()", "escape-hatch"),
    ("import typing\nS = typing.sys", "escape-hatch"),
    ("import dataclasses\nB = dataclasses.builtins", "escape-hatch"),
    ("from model.protocol import sys", "escape-hatch"),
    ("from functools import reduce as r\nimport functools\nX = functools.partial", "nothing"),
    ("import functools\nX = functools.lru_cache", "escape-hatch"),
    ("from functools import cache", "escape-hatch"),
])
def test_escape_rules(code, rule):
    found = findings(splice(OK_BODY + "\n" + code + "\n"))
    assert rule in found if rule != "nothing" else found == []


def test_a_string_cannot_swallow_the_end_marker():
    """Code hidden after the end marker inside what the footer comparison sees as a comment."""
    text = splice(OK_BODY + '\n_s = """\n').replace(END_MARKER, END_MARKER + '\n# """; import os #', 1)
    assert "markers" in findings(text)


@pytest.mark.parametrize("code", [
    "import re\nWORD = re.compile('[a-z]+')",
    "from collections import Counter\nfrom functools import partial",
    "class Seen:\n    def __init__(self):\n        self._names = set()",
    "X = f'{len(\"ab\")!r:>10}' + '{} {:>3}'.format(1, 2)",
    "class Counter:\n    def __init__(self):\n        self.n = 0",
    "from model.protocol import normalize_prefix as norm",
    "from model.protocol import normalize_prefix",
])
def test_ordinary_code_passes(code):
    assert findings(splice(OK_BODY + "\n" + code + "\n")) == []


def test_findings_name_line_and_rule():
    text = splice(OK_BODY + "\nx = eval('1')\n")
    finding = check_source(text, STARTER).findings[0]
    assert text.splitlines()[finding.line - 1] == "x = eval('1')"
    assert str(finding).startswith(f"line {finding.line}: [escape-hatch] eval")


@pytest.mark.parametrize("cookie", [b"# coding: unicode_escape\n", b"#!/usr/bin/env python\n# -*- coding: latin-1 -*-\n"])
def test_a_coding_cookie_is_refused(tmp_path, cookie):
    from grader.integrity.gate import check_file
    path = tmp_path / "bot.py"
    path.write_bytes(cookie + splice(OK_BODY).encode())
    report = check_file(path)
    assert [f.rule for f in report.findings] == ["encoding-cookie"]
    assert report.causes() == ["your bot.py cannot be run as it is: fix what the finding names "
                               "(score 0 until it runs)"]


def test_an_empty_file_says_so(tmp_path):
    from grader.integrity.gate import check_file
    path = tmp_path / "bot.py"
    path.write_text("\n  \n")
    assert [str(f) for f in check_file(path).findings] == [
        "line 1: [empty] the file is empty: start from a copy of starter/bot.py"]


def test_an_oversized_file_is_a_finding(tmp_path):
    from grader.integrity.gate import check_file
    path = tmp_path / "bot.py"
    path.write_text(splice(OK_BODY) + "#" * (1 << 20))
    report = check_file(path)
    assert [f.rule for f in report.findings] == ["size"]
