"""The rules for the code between the STUDENT CODE markers: only string processing.

An allowlist of modules (not a deny-list of escape hatches), and no way out through private,
special or frame attributes, built attribute names, format fields or what an allowed module
hands out. The sandbox does not rely on these rules; they keep a guardrail a guardrail.
"""
from __future__ import annotations

import ast
import builtins
import importlib
import inspect
import string
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
    "exit", "quit", "__builtins__", "__loader__", "__spec__", "__file__",
}
FORMAT_METHODS = {"format", "format_map"}
# what an allowed module must not hand over under another name: the forbidden builtins, and
# type and object (their subclasses and attributes reach everything)
WAYS_OUT = tuple(getattr(builtins, name) for name in sorted(FORBIDDEN_NAMES) if hasattr(builtins, name)) + (type, object)
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


class EditableChecker(ast.NodeVisitor):
    """The rules for code between the markers."""

    def __init__(self, frozen: set[str]):
        self.frozen = frozen
        self.imported: set[str] = set()
        self.modules: dict[str, str] = {}  # local name -> allowed module it stands for
        self.findings: list[Finding] = []

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
        """An allowed module must not hand out another module or a way out (typing.sys,
        dataclasses.builtins, model.protocol's numpy): resolved on the real module."""
        if module not in ALLOWED_MODULES or module == "__future__":
            return
        try:
            value = getattr(importlib.import_module(module), name, None)
        except ImportError:
            return
        if inspect.ismodule(value) or any(value is way_out for way_out in WAYS_OUT):
            self.add(node, "escape-hatch", f"{module}.{name} leads outside a guardrail; "
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

    def _attribute_rule(self, node: ast.AST, attr: str, own: bool = False) -> None:
        if attr in FRAME_ATTRIBUTES or attr.startswith("_") and not (own and not attr.startswith("__")):
            self.add(node, "escape-hatch", f"the attribute {attr} is not allowed in a guardrail "
                     "(private, special and frame attributes reach into the interpreter)")

    def visit_MatchClass(self, node: ast.MatchClass) -> None:
        for attr in node.kwd_attrs:
            self._attribute_rule(node, attr)
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in FORMAT_METHODS:
            template = func.value
            if not (isinstance(template, ast.Constant) and isinstance(template.value, str)):
                self.add(node, "escape-hatch", f".{func.attr}() is allowed only on a string literal; "
                         "use an f-string")
            elif format_fields_reach(template.value):
                self.add(node, "escape-hatch", "a format field may not reach attributes or items "
                         "({0.x} or {0[x]}); use an f-string")
        self.generic_visit(node)

    def visit_Global(self, node: ast.Global) -> None:
        for name in node.names:
            if name in self.frozen:
                self.add(node, "rebinds-frozen-name", f"'global {name}' reaches into the shared code")
    visit_Nonlocal = visit_Global

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._bind(node, node.name)
        self.generic_visit(node)
    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._bind(node, node.name)
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        path = dotted(node)
        own = isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")
        self._attribute_rule(node, node.attr, own)
        if isinstance(node.value, ast.Name) and node.value.id in self.modules:
            self._reach_rule(node, self.modules[node.value.id], node.attr)
        if isinstance(node.ctx, (ast.Store, ast.Del)):
            base = path[0] if path else None
            if base is None or base in self.imported or base in self.frozen:
                self.add(node, "patches-module", "assigning or deleting attributes of imported "
                         "modules or shared code is not allowed")
        self.generic_visit(node)
