"""The static half of "hooks are stateless": no function of the editable part changes an object
it did not create in this call.

A hook that remembers earlier calls can tell the graded run from the smoke stage or a
replay, or keep a backdoor until a trigger request. What stays legal: module-level tables,
sets and compiled patterns built at import (module-level code may build anything), objects a
function builds in this call (a literal, a comprehension, a call of a builtin, a class or a
method) and changes, an initializer's self, and functools.lru_cache. What is refused, inside
any function or lambda: `global`/`nonlocal`; a default argument that is not a constant;
storing into an item or attribute, `+=`, or the mutating methods (append, add, update,
pop..., called or handed on: map(SEEN.add, ...)) and next()/heapq/bisect mutators of any
name the function did not build (module-level, enclosing, a parameter, an alias such as
s = STATE or c = CACHE.get(k), a method's self); a cache's counters (cache_info); and
module-level iterators, which change as they are read. grader/grading/stateless.py checks the rest
at run time (a shared generator advanced by a for loop, for one).
"""
from __future__ import annotations

import ast
import builtins

from .rules import Finding

MUTATING_METHODS = {
    "append", "extend", "insert", "remove", "pop", "popitem", "clear", "add", "discard", "update",
    "setdefault", "sort", "reverse", "difference_update", "intersection_update",
    "symmetric_difference_update", "appendleft", "extendleft", "popleft", "rotate", "move_to_end",
    "subtract", "send", "throw",
}
# functions that change their first argument
MUTATING_FUNCTIONS = {"next", "heappush", "heappop", "heapify", "heappushpop", "heapreplace", "insort",
                      "insort_left", "insort_right"}
ITERATOR_MAKERS = {"iter", "map", "filter", "zip", "enumerate", "reversed", "count", "cycle", "repeat",
                   "chain", "islice", "tee", "accumulate", "groupby", "starmap", "takewhile",
                   "dropwhile", "compress", "pairwise", "zip_longest", "product", "permutations",
                   "combinations", "combinations_with_replacement", "filterfalse"}
# calls that may hand back an object that already exists (a shared table's entry, the largest
# of shared lists): a name bound from one is not the function's own
ACCESSORS = {"get", "setdefault", "pop", "popitem", "popleft", "next", "min", "max", "reduce", "iter"}
# values that are built anew by the expression itself
CREATING = (ast.Constant, ast.List, ast.Dict, ast.Set, ast.Tuple, ast.ListComp, ast.DictComp, ast.SetComp,
            ast.GeneratorExp, ast.JoinedStr, ast.BinOp, ast.UnaryOp, ast.Compare, ast.Lambda)
# methods that construct an object in place (self is the object being made)
INITIALIZERS = {"__init__", "__post_init__"}
FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
FIX = "keep state out of the hooks: build tables at import, change only what the call created"


def root_name(node: ast.AST) -> str | None:
    """The name an item or attribute chain starts from (SEEN in SEEN[k].x), else None."""
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def called_name(func: ast.expr) -> str | None:
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None


def body_nodes(function: ast.AST):
    """The nodes of a function's own body: nested functions and classes are their own scopes
    (their names belong to this one)."""
    todo = list(function.body) if isinstance(function.body, list) else [function.body]
    while todo:
        node = todo.pop()
        yield node
        if not isinstance(node, (*FUNCTIONS, ast.ClassDef)):
            todo.extend(ast.iter_child_nodes(node))


def creates(value: ast.expr, makers: set[str]) -> bool:
    """Whether value is a new object: a literal, a comprehension, an operator's result, or a
    call of a builtin or a class (makers) or of a method that is not an accessor."""
    if isinstance(value, CREATING):
        return True
    if not isinstance(value, ast.Call):
        return False
    if isinstance(value.func, ast.Name):
        return value.func.id in makers and value.func.id not in ACCESSORS
    return isinstance(value.func, ast.Attribute) and value.func.attr not in ACCESSORS


def binding_value(node: ast.AST, parent: ast.AST) -> ast.expr | None:
    """The value a name is bound to by the statement that binds it, when it is one value."""
    if isinstance(parent, (ast.Assign, ast.AnnAssign, ast.NamedExpr)) and \
            (parent.targets if isinstance(parent, ast.Assign) else [parent.target]) == [node]:
        return parent.value
    return None


