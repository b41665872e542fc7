"""The gate's three holes of issue #16, each closed by a rule, with its variants: each
construct is first shown to be a real way out (run here, in the test's own process), then
refused by the gate."""
import sys
import textwrap

import pytest

from grader.integrity.gate import check_source
from submissions import STARTER, splice, with_hooks

# every exploit defines LEAK(), which returns something only a way out can reach (the
# platform, or the metaclass it built), or makes Python run a string (it sets the recursion limit)
CLASS_PATTERN = {
    "metaclass and __match_args__": """
        class Meta(type):
            def __instancecheck__(cls, obj):
                return True
        class Peek(metaclass=Meta):
            __match_args__ = ("__globals__",)
        def LEAK():
            match normalize_prefix:
                case Peek(g):
                    return g["sys"].platform""",
    "type() builds the metaclass": """
        Meta = type("Meta", (type,), {"__instancecheck__": lambda c, o: True})
        Peek = Meta("Peek", (), {"__match_args__": ("__globals__",)})
        def LEAK():
            match normalize_prefix:
                case Peek(g):
                    return g["sys"].platform""",
    "typing hands out type": """
        import typing
        T = typing.get_origin(typing.Type[int])
        Meta = T("Meta", (T,), {"__instancecheck__": lambda c, o: True})
        Peek = Meta("Peek", (), {"__match_args__": ("__globals__",)})
        def LEAK():
            match normalize_prefix:
                case Peek(g):
                    return g["sys"].platform""",
    "a metaclass imported from enum": """
        from enum import EnumMeta
        class Meta(EnumMeta):
            def __instancecheck__(cls, obj):
                return True
        def LEAK():
            return Meta""",
    "a format method through a class pattern": """
        def LEAK():
            match "{0.__globals__[sys].platform}":
                case str(format=f):
                    return f(normalize_prefix)""",
}
EVALUATED_STRING = {
    "typing.get_type_hints": """
        import typing
        def probe(x: "__import__('sys').setrecursionlimit(1234)"):
            pass
        def LEAK():
            return typing.get_type_hints(probe)["x"]""",
    "get_type_hints under another name": """
        from typing import get_type_hints as hints
        def probe(x: "__import__('sys').setrecursionlimit(1234)"):
            pass
        def LEAK():
            return hints(probe)["x"]""",
    "singledispatch reads annotations": """
        import functools
        @functools.singledispatch
        def base(x):
            return x
        def LEAK():
            try:
                @base.register
                def _(x: "__import__('sys').setrecursionlimit(1234)"):
                    return x
            except TypeError:
                pass""",
    "singledispatch reads a name holding the string": """
        from functools import singledispatch
        CODE = "__import__('sys').setrecursionlimit(1234) or int"
        @singledispatch
        def base(x):
            return x
        def probe(x: CODE):
            return x
        def LEAK():
            base.register(probe)""",
    "singledispatch reads a built string": """
        import functools
        @functools.singledispatch
        def base(x):
            return x
        def probe(x: "__imp" + "ort__('sys').setrecursionlimit(1234) or int"):
            return x
        def LEAK():
            base.register(probe)""",
    "singledispatchmethod reads annotations": """
        from functools import singledispatchmethod
        CODE = "__import__('sys').setrecursionlimit(1234) or int"
        def LEAK():
            class C:
                @singledispatchmethod
                def m(self, x):
                    return x
                @m.register
                def n(self, x: CODE):
                    return x""",
    "a string in a typing subscript": """
        import typing
        Hint = typing.List["__import__('sys').setrecursionlimit(1234)"]
        def probe(x: Hint):
            pass
        def LEAK():
            return typing.get_type_hints(probe)["x"]""",
}
FORMAT_ROUTE = {
    "str.format bound to a name": """
        F = str.format
        def LEAK():
            return F("{0.__globals__[sys].platform}", normalize_prefix)""",
    "a reaching template bound to a name": """
        F = "{0.__globals__[sys].platform}".format
        def LEAK():
            return F(normalize_prefix)""",
    "str.format passed to map": """
        def LEAK():
            return next(map(str.format, ["{0.__globals__[sys].platform}"], [normalize_prefix]))""",
    "functools.partial of format_map": """
        import functools
        F = functools.partial(str.format_map, "{f.__globals__[sys].platform}")
        def LEAK():
            return F({"f": normalize_prefix})""",
    "functools.update_wrapper copies attributes by name": """
        import functools
        def holder():
            pass
        def LEAK():
            functools.update_wrapper(holder, normalize_prefix, assigned=(), updated=("__globals__",))
            return sys.platform  # the kit's globals are now this module's""",
    "regex.subf fills a template": """
        import regex
        def LEAK():
            return regex.subf("(.+)", "{0.__class__.__base__.__subclasses__}", "x")""",
    "Pattern.subfn fills a template": """
        import regex
        def LEAK():
            return regex.compile("(.+)").subfn("{0.__class__.__base__.__subclasses__}", "x")[0]""",
    "Match.expandf fills a template": """
        import regex
        def LEAK():
            return regex.match("(.)", "x").expandf("{0.__class__.__base__.__subclasses__}")""",
    "regex.subf handed on": """
        import regex
        F = regex.compile("(.+)").subf
        def LEAK():
            return F("{0.__class__.__base__.__subclasses__}", "x")""",
}
HOLES = {**CLASS_PATTERN, **EVALUATED_STRING, **FORMAT_ROUTE}


