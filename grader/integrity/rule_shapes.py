"""The shapes of expressions the rules of grader/integrity/rules.py look for: dotted names, format
templates that reach attributes, plain type expressions, strings typing would evaluate."""
from __future__ import annotations

import ast
import string


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


def string_constants(node: ast.AST) -> list[ast.Constant]:
    """The string constants of a subscript's index (the index itself and the items of tuples
    and lists in it): what typing reads as code."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node]
    if isinstance(node, (ast.Tuple, ast.List)):
        return [c for item in node.elts for c in string_constants(item)]
    return []


def parsed_expression(node: ast.Constant) -> ast.expr | None:
    """A string as the expression typing would evaluate, on the string's line; None when it
    is not one (then nothing can evaluate it)."""
    try:
        tree = ast.parse(node.value.strip(), mode="eval")
    except (SyntaxError, ValueError):
        return None
    return ast.increment_lineno(tree, node.lineno - 1).body


def type_shaped(node: ast.AST, names_ok) -> bool:
    """Whether an annotation is a plain type expression: names (that pass names_ok), dotted
    names, subscripts, `|`, None and `...`; no strings (typing evaluates them as code), no calls."""
    if isinstance(node, ast.Name):
        return names_ok(node.id)
    if isinstance(node, ast.Attribute):
        return bool(dotted(node))
    if isinstance(node, ast.Subscript):
        return type_shaped(node.value, names_ok) and type_shaped(node.slice, names_ok)
    if isinstance(node, (ast.Tuple, ast.List)):
        return all(type_shaped(item, names_ok) for item in node.elts)
    if isinstance(node, ast.BinOp):
        return isinstance(node.op, ast.BitOr) and type_shaped(node.left, names_ok) and \
            type_shaped(node.right, names_ok)
    return isinstance(node, ast.Constant) and node.value in (None, ...)


def type_aliases(nodes: list[ast.stmt]) -> set[str]:
    """Names the editable part binds only by assigning a plain type expression (Hint = list[str])."""
    stores: dict[str, int] = {}
    typed: dict[str, int] = {}
    for node in (n for statement in nodes for n in ast.walk(statement)):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            stores[node.id] = stores.get(node.id, 0) + 1
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] \
            if isinstance(node, ast.AnnAssign) and node.value is not None else []
        if len(targets) == 1 and isinstance(targets[0], ast.Name) and \
                type_shaped(node.value, lambda name: True):
            typed[targets[0].id] = typed.get(targets[0].id, 0) + 1
    return {name for name, count in typed.items() if stores[name] == count}
