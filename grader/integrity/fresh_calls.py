"""The calls known to return an immutable value or a fresh object, never an iterator: at import,
only these may make a value that outlives its statement (a function reading a kept iterator
advances it, heapq.merge or chain.from_iterable as much as iter). An allow-list: a call not
named here (a module's new generator, a name bound to a lambda) counts as making an iterator."""
from __future__ import annotations

import ast
import builtins
import math
import unicodedata

from .rule_tables import FROZEN_HELPERS, KNOWN_MUTATORS, MODULE_NAMES, PURE_METHODS, TYPING_NAMES


def _public(module) -> set[str]:
    return {name for name in dir(module) if not name.startswith("_")}


EXCEPTIONS = {name for name in dir(builtins) if isinstance(getattr(builtins, name), type)
              and issubclass(getattr(builtins, name), BaseException)}
FRESH_BUILTINS = EXCEPTIONS | {
    "abs", "all", "any", "ascii", "bin", "bool", "bytearray", "bytes", "callable", "chr", "classmethod",
    "complex", "dict", "divmod", "float", "format", "frozenset", "hex", "int", "isinstance", "issubclass",
    "len", "list", "max", "min", "oct", "ord", "pow", "print", "property", "range", "repr", "round", "set",
    "slice", "sorted", "staticmethod", "str", "sum", "tuple",
}
# by allowed module: its functions and classes that build a value, not an iterator (no
# re.finditer, difflib.ndiff, heapq.merge, anything of itertools; reduce and map return what
# the function they are given does, and a function handed on is checked as a call would be)
FRESH_CALLS = {
    "re": MODULE_NAMES["re"] - {"finditer"},
    "regex": MODULE_NAMES["regex"] - {"finditer", "splititer"},
    "difflib": MODULE_NAMES["difflib"] - {"ndiff", "unified_diff", "context_diff"},
    "functools": MODULE_NAMES["functools"],
    "dataclasses": MODULE_NAMES["dataclasses"], "enum": MODULE_NAMES["enum"], "typing": TYPING_NAMES,
    "collections": MODULE_NAMES["collections"], "model.protocol": FROZEN_HELPERS,
    "unicodedata": _public(unicodedata), "math": _public(math),
    "bisect": {"bisect", "bisect_left", "bisect_right", "insort", "insort_left", "insort_right"},
    "heapq": {"heapify", "heappush", "heappop", "heappushpop", "heapreplace", "nlargest", "nsmallest"},
    "textwrap": {"wrap", "fill", "dedent", "indent", "shorten", "TextWrapper"},
    "itertools": set(), "__future__": set(),
}
# the methods of the allowed types that return an iterator: a pattern's finditer, a Counter's
# elements, a SequenceMatcher's get_grouped_opcodes, a Differ's compare, a generator's send
ITERATOR_METHODS = {"finditer", "splititer", "elements", "get_grouped_opcodes", "compare", "send", "throw"}
FRESH_METHODS = (PURE_METHODS | KNOWN_MUTATORS) - ITERATOR_METHODS


def imported_origins(every: list[ast.AST]) -> dict[str, tuple[str, str | None]]:
    """What each imported name stands for: a module (import re as r: r -> ('re', None)) or one of
    its names (from heapq import merge as m: m -> ('heapq', 'merge'))."""
    origins: dict[str, tuple[str, str | None]] = {}
    for node in every:
        if isinstance(node, ast.Import):
            origins.update({a.asname or a.name.split(".")[0]: (a.name if a.asname else a.name.split(".")[0], None)
                            for a in node.names})
        elif isinstance(node, ast.ImportFrom):
            origins.update({a.asname or a.name: (node.module or "", a.name) for a in node.names})
    return origins


def fresh_call(call: ast.Call, origins: dict[str, tuple[str, str | None]], own: set[str],
               iterating: set[str]) -> bool:
    """Whether call is known to return an immutable value or a fresh object: a builtin, a name of
    an allowed module or a method from the lists above, or a function, class or method of the
    editable part (own) that makes no iterator."""
    func = call.func
    if isinstance(func, ast.Name):
        if func.id in origins:
            module, name = origins[func.id]
            return name is not None and name in FRESH_CALLS.get(module, set())
        return func.id not in iterating if func.id in own else func.id in FRESH_BUILTINS | FROZEN_HELPERS
    if not isinstance(func, ast.Attribute) or func.attr in iterating:
        return False
    if isinstance(func.value, ast.Name) and func.value.id in origins:
        module, name = origins[func.value.id]
        return name is None and func.attr in FRESH_CALLS.get(module, set())
    return func.attr in FRESH_METHODS | own


