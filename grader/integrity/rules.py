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
import importlib
import inspect
from dataclasses import dataclass

from .rule_shapes import (
    dotted, format_fields_reach, parsed_expression, special, string_constants, type_aliases, type_shaped,
)
from .rule_tables import (
    ALLOWED_MODULES, FORBIDDEN_NAMES, FORMAT_APIS, FORMAT_FUNCTIONS, FORMAT_METHODS, FRAME_ATTRIBUTES,
    FROZEN_HELPERS, MODULE_NAMES, SAFE_SPECIAL_METHODS, SELF_MATCHING, WAYS_OUT,
)


@dataclass(frozen=True)
class Finding:
    line: int
    rule: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: [{self.rule}] {self.message}"


class ImportRules(ast.NodeVisitor):
    """What the editable part knows as it is walked, the findings, and the rules of imports:
    only allowed modules, nothing private, no module or way out handed on by one."""

    def __init__(self, frozen: set[str]):
        self.frozen = frozen
        self.imported: set[str] = set()
        self.modules: dict[str, str] = {}  # local name -> allowed module it stands for
        self.classes: set[str] = set()  # classes defined here by a class statement
        self.assigned: set[str] = set()  # names the editable part assigns (may hold anything)
        self.aliases: set[str] = set()  # of those, the ones that hold only a type expression
        self.parents: dict[int, ast.AST] = {}  # id(node) -> its parent
        self.enums: set[str] = set()  # enum classes by name: imported from enum, or derived here
        self.in_class = False
        self.findings: list[Finding] = []

    def check(self, nodes: list[ast.stmt]) -> list[Finding]:
        self.assigned = {n.id for node in nodes for n in ast.walk(node)
                         if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)}
        self.aliases = type_aliases(nodes)
        self.parents = {id(child): parent for node in nodes for parent in ast.walk(node)
                        for child in ast.iter_child_nodes(parent)}
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
        dataclasses.builtins, model.protocol's sys), a metaclass (enum.EnumMeta) or a
        function that reads attributes by name or evaluates strings: resolved on the real module."""
        if module not in ALLOWED_MODULES or module == "__future__":
            return
        try:
            value = getattr(importlib.import_module(module), name, None)
        except ImportError:
            return
        metaclass = inspect.isclass(value) and issubclass(value, type)
        if inspect.ismodule(value) or metaclass or any(value is way_out for way_out in WAYS_OUT):
            self.add(node, "escape-hatch", f"{module}.{name} leads outside a guardrail (it hands out "
                     "modules, classes of classes, or reads attributes or code from strings); "
                     "import what you need directly")
        elif module in MODULE_NAMES and name not in MODULE_NAMES[module]:
            self.add(node, "escape-hatch", f"{module}.{name} is not among the names of {module} a guardrail "
                     f"may use (they compute from their arguments alone): {', '.join(sorted(MODULE_NAMES[module]))}")

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
            if node.module == "enum":
                self.enums.add(alias.asname or alias.name)


class NameRules(ImportRules):
    """The rules of names: what a name may be bound to or reach (in matches, subscripts,
    globals), and annotations that stay plain type expressions."""

    def _bind(self, node: ast.AST, name: str) -> None:
        if name in self.frozen:
            self.add(node, "rebinds-frozen-name", f"{name!r} belongs to the shared code; "
                     "choose another name")

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, (ast.Store, ast.Del)):
            self._bind(node, node.id)
        if node.id in FORBIDDEN_NAMES:
            self.add(node, "escape-hatch", f"{node.id} is not allowed in a guardrail")
        elif node.id in self.frozen and node.id not in FROZEN_HELPERS and isinstance(node.ctx, ast.Load):
            self.add(node, "escape-hatch", f"{node.id} is the frozen loop's; the hooks may use only its "
                     f"helpers ({', '.join(sorted(FROZEN_HELPERS))})")
        elif node.id in self.modules and isinstance(node.ctx, ast.Load) and \
                not isinstance(self.parents.get(id(node)), ast.Attribute):
            self.add(node, "escape-hatch", f"the module {node.id} may only be used as "
                     f"{node.id}.name (bound or passed on, its names would go unchecked)")
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
            if attr in FORMAT_APIS:
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
        self._code_strings([c for c in string_constants(node.slice)
                            if not dotted(parsed_expression(c) or ast.Constant(None))])
        self.generic_visit(node)

    def _annotation_rule(self, annotation: ast.expr | None) -> None:
        """Library code evaluates annotations (a string, or a name holding one, runs as code):
        an annotation must be a plain type expression naming no value the editable part assigns."""
        names_ok = lambda name: name not in self.assigned or name in self.aliases  # noqa: E731
        if annotation is not None and not type_shaped(annotation, names_ok):
            self.add(annotation, "escape-hatch", "an annotation must be a plain type (names, "
                     "list[str], str | None), not a string, a call or a name holding a value")

    def visit_arg(self, node: ast.arg) -> None:
        self._annotation_rule(node.annotation)
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self._annotation_rule(node.annotation)
        self.generic_visit(node)

    def visit_Global(self, node: ast.Global) -> None:
        for name in node.names:
            if name in self.frozen:
                self.add(node, "rebinds-frozen-name", f"'global {name}' reaches into the shared code")
    visit_Nonlocal = visit_Global


class EditableChecker(NameRules):
    """The rules for code between the markers. `check` runs them all over the editable part:
    those of imports and names, and those of definitions, calls, attributes and formats."""

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._bind(node, node.name)
        self._annotation_rule(node.returns)
        if special(node.name) and not (self.in_class and node.name in SAFE_SPECIAL_METHODS):
            self.add(node, "escape-hatch", f"defining {node.name} is not allowed in a guardrail (it "
                     f"changes how Python looks things up); a class may define {', '.join(sorted(SAFE_SPECIAL_METHODS))}")
        in_class, self.in_class = self.in_class, False
        self.generic_visit(node)
        self.in_class = in_class
    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Try(self, node: ast.Try) -> None:
        self.add(node, "escape-hatch", "try/except is not allowed in a guardrail: a hook that catches an error "
                 "(RecursionError, MemoryError) can tell the grader's worker from your own bot.py by where a "
                 "limit lies; let it fail, the bot refuses (fail closed)")
        self.generic_visit(node)
    visit_TryStar = visit_Try

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
        if any(self._is_enum(base) for base in node.bases):
            self.enums.add(node.name)
        in_class, self.in_class = self.in_class, True
        self.generic_visit(node)
        self.in_class = in_class

    def _is_enum(self, node: ast.expr) -> bool:
        return isinstance(node, ast.Name) and node.id in self.enums or \
            isinstance(node, ast.Attribute) and self.modules.get(dotted(node)[0] if dotted(node) else "") == "enum"

    def visit_Call(self, node: ast.Call) -> None:
        """An enum class called with names (Enum('E', {...})) builds a class from strings: its
        names may be special ones (__match_args__) that a class statement may not define."""
        if self._is_enum(node.func) and (len(node.args) > 1 or any(k.arg != "value" for k in node.keywords)):
            self.add(node, "escape-hatch", "an enum's functional form (Enum('E', names)) is not "
                     "allowed in a guardrail; write a class statement")
        if any(k.arg == "timeout" for k in node.keywords):  # regex's: the answer would follow the clock
            self.add(node, "escape-hatch", "a timeout makes an answer depend on the machine's speed; "
                     "the frozen loop bounds your patterns already")
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        path = dotted(node)
        own = isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")
        self._attribute_rule(node, node.attr, own)
        if node.attr in FORMAT_METHODS:
            self._format_rule(node, node.value)
        elif node.attr in FORMAT_FUNCTIONS:
            self._format_rule(node, self._template_argument(node))
        if isinstance(node.value, ast.Name) and node.value.id in self.modules:
            self._reach_rule(node, self.modules[node.value.id], node.attr)
        if isinstance(node.ctx, (ast.Store, ast.Del)):
            base = path[0] if path else None
            if base is None or base in self.imported or base in self.frozen:
                self.add(node, "patches-module", "assigning or deleting attributes of imported "
                         "modules or shared code is not allowed")
        self.generic_visit(node)

    def _template_argument(self, node: ast.Attribute) -> ast.expr | None:
        """The template a regex format function is called with (the module's function takes the
        pattern first); None when it is not called here (bound, passed on) or not given plainly."""
        call = self.parents.get(id(node))
        if not (isinstance(call, ast.Call) and call.func is node):
            return None
        for keyword in call.keywords:
            if keyword.arg in ("format", "template"):
                return keyword.value
        index = 1 if isinstance(node.value, ast.Name) and node.value.id in self.modules else 0
        return call.args[index] if len(call.args) > index else None

    def _format_rule(self, node: ast.Attribute, template: ast.expr | None) -> None:
        """Any route to a format API (called, stored, passed to map or partial, unbound
        str.format) gets its template from a string literal whose fields reach nothing."""
        if not (isinstance(template, ast.Constant) and isinstance(template.value, str)):
            self.add(node, "escape-hatch", f".{node.attr} is allowed only with a string literal "
                     "as its template, called in place; use an f-string")
        elif format_fields_reach(template.value):
            self.add(node, "escape-hatch", "a format field may not reach attributes or items "
                     "({0.x} or {0[x]}); use an f-string")
