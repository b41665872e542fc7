"""Hooks are stateless: the static rule (grader/integrity/state_rules.py) and the run-time replay
(grader/grading/stateless.py), each with what it must refuse and what must stay legal."""
import json
from pathlib import Path

import pytest

import grader.grading.runner
from grader.integrity.gate import IntegrityReport, check_source
from grader.reports.writers import render
from grader.grading.runner import grade
from grader.grading.stateless import CallLog
from model.protocol import Verdict
from submissions import STARTER, splice, with_hooks, write_submission

ROOT = Path(__file__).resolve().parent.parent
SMOKE = ROOT / "policies" / "fruit" / "public" / "smoke.toml"


def rules(body: str) -> list[str]:
    return [f.rule for f in check_source(splice(body), STARTER).findings]


@pytest.mark.parametrize("prelude, request_body", [
    ("OPEN = [True]", "global OPEN\nOPEN = False\nreturn None"),
    ("SEEN = set()", "SEEN.add(tuple(prefixes))\nreturn None"),
    ("SEEN = {}", "SEEN[tuple(prefixes)] = 1\nreturn None"),
    ("COUNT = {'n': 0}", "COUNT['n'] += 1\nreturn 'no' if COUNT['n'] > 30 else None"),
    ("LOG = []", "LOG.append(prefixes)\nreturn None"),
    ("SEEN = set()", "list(map(SEEN.add, prefixes))\nreturn None"),
    ("SEEN = set()", "set.add(SEEN, 1)\nreturn None"),
    ("class State:\n    open = True\nSTATE = State()", "STATE.open = 'zqxjv' not in prefixes\nreturn None"),
    ("import heapq\nH = []", "heapq.heappush(H, 1)\nreturn None"),
    ("TICKS = iter(range(10 ** 6))", "return 'no' if next(TICKS) < 30 else None"),
    ("", "def inner(seen=[]):\n    seen.append(1)\n    return len(seen)\nreturn None if inner() > 5 else 'no'"),
    ("def make():\n    seen = []\n    def hook(p):\n        seen.append(p)\n    return hook\nNOTE = make()",
     "return None"),
    ("CHECK = lambda p, seen=set(): seen.add(p)", "return None"),
    ("", "x = 0\ndef bump():\n    nonlocal x\n    x += 1\nbump()\nreturn None"),
    # through an alias, a shared default, a helper's parameter, a method's self, a cache's counters
    ("STATE = {'n': 0}", "s = STATE\ns['n'] += 1\nreturn None"),
    ("CACHE = {}", "c = CACHE\nc.setdefault('n', 0)\nreturn None"),
    ("CACHE = {'k': []}", "c = CACHE.get('k')\nc.append(1)\nreturn None"),
    ("def helper(x, seen=[]):\n    seen += [x]\n    return len(seen)", "helper(1)\nreturn None"),
    ("def helper(x, seen={'a'}):\n    return x", "return None"),
    ("LOG = []\ndef keep(store, p):\n    store.append(p)", "keep(LOG, prefixes)\nreturn None"),
    ("LOG = []\ndef keep(store, p):\n    store += [p]", "keep(LOG, prefixes)\nreturn None"),
    ("class Tally:\n    n = 0\n    def bump(self):\n        self.n += 1\n        return self.n\nT = Tally()",
     "T.bump()\nreturn None"),
    ("import functools\n@functools.lru_cache(maxsize=None)\ndef tick(x):\n    return x",
     "tick(0)\nreturn None if tick.cache_info().hits < 30 else 'no'"),
    ("def gen():\n    n = 0\n    while True:\n        n += 1\n        yield n\nG = [gen()]",
     "g = G[0]\ng.send(None)\nreturn None"),
])
def test_the_static_rule_refuses_state(prelude, request_body):
    assert "stateful-hook" in rules(with_hooks(prelude=prelude, request_body=request_body))


