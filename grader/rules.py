"""The rules for the code between the STUDENT CODE markers: only string processing.

An allowlist of modules (not a deny-list of escape hatches), and no way out through private,
special or frame attributes, built attribute names, format fields, class patterns, strings
that library code evaluates or what an allowed module hands out. Each rule closes a kind of
route (a string that becomes an attribute name, a class that overrides a check), not one
construct. The sandbox does not rely on these rules; they keep a guardrail a guardrail.
"""
from __future__ import annotations

import ast
import builtins
import dataclasses
import functools
import importlib
import inspect
import string
import typing
from dataclasses import dataclass

# A guardrail needs string processing and nothing else: only these modules may be imported
# (an allowlist ends the game of naming every escape hatch), and from the kit only the
# public names of model.protocol.
ALLOWED_MODULES = {
    "__future__", "re", "regex", "unicodedata", "functools", "itertools", "collections", "math",
    "typing", "dataclasses", "enum", "bisect", "heapq", "difflib", "textwrap", "model.protocol",
}
FORBIDDEN_NAMES = {
    "globals", "locals", "vars", "dir", "exec", "eval", "compile", "__import__", "getattr",
    "setattr", "delattr", "hasattr", "breakpoint", "open", "input", "help", "memoryview",
    "exit", "quit", "type", "object",
}
# typing hands out annotations, and also functions that evaluate strings (get_type_hints) or
# hand back type itself (get_origin): only names that do neither may be imported from it
TYPING_NAMES = {
    "Any", "AbstractSet", "Callable", "ClassVar", "Collection", "Container", "Counter", "DefaultDict",
    "Deque", "Dict", "Final", "FrozenSet", "Hashable", "Iterable", "Iterator", "List", "Literal",
    "Mapping", "Match", "MutableMapping", "MutableSequence", "MutableSet", "NamedTuple", "NoReturn",
    "Optional", "OrderedDict", "Pattern", "Sequence", "Set", "Sized", "TYPE_CHECKING", "Tuple", "Union",
    "cast", "final", "overload",
}
# library functions that read or set attributes named by a string, or build a class from one
# (functools.wraps(assigned=...), make_dataclass(namespace=...)): a getattr by another name
BY_NAME = (functools.update_wrapper, functools.wraps, dataclasses.make_dataclass, typing.get_type_hints,
           typing.get_origin, typing.get_args, typing.ForwardRef)
# the special methods a class here may define: none of them changes how Python looks up
# attributes, checks instances or builds classes (__instancecheck__, __getattr__, __mro_entries__...)
SAFE_SPECIAL_METHODS = {
    "__init__", "__post_init__", "__repr__", "__str__", "__eq__", "__ne__", "__lt__", "__le__", "__gt__",
    "__ge__", "__hash__", "__len__", "__bool__", "__contains__", "__iter__", "__call__", "__getitem__",
}
# builtin types whose class pattern matches the subject itself: str(x) binds the string
SELF_MATCHING = {"bool", "bytearray", "bytes", "dict", "float", "frozenset", "int", "list", "set", "str", "tuple"}
FORMAT_METHODS = {"format", "format_map"}
# what an allowed module must not hand over under another name: the forbidden builtins
# (type and object among them: their subclasses and attributes reach everything)
WAYS_OUT = tuple(getattr(builtins, name) for name in sorted(FORBIDDEN_NAMES) if hasattr(builtins, name)) + BY_NAME
FRAME_ATTRIBUTES = {  # public names that still lead to frames, code and globals
    "gi_frame", "gi_code", "cr_frame", "cr_code", "ag_frame", "ag_code", "f_globals", "f_locals",
    "f_back", "f_builtins", "f_code", "tb_frame", "tb_next", "co_code", "co_consts", "mro",
}

@dataclass(frozen=True)
class Finding:
    line: int
    rule: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: [{self.rule}] {self.message}"