class Origins:
    """What the editable part's names stand for: imports, and its own functions, classes and
    methods; `iterating` those of them whose call makes an iterator that outlives it."""

    def __init__(self, every: list[ast.AST]):
        self.imported = imported_origins(every)
        defs = {n.name: n for n in every if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
        defs.update({t.id: n.value.body for n in every if isinstance(n, ast.Assign) and isinstance(n.value, ast.Lambda)
                     for t in n.targets if isinstance(t, ast.Name)})  # F = lambda w: iter(w): what F returns
        self.own = set(defs)
        self.iterating: set[str] = set()
        while True:  # a generator function, one returning heapq.merge(...), one calling such a function
            more = {name for name, node in defs.items() if name not in self.iterating and
                    (any(isinstance(n, (ast.Yield, ast.YieldFrom)) for n in ast.walk(node)) or self.loose(node))}
            if not more:
                return
            self.iterating |= more

    def fresh(self, call: ast.Call) -> bool:
        return fresh_call(call, self.imported, self.own, self.iterating)

    def makes_iterator(self, node: ast.AST) -> bool:
        return isinstance(node, ast.GeneratorExp) or isinstance(node, ast.Call) and not self.fresh(node)

    def names_maker(self, node: ast.expr, shadowed: frozenset[str], applied: bool = False) -> bool:
        """Whether node, taken without a call (map(iter, ...), map(heapq.merge, ...)), names a
        callable that makes an iterator, or may where map or reduce keep what it returns
        (applied: FS['f'] or a name bound to it is not known to build a value)."""
        if isinstance(node, ast.Lambda):
            return bool(self.loose(node.body))
        call = ast.Call(func=node, args=[], keywords=[])
        if applied:
            return not (isinstance(node, (ast.Name, ast.Attribute)) and self.fresh(call))
        if isinstance(node, ast.Name):
            known = node.id in self.imported or node.id in self.own or \
                hasattr(builtins, node.id) and node.id not in shadowed
            return known and not self.fresh(call)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in self.imported:
            return not self.fresh(call)
        return isinstance(node, ast.Attribute) and node.attr in ITERATOR_METHODS | self.iterating

    def loose(self, tree: ast.AST, shadowed: frozenset[str] = frozenset()) -> list[ast.AST]:
        """The iterators `tree` makes that outlive their statement, or may (a call not known to
        build a value): not used up on the spot by a for loop, a comprehension or a consuming
        call (set(...), ''.join(...), an iterator maker that is itself used up)."""
        parents = {id(child): parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)}

        def used_up(node: ast.AST) -> bool:
            parent = parents.get(id(node))
            if isinstance(parent, ast.Starred):
                node, parent = parent, parents.get(id(parent))
            if isinstance(parent, (ast.For, ast.comprehension)) and parent.iter is node:
                return True
            if isinstance(parent, ast.Assign) and all(isinstance(t, (ast.Tuple, ast.List)) for t in parent.targets):
                return True  # unpacked: a, b = zip(*pairs)
            if isinstance(parent, ast.Call) and node in parent.args:
                return called_name(parent.func) in CONSUMERS or self.makes_iterator(parent) and used_up(parent)
            return False

        def handed_on(node: ast.AST) -> bool:  # map(iter, ...) makes an iterator per item
            parent = parents.get(id(node))
            if not isinstance(parent, ast.Call) or parent.func is node:
                return False
            applied = called_name(parent.func) in APPLIERS and parent.args[:1] == [node]
            taken = isinstance(node, ast.Lambda) or isinstance(getattr(node, "ctx", None), ast.Load)
            return (applied or taken) and self.names_maker(node, shadowed, applied)
        return [n for n in outside_lambdas(tree) if self.makes_iterator(n) and not used_up(n) or handed_on(n)]


# calls that keep what the function they are given returns, map(f, ...) and reduce(f, ...)
APPLIERS = {"map", "starmap", "reduce"}
# calls that use up the iterator they are given (set(map(...)), ''.join(x for x in ...))
CONSUMERS = {"set", "frozenset", "list", "tuple", "dict", "sorted", "sum", "min", "max", "any", "all", "len",
             "join", "union", "intersection", "difference", "symmetric_difference", "update", "extend",
             "fromkeys", "issubset", "issuperset", "isdisjoint", "Counter", "OrderedDict", "deque"}


def called_name(func: ast.expr) -> str | None:
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None


def outside_lambdas(tree: ast.AST) -> list[ast.AST]:
    """The nodes of tree but those of its lambdas (functions: what they make is made per call)."""
    inner = {id(n) for lam in ast.walk(tree) if isinstance(lam, ast.Lambda) for n in ast.walk(lam.body)}
    return [n for n in ast.walk(tree) if id(n) not in inner]