def escapes(exploit: str) -> bool:
    """Run the exploit in this process (the gate off): did LEAK() get out?"""
    from model.protocol import normalize_prefix
    namespace = {"normalize_prefix": normalize_prefix, "__name__": "exploit"}
    limit = sys.getrecursionlimit()
    try:
        exec(textwrap.dedent(exploit), namespace)  # noqa: S102  the test's own fixture
        reached = namespace["LEAK"]()
        return reached == sys.platform or getattr(reached, "__name__", "") == "Meta" or \
            sys.getrecursionlimit() == 1234 or "method __subclasses__" in str(reached)
    finally:
        sys.setrecursionlimit(limit)


def gate(body: str) -> list[str]:
    return [f.rule for f in check_source(splice(body), STARTER).findings]


@pytest.mark.parametrize("name", HOLES)
def test_each_way_out_is_real(name):
    assert escapes(HOLES[name])


@pytest.mark.parametrize("name", HOLES)
def test_the_gate_refuses_each_way_out(name):
    assert "escape-hatch" in gate(with_hooks(prelude=HOLES[name]))


@pytest.mark.parametrize("code", [
    "match 'x':\n    case str(s):\n        pass",
    "class Point:\n    def __init__(self, x):\n        self.x = x\n    def __repr__(self):\n        return 'P'\n"
    "def f(p):\n    match p:\n        case Point(x=0):\n            return 1",
    "from typing import Optional\ndef f(x: Optional[str], y: str | None = None) -> list[str]:\n    return []",
    "from typing import NamedTuple\nclass Pair(NamedTuple):\n    a: str\n    b: int",
    "import typing\nHint = dict[str, typing.Callable[..., bool]]\ndef f(x: Hint) -> Hint:\n    return x",
    "import regex\nX = regex.subf('(a)', '{1}!', 'a')\nY = regex.match('(.)', 'x').expandf(template='<{0}>')",
    "import functools\nimport collections\nW = functools.reduce(max, [1])\nC = collections.Counter('ab')",
    "T = {'type': 1, 'apple-pie': 2}\nX = T['type'] + T['apple-pie']",
    "X = '{} and {:>3}'.format('a', 'b')\nY = list(map('{}!'.format, ['a']))",
    "class Word(str):\n    pass\nclass Fruit(ValueError):\n    pass",
    "from enum import Enum\nclass Kind(Enum):\n    A = 1\ndef f(k):\n    match k:\n        case Kind.A:\n            return 1",
    "import enum\nclass Kind(enum.Enum):\n    A = 1\nK = Kind(1)\nJ = Kind(value=1)",
])
def test_ordinary_code_stays_legal(code):
    assert gate(with_hooks(prelude=code)) == []