# Issue #16, red team 01, 02, 19: the rule listed the ways to keep state (a name's mutating
# methods) and each of these kept it another way; it now allows only what the call created
@pytest.mark.parametrize("prelude, request_body", [
    ("UNLOCKED = []", "if 'zqxjvk' in prefixes:\n    [UNLOCKED][0].append(True)\nreturn None"),
    ("import functools\n@functools.lru_cache(maxsize=None)\ndef box():\n    return []", "box().append(1)\nreturn None"),
    ("SEEN = []", "(s := SEEN).append('x')\nreturn None"),
    ("class Holder:\n    items = []", "Holder().items.append('x')\nreturn None"),
    ("SEEN = []", "(SEEN or SEEN).append('x')\nreturn None"),
    ("SEEN = {}", "(SEEN if prefixes else SEEN)['k'] = 1\nreturn None"),
    ("SEEN = {}", "(SEEN,)[0]['k'] = 1\nreturn None"),
    ("from collections import Counter\nC = Counter()", "[C][0]['k'] += 1\nreturn None"),
    ("SEEN = [0]", "for [SEEN][0][0] in [len(SEEN) + 1]:\n    pass\nreturn None"),
    ("from difflib import SequenceMatcher\nSM = SequenceMatcher()", "SM.set_seq1('x')\nreturn None"),
    ("import re\nTICKS = re.finditer('x', 'x' * 1000)", "for _ in TICKS:\n    break\nreturn None"),
    ("TICKS = [(n for n in range(10 ** 6))]", "for _ in TICKS[0]:\n    break\nreturn None"),
    ("def gen():\n    yield 1\nG = {'g': gen()}", "return None"),
    ("def make():\n    return iter(range(9))\ndef twice():\n    return make()\nIT = (twice(),)", "return None"),
    ("class Tape:\n    def __init__(self):\n        self.it = iter(range(9))\nTAPE = Tape()", "return None"),
    ("TAPES = tuple(map(iter, ['ab', 'cd']))", "for _ in TAPES[0]:\n    break\nreturn None"),
    ("SEEN = []\nADD = SEEN.append", "ADD(1)\nreturn None"),
    ("import functools\nSEEN = []\nADD = functools.partial(list.append, SEEN)", "ADD(1)\nreturn None"),
    ("from heapq import heappush as push\nH = []", "push(H, 1)\nreturn None"),
    ("import heapq\nH = []\nPUSH = heapq.heappush", "PUSH(H, 1)\nreturn None"),
    ("import heapq\nH = []", "list(map(heapq.heappush, [H], [1]))\nreturn None"),
    ("SEEN = {}", "SEEN.get('k', []).append(1)\nreturn None"),
    ("SEEN = []", "x = list(SEEN)\nx[0].append(1)\nreturn None"),
    ("from enum import Enum\nclass K(Enum):\n    A = 1", "k = K(1)\nk.seen = True\nreturn None"),
    ("from enum import Flag\nclass K(Flag):\n    A = 1\n    B = 2", "k = K.A | K.B\nk.seen = True\nreturn None"),
    ("E = ValueError()", "try:\n    raise E\nexcept ValueError as e:\n    e.n = 1\nreturn None"),
    ("SEEN = []", "sorted([1], key=SEEN.append)\nreturn None"),
    ("import heapq\nH = [[]]", "heapq.heappush(H[0], 1)\nreturn None"),
])
def test_the_static_rule_allows_only_what_the_call_created(prelude, request_body):
    assert "stateful-hook" in rules(with_hooks(prelude=prelude, request_body=request_body))