def format_fields_reach(template: str) -> bool:
    """True when a format string's fields look up attributes or items ({0.__class__})."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError:
        return True
    return any(f is not None and ("." in f or "[" in f) or "{" in (spec or "") for _, f, spec, _ in parsed)


def dotted(node: ast.AST) -> tuple[str, ...]:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return tuple(reversed(parts))
    return ()


def special(name: str) -> bool:
    return len(name) > 4 and name.startswith("__") and name.endswith("__")


def string_constants(node: ast.AST, deep: bool) -> list[ast.Constant]:
    """The string constants of an annotation (deep: anywhere in it) or of a subscript's index
    (the index itself and the items of tuples and lists in it): what typing reads as code."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node]
    if deep:
        return [n for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
    if isinstance(node, (ast.Tuple, ast.List)):
        return [c for item in node.elts for c in string_constants(item, False)]
    return []


def parsed_expression(node: ast.Constant) -> ast.expr | None:
    """A string as the expression typing would evaluate, on the string's line; None when it
    is not one (then nothing can evaluate it)."""
    try:
        tree = ast.parse(node.value.strip(), mode="eval")
    except (SyntaxError, ValueError):
        return None
    return ast.increment_lineno(tree, node.lineno - 1).body


class EditableChecker(ast.NodeVisitor):
    """The rules for code between the markers. `check` runs them over the editable part."""

    def __init__(self, frozen: set[str]):
        self.frozen = frozen
        self.imported: set[str] = set()
        self.modules: dict[str, str] = {}  # local name -> allowed module it stands for
        self.classes: set[str] = set()  # classes defined here by a class statement
        self.assigned: set[str] = set()  # names the editable part assigns (may hold anything)
        self.in_class = False
        self.findings: list[Finding] = []

    def check(self, nodes: list[ast.stmt]) -> list[Finding]:
        self.assigned = {n.id for node in nodes for n in ast.walk(node)
                         if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)}
        for node in nodes:
            self.visit(node)
        return self.findings

    def add(self, node: ast.AST, rule: str, message: str) -> None:
        self.findings.append(Finding(node.lineno, rule, message))
    def _module_rule(self, node: ast.AST, module: str) -> None:
        if module not in ALLOWED_MODULES:
            self.add(node, "forbidden-import", f"importing {module or 'a relative module'} is not "
                     f"allowed in a guardrail; use only {', '.join(sorted(ALLOWED_MODULES - {'__future__'}))}")

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.name == "model.protocol":
                self.add(node, "forbidden-import", "import names from the kit with "
                         "`from model.protocol import normalize_prefix`, not the module itself")
            self._module_rule(node, alias.name)
            self._bind(node, (alias.asname or alias.name).split(".")[0])
            self.imported.add((alias.asname or alias.name).split(".")[0])
            if alias.name in ALLOWED_MODULES and "." not in alias.name:
                self.modules[alias.asname or alias.name] = alias.name

    def _reach_rule(self, node: ast.AST, module: str, name: str) -> None:
        """An allowed module must not hand out another module, a way out (typing.sys,
        dataclasses.builtins, model.protocol's numpy), a metaclass (enum.EnumMeta) or a
        function that reads attributes by name or evaluates strings: resolved on the real module."""
        if module not in ALLOWED_MODULES or module == "__future__":
            return
        try:
            value = getattr(importlib.import_module(module), name, None)
        except ImportError:
            return
        metaclass = inspect.isclass(value) and issubclass(value, type)
        if inspect.ismodule(value) or metaclass or any(value is way_out for way_out in WAYS_OUT) or \
                module == "typing" and name not in TYPING_NAMES:
            self.add(node, "escape-hatch", f"{module}.{name} leads outside a guardrail (it hands out "
                     "modules, classes of classes, or reads attributes or code from strings); "
                     "import what you need directly")

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        self._module_rule(node, ("." * node.level) + (node.module or ""))
        for alias in node.names:
            if alias.name.startswith("_") and node.module != "__future__" or alias.name == "*":
                self.add(node, "escape-hatch", f"importing {alias.name} from {node.module} is not allowed")
            self._reach_rule(node, node.module or "", alias.name)
            same_import = node.module == "model.protocol" and alias.asname in (None, alias.name)
            if not same_import:  # importing the shared helper again under its name is harmless
                self._bind(node, alias.asname or alias.name)
            self.imported.add(alias.asname or alias.name)

    def _bind(self, node: ast.AST, name: str) -> None:
        if name in self.frozen:
            self.add(node, "rebinds-frozen-name", f"{name!r} belongs to the shared code; "
                     "choose another name")

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, (ast.Store, ast.Del)):
            self._bind(node, node.id)
        if node.id in FORBIDDEN_NAMES:
            self.add(node, "escape-hatch", f"{node.id} is not allowed in a guardrail")
        elif special(node.id):
            self.add(node, "escape-hatch", f"the special name {node.id} is not allowed in a guardrail "
                     "(special names steer the interpreter: __name__, __class__, __match_args__...)")

    def _attribute_rule(self, node: ast.AST, attr: str, own: bool = False) -> None:
        if attr in FRAME_ATTRIBUTES or attr.startswith("_") and not (own and not attr.startswith("__")):
            self.add(node, "escape-hatch", f"the attribute {attr} is not allowed in a guardrail "
                     "(private, special and frame attributes reach into the interpreter)")

    def _names_a_class(self, node: ast.expr, builtin_ok) -> bool:
        """Whether node names a class that is what it seems: one defined here by a class
        statement, one imported by name from an allowed module, or a builtin that passes
        builtin_ok; never a name the editable part assigns (it may hold anything)."""
        if isinstance(node, ast.Attribute):
            return isinstance(node.value, ast.Name) and node.value.id in self.modules
        if not isinstance(node, ast.Name) or node.id in self.assigned:
            return False
        known = node.id in self.classes or node.id in self.imported and node.id not in self.modules
        return known or builtin_ok(node.id)

    def visit_MatchClass(self, node: ast.MatchClass) -> None:
        """A class pattern reads attributes: the ones it names (keyword) and the ones the class
        lists in __match_args__ (positional), after an isinstance check the class may steer."""
        if not self._names_a_class(node.cls, lambda name: name in SELF_MATCHING):
            self.add(node, "escape-hatch", "a class pattern may name only a builtin type, a class "
                     "defined here or one imported by name")
        for attr in node.kwd_attrs:
            self._attribute_rule(node, attr)
            if attr in FORMAT_METHODS:
                self.add(node, "escape-hatch", f"a class pattern may not take .{attr} (a format "
                         "string reaches attributes); use an f-string")
        self.generic_visit(node)

    def _code_strings(self, strings: list[ast.Constant]) -> None:
        """Strings that library code may evaluate (typing reads annotations and subscripted
        strings as code) are checked as the code they are."""
        for constant in strings:
            expr = parsed_expression(constant)
            if expr is not None:
                self.visit(expr)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        # a plain (dotted) name evaluates to a value and runs nothing: d["type"] stays legal
        self._code_strings([c for c in string_constants(node.slice, deep=False)
                            if not dotted(parsed_expression(c) or ast.Constant(None))])
        self.generic_visit(node)

    def visit_arg(self, node: ast.arg) -> None:
        if node.annotation is not None:
            self._code_strings(string_constants(node.annotation, deep=True))
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self._code_strings(string_constants(node.annotation, deep=True))
        self.generic_visit(node)

    def visit_Global(self, node: ast.Global) -> None:
        for name in node.names:
            if name in self.frozen:
                self.add(node, "rebinds-frozen-name", f"'global {name}' reaches into the shared code")
    visit_Nonlocal = visit_Global

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._bind(node, node.name)
        if node.returns is not None:
            self._code_strings(string_constants(node.returns, deep=True))
        if special(node.name) and not (self.in_class and node.name in SAFE_SPECIAL_METHODS):
            self.add(node, "escape-hatch", f"defining {node.name} is not allowed in a guardrail (it "
                     f"changes how Python looks things up); a class may define {', '.join(sorted(SAFE_SPECIAL_METHODS))}")
        in_class, self.in_class = self.in_class, False
        self.generic_visit(node)
        self.in_class = in_class
    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node: ast.Lambda) -> None:
        in_class, self.in_class = self.in_class, False
        self.generic_visit(node)
        self.in_class = in_class

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        """No metaclass, and bases that are classes for sure: a subclass of type (a metaclass)
        could steer isinstance and so class patterns."""
        self._bind(node, node.name)
        if node.keywords:
            self.add(node, "escape-hatch", "a class may not take keywords (metaclass=...) in a guardrail")
        for base in node.bases:
            if not self._names_a_class(base, lambda name: isinstance(getattr(builtins, name, None), type)):
                self.add(node, "escape-hatch", "a base class must be a class defined here, a builtin "
                         "type or one imported by name")
        self.classes.add(node.name)
        in_class, self.in_class = self.in_class, True
        self.generic_visit(node)
        self.in_class = in_class

    def visit_Attribute(self, node: ast.Attribute) -> None:
        path = dotted(node)
        own = isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")
        self._attribute_rule(node, node.attr, own)
        if node.attr in FORMAT_METHODS:
            self._format_rule(node)
        if isinstance(node.value, ast.Name) and node.value.id in self.modules:
            self._reach_rule(node, self.modules[node.value.id], node.attr)
        if isinstance(node.ctx, (ast.Store, ast.Del)):
            base = path[0] if path else None
            if base is None or base in self.imported or base in self.frozen:
                self.add(node, "patches-module", "assigning or deleting attributes of imported "
                         "modules or shared code is not allowed")
        self.generic_visit(node)

    def _format_rule(self, node: ast.Attribute) -> None:
        """Any route to a format method (called, stored, passed to map or partial, unbound
        str.format) gets its template from a string literal whose fields reach nothing."""
        template = node.value
        if not (isinstance(template, ast.Constant) and isinstance(template.value, str)):
            self.add(node, "escape-hatch", f".{node.attr} is allowed only on a string literal; "
                     "use an f-string")
        elif format_fields_reach(template.value):
            self.add(node, "escape-hatch", "a format field may not reach attributes or items "
                     "({0.x} or {0[x]}); use an f-string")