@pytest.mark.parametrize("code", [
    "class C:\n    def __getattr__(self, name):\n        return name",
    "class C:\n    __slots__ = ('a',)",
    "X = __name__",
    "def f(x: 'type'):\n    pass",
    "def f(x: 'str'):\n    pass",
    "CODE = 'int'\ndef f(x: CODE):\n    pass",
    "Hint = 'int'\nHint = int\ndef f(x) -> Hint:\n    pass",
    "def f(x: list[str].copy()):\n    pass",
    "from typing import List\nX: List['int'] = []",
    "import functools\nF = functools\nD = F.singledispatch",
    "import functools as ft\nD = ft.singledispatchmethod",
    "from collections import namedtuple",
    "import dataclasses\nX = dataclasses.make_dataclass",
    "import regex\nT = '{0}'\nX = regex.subf('(a)', T, 'a')",
    "import regex\nX = list(map(regex.compile('a').subf, ['{0}'], ['a']))",
    "def f(x):\n    match x:\n        case str(expandf=e):\n            return e",
    "from enum import Enum\nE = Enum('E', {'__match_args__': ('__class__',), 'A': 1})",
    "import enum\nE = enum.IntEnum('E', names='A B')",
    "from enum import Enum as B\nclass Base(B):\n    pass\nE = Base('E', [('__match_args__', ())])",
    "def f() -> '__import__(\"os\")':\n    pass",
    "from typing import ForwardRef",
    "import typing\nT = typing.Type",
    "import dataclasses\nD = dataclasses.make_dataclass('D', ['a'], namespace={})",
    "K = ValueError\nK = int\nclass C(K):\n    pass",
    "def f(x):\n    match x:\n        case K(a):\n            return a",
    "class C(str, metaclass=None):\n    pass",
    "X = {'k': 1}['__import__(\"os\")']",
])
def test_variants_are_refused(code):
    assert "escape-hatch" in gate(with_hooks(prelude=code))


# Issue #16, red team 24, 16, 03, 07: sources of process identity (a hook that answers by them can
# tell the grader's worker from a student's own `python bot.py`) and the frozen loop's own machinery
@pytest.mark.parametrize("code", [
    "UNLOCKED = hash('guardrail-lab') != 12345",
    "H = hash",
    "def f(p):\n    return id([p]) % 2",
    "from enum import Enum, global_enum\n@global_enum\nclass E(Enum):\n    A = 1",
    "import enum\nG = enum.global_enum",
    "from enum import global_str",
    "import re\nre.purge()",
    "import regex\nregex.cache_all(False)",
    "import regex\nX = regex.search('a', 'a', timeout=0.1)",
    "from collections import defaultdict",
    "import collections\nD = collections.defaultdict(list)",
    "def f(p):\n    return run_bot(lambda p: None, lambda n: True, [], [])",
    "R = run_bot",
    "from model.protocol import run_bot as go",
    "from model.protocol import serve",
    "from model.protocol import Bot",
    "from model.protocol import LocalHooks",
    "from model.protocol import read_lines",
    # second red team 33: where the stack or memory limit lies differs between the worker and bot.py
    "def depth(n):\n    try:\n        return depth(n + 1)\n    except RecursionError:\n        return n",
    "def big(p):\n    try:\n        return len('x' * (1 << 31))\n    except MemoryError:\n        return 0",
    "def f(p):\n    try:\n        return 1\n    except* ValueError:\n        return 0",
])
def test_process_identity_and_the_frozen_loop_are_refused(code):
    assert "escape-hatch" in gate(with_hooks(prelude=code))


@pytest.mark.parametrize("code", [
    "from model.protocol import normalize_prefix, is_model_prefix, MAX_PREFIX_LETTERS",
    "import re\nP = re.compile('a', re.IGNORECASE)\nX = re.sub('a', 'b', 'a')",
    "import regex\nP = regex.compile(r'\\p{L}', regex.V1)",
    "import difflib\nX = difflib.get_close_matches('aple', ['apple'])",
    "from enum import Enum, auto, unique\n@unique\nclass K(Enum):\n    A = auto()",
    "from collections import Counter, OrderedDict, deque",
])
def test_pure_helpers_stay_legal(code):
    assert gate(with_hooks(prelude=code)) == []