# Issue #16, second red team 30, 31, 32: state inside an lru_cache (a key's own equality, or a
# key equal to a later one and then changed), a ChainMap that writes into the table it wraps, a
# match capture rebinding an owned name
@pytest.mark.parametrize("prelude, request_body, rule", [
    ("import functools\nclass K(str):\n    pass\n@functools.lru_cache(maxsize=None)\ndef keep(k):\n    return k",
     "k = K('a')\nkeep(k)\nk.on = 'zqxjvk' in prefixes\nreturn None if keep(K('a')).on else 'no'", "escape-hatch"),
    ("from functools import cache\n@cache\ndef norm(p):\n    return p.lower()",
     "return 'fruit' if any(norm(p) == 'apple' for p in prefixes) else None", "escape-hatch"),
    ("import functools\nclass Key:\n    def __init__(self, w):\n        self.w = w\n"
     "    def __eq__(self, other):\n        return self.w == 'zqxjvk'\n"
     "@functools.lru_cache(maxsize=None)\ndef latch(k):\n    return k.w",
     "return None if latch(Key(prefixes[0])) == 'zqxjvk' else 'no'", "escape-hatch"),
    ("class Key:\n    def __hash__(self):\n        return 7", "return None", "escape-hatch"),
    ("class Key:\n    def __ne__(self, other):\n        return False", "return None", "escape-hatch"),
    ("from collections import ChainMap\nSEEN = {}", "view = ChainMap(SEEN)\nview['on'] = True\nreturn None",
     "stateful-hook"),
    ("import collections\nSEEN = {}", "view = collections.ChainMap(SEEN)\nview['on'] = True\nreturn None",
     "stateful-hook"),
    ("SEEN = {}", "box = {}\nmatch SEEN:\n    case box:\n        pass\nbox['on'] = True\nreturn None",
     "stateful-hook"),
    ("SEEN = {}", "box = {}\nmatch SEEN:\n    case {**box}:\n        pass\nbox['on'] = True\nreturn None",
     "stateful-hook"),
    ("SEEN = [[]]", "box = []\nmatch SEEN:\n    case [box]:\n        pass\nbox.append(1)\nreturn None",
     "stateful-hook"),
    ("SEEN = [[]]", "box = []\nmatch [SEEN]:\n    case [*box]:\n        pass\nbox[0].append(1)\nreturn None",
     "stateful-hook"),
])
def test_no_state_through_equality_aliases_or_captures(prelude, request_body, rule):
    assert rule in rules(with_hooks(prelude=prelude, request_body=request_body))


# Issue #16, second red team 39: module-level iterators from makers no list named; at import a
# value now comes only from calls known to build one
@pytest.mark.parametrize("prelude", [
    "import heapq\nCOUNTER = heapq.merge(range(10 ** 6))",
    "from heapq import merge\nCOUNTER = merge(range(10 ** 6))",
    "from itertools import chain\nCOUNTER = chain.from_iterable([range(10 ** 6)])",
    "import difflib\nSM = difflib.SequenceMatcher(None, 'ab', 'ac')\nCOUNTER = SM.get_grouped_opcodes()",
    "TICK = lambda: iter(range(10 ** 6))\nCOUNTER = TICK()",
    "TICK = lambda r: iter(r)\nCOUNTERS = list(map(TICK, [range(9)]))",
    "COUNTERS = list(map(lambda r: iter(r), [range(9)]))",
    "import heapq\nCOUNTERS = list(map(heapq.merge, [range(9)]))",
    "FS = {'f': lambda r: iter(r)}\nCOUNTERS = list(map(FS['f'], [range(9)]))",
    "FS = {'f': lambda r: iter(r)}\nF = FS['f']\nCOUNTERS = list(map(F, [range(9)]))",
    "import functools\nCOUNTER = functools.reduce(lambda a, b: iter(b), [[1], [2]])",
])
def test_import_time_values_come_from_calls_known_to_build_one(prelude):
    assert "stateful-hook" in rules(with_hooks(prelude=prelude, request_body="return None")), prelude