def owned_names(function: ast.AST, makers: set[str]) -> set[str]:
    """Names the function creates in this call: every binding of the name in its body builds a
    new object (or is `+=` on it, a def, class, import or except). A parameter is the caller's
    object or a default shared by every call, and an alias (s = STATE) is the original; only
    an initializer's self is the object being made."""
    args = function.args
    params = {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs + [args.vararg, args.kwarg]
              if a is not None}
    made = {args.args[0].arg} if getattr(function, "name", "") in INITIALIZERS and args.args else set()
    parents = {id(child): parent for parent in body_nodes(function) for child in ast.iter_child_nodes(parent)}
    owned, foreign = set(), params - made
    for node in body_nodes(function):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            parent = parents.get(id(node))
            value = binding_value(node, parent)
            if isinstance(parent, ast.AugAssign):
                continue
            (owned if value is not None and creates(value, makers) else foreign).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            owned.add(node.name)
        elif isinstance(node, ast.alias):
            owned.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            owned.add(node.name)
    return (owned | made) - foreign


def mutation(node: ast.AST, owned: set[str]) -> str | None:
    """What node changes that the function does not own, as a phrase, or None."""
    if isinstance(node, (ast.Attribute, ast.Subscript)) and not isinstance(node.ctx, ast.Load):
        name = root_name(node)
        if name is not None and name not in owned:
            return f"stores into {name}"
    if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name) and node.target.id not in owned:
        return f"changes {node.target.id} in place (`+=` on a list; write {node.target.id} = " \
            f"{node.target.id} + ...)"
    if isinstance(node, ast.Attribute) and node.attr in MUTATING_METHODS:  # called or handed on (map)
        name = root_name(node.value)
        if name is not None and name not in owned:
            return f"uses {name}.{node.attr}"
    if isinstance(node, ast.Attribute) and node.attr == "cache_info":
        return "reads a cache's counters (cache_info)"
    if isinstance(node, ast.Call):
        called = called_name(node.func)
        if called in MUTATING_FUNCTIONS and node.args:
            name = root_name(node.args[0])
            if name is not None and name not in owned:
                return f"calls {called}({name})"
    return None


def shared_default(function: ast.AST) -> ast.expr | None:
    """A default argument that is a mutable object (one list shared by every call), or None."""
    for default in function.args.defaults + [d for d in function.args.kw_defaults if d is not None]:
        try:
            value = ast.literal_eval(default)
        except ValueError:
            return default
        if isinstance(value, (list, dict, set)) or isinstance(value, tuple) and \
                any(isinstance(item, (list, dict, set)) for item in value):
            return default
    return None


def function_findings(function: ast.AST, makers: set[str]) -> list[Finding]:
    owned = owned_names(function, makers)
    found = []
    default = shared_default(function)
    if default is not None:
        found.append(Finding(default.lineno, "stateful-hook", "a default argument must be a constant "
                             f"(one default object is shared by every call); use None; {FIX}"))
    for node in body_nodes(function):
        what = mutation(node, owned)
        if what:
            found.append(Finding(node.lineno, "stateful-hook", f"a function {what}, which outlives the "
                                 f"call: its answers could depend on earlier calls; {FIX}"))
    return found


def makes_iterator(value: ast.expr | None) -> bool:
    if isinstance(value, ast.GeneratorExp):
        return True
    return isinstance(value, ast.Call) and called_name(value.func) in ITERATOR_MAKERS


def stateful_findings(nodes: list[ast.stmt]) -> list[Finding]:
    """The findings of the stateless rule over the editable part's statements."""
    found = []
    makers = {name for name in dir(builtins) if not name.startswith("_")} | \
        {n.name for statement in nodes for n in ast.walk(statement) if isinstance(n, ast.ClassDef)} | \
        {(n.asname or n.name) for statement in nodes for n in ast.walk(statement) if isinstance(n, ast.alias)}
    for statement in nodes:
        if isinstance(statement, (ast.Assign, ast.AnnAssign)) and makes_iterator(statement.value):
            found.append(Finding(statement.lineno, "stateful-hook", "a module-level iterator changes "
                                 f"each time it is read; make it a list or tuple ({FIX})"))
        for node in ast.walk(statement):
            if isinstance(node, (ast.Global, ast.Nonlocal)):
                found.append(Finding(node.lineno, "stateful-hook", f"'{type(node).__name__.lower()} "
                                     f"{', '.join(node.names)}' lets a function keep state; {FIX}"))
            elif isinstance(node, FUNCTIONS):
                found += function_findings(node, makers)
    return found