@pytest.mark.parametrize("prelude, request_body", [
    ("import re\nWORDS = set()\nfor w in 'apple pear'.split():\n    WORDS.add(w)\nPAT = re.compile('x')",
     "return 'fruit' if any(p in WORDS for p in prefixes) else None"),
    ("", "seen = []\nfor p in prefixes:\n    seen.append(p.lower())\nreturn None if len(seen) < 100 else 'long'"),
    ("class Scanner:\n    def __init__(self, text):\n        self.text = text\n        self.pos = 0\n"
     "    def at(self, i):\n        return self.text[i]",
     "s = Scanner(''.join(prefixes))\ns.at(0)\nreturn None"),
    ("", "parts = ''.join(prefixes).split()\nparts.append('')\nn = len(parts)\nn += 1\n"
     "found = {}\nfound['k'] = [p.lower() for p in prefixes]\nreturn None"),
    ("def pad(word, fill=' ', width=(1, 2)):\n    word = word + fill\n    return word", "return None"),
    ("PAIRS = list(zip('ab', 'cd'))\nFIRST = {a: b for a, b in PAIRS}", "return None"),
    ("LEFT, RIGHT = zip(*[('a', 'b'), ('c', 'd')])\ncount = 2\nTOTAL = max(count, 3)", "return None"),
    ("import re\nimport difflib\nPAT = re.compile('a+')\nWORDS = frozenset(w for w in 'a b'.split())",
     "m = PAT.search(''.join(prefixes))\nsm = difflib.SequenceMatcher(None, 'a', 'b')\nsm.set_seq1('c')\n"
     "return None if m is None and sm.ratio() < 2 and WORDS.union({'c'}) else 'no'"),
    ("BANNED = set('apple pear'.split()).union(*map(lambda w: {w + 's'}, ['fig']))\n"
     "SORTED = sorted(BANNED, key=len)\nJOINED = '|'.join(w for w in SORTED)\nKEY = lambda w: iter(w)",
     "for p in prefixes:\n    for m in map(str.lower, [p]):\n        if m in BANNED:\n            return 'no'\n"
     "return None"),
    ("from collections import Counter\nclass Box:\n    def __init__(self):\n        self.items = []\n"
     "    def has(self, x):\n        return x in self.items",
     "c = Counter(prefixes)\nc['x'] += 1\nb = Box()\nb.items = [1]\nreturn None if b.has(1) or c else 'no'"),
])
def test_the_static_rule_keeps_legitimate_code(prelude, request_body):
    assert rules(with_hooks(prelude=prelude, request_body=request_body)) == []


def test_a_call_answered_two_ways_is_kept_with_its_visibility():
    log = CallLog()
    log.record(("request", ("pea",)), Verdict(True), hidden=True)
    log.record(("request", ("pea",)), Verdict(False, "no", "is_safe_request"), hidden=False)
    assert log.finding().startswith("[stateful-hook] a hook answered a call (named only in the instructors'")
    assert "pea" not in log.finding() and "'pea'" in log.instructor_note()
    log = CallLog()
    log.record(("name", "olive"), Verdict(True), hidden=False)
    log.record(("name", "olive"), Verdict(True), hidden=True)
    assert log.finding() is None
    log.record(("name", "olive"), Verdict(False), hidden=False)
    assert log.finding().startswith("[stateful-hook] is_safe_name answered 'olive' one way")


# A shared generator, advanced by a for loop, counts the calls, and the hooks serve fruit on
# every other one (the static rule refuses it; the run-time check must catch it without).
FIRST_REQUEST = with_hooks(
    prelude="""
        FRUIT = ('apple', 'olive', 'pear', 'fig', 'plum', 'lemon', 'lime', 'melon', 'banana')

        def counter():
            n = 0
            while True:
                n += 1
                yield n

        TICKS = [counter()]

        def odd_call():
            for n in TICKS[0]:
                return n % 2 == 1""",
    request_body="""
        if odd_call():
            return None
        return 'no fruit' if any(p.lower().startswith(FRUIT) for p in prefixes) else None""",
    name_body="""
        return odd_call() or not name.startswith(FRUIT)""")


def test_hooks_whose_answers_depend_on_earlier_calls_cannot_score(tmp_path, monkeypatch):
    bot = write_submission(tmp_path, FIRST_REQUEST)
    assert "stateful-hook" in rules(FIRST_REQUEST)  # the static rule refuses it; the run-time check
    monkeypatch.setattr(grader.grading.runner, "check_file", lambda path: IntegrityReport(True, [], []))
    result = grade(bot, [SMOKE])  # must hold without it
    assert result.status == "integrity_failed" and result.score == 0
    assert result.integrity_findings[0].startswith("[stateful-hook] is_safe_")
    assert any(n.startswith("your hooks keep state between calls") for n in result.notes)
    text = render(result, "text")
    assert "[stateful-hook]" in text and "smoke " not in text  # no category table of the run


def test_stateless_hooks_pass_the_replay(tmp_path):
    result = grade(ROOT / "policies" / "fruit" / "reference_bot.py", [SMOKE])
    assert result.status == "graded" and not result.integrity_findings
    assert json.loads(render(result, "json"))["hidden_notes"] == []
