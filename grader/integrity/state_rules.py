"""The static half of "hooks are stateless", as an allow-list: a function may change only what it
created in this call.

A hook that remembers earlier calls can tell the graded run from the smoke stage or a
replay, or keep a backdoor until a trigger request. Listing the ways to keep state loses to
the next one (`[S][0].append`, `(S or S)[k] = 1`, `box().append` on a cached function...), so
the rule names what is allowed instead, inside any function or lambda:
- a store, `del` or `+=` only on a name the function bound in this call to a new object (a
  literal, a comprehension, an operator's result, a call of a builtin, of a class of the
  editable part or of an allowed module's function), or on an item or attribute of such a name;
- a method call on anything else only from PURE_METHODS (str methods, get, a pattern's
  search...), or a method of a class defined here that no stdlib container also has; a
  mutating method never handed on (map(S.add, ...));
- next()/heapq/bisect only on such a name; no `global`/`nonlocal`; defaults are constants.
At import, a value that outlives its statement comes only from a literal, a comprehension or a
call known to build a value (fresh_calls.py), never an iterator (a generator, map, heapq.merge, a
call of a function that makes one): a function reading it would advance it.
grader/grading/stateless.py checks the rest at run time.
"""
from __future__ import annotations

import ast
import builtins

from .fresh_calls import Origins, called_name, outside_lambdas
from .rule_tables import KNOWN_MUTATORS, PURE_METHODS
from .rules import Finding

# functions that change their first argument
MUTATING_FUNCTIONS = {"next", "anext", "heappush", "heappop", "heapify", "heappushpop", "heapreplace", "insort",
                      "insort_left", "insort_right"}
# calls that may hand back an object that already exists (a shared entry, the largest of shared lists)
# or a new one sharing it (ChainMap writes into its first map): a name bound from one is not owned
ACCESSORS = {"get", "setdefault", "pop", "popitem", "popleft", "next", "min", "max", "reduce", "iter", "cast",
             "heappop", "heappushpop", "heapreplace", "nlargest", "nsmallest", "ChainMap"}
# values that are built anew by the expression itself
CREATING = (ast.Constant, ast.List, ast.Dict, ast.Set, ast.Tuple, ast.ListComp, ast.DictComp, ast.SetComp,
            ast.GeneratorExp, ast.JoinedStr, ast.BinOp, ast.UnaryOp, ast.Compare, ast.Lambda)
INITIALIZERS = {"__init__", "__post_init__"}  # self is the object being made
FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
FIX = "keep state out of the hooks: build tables at import, change only what the call created"


class Editable:
    """What the rule needs to know of the editable part: its modules, classes and functions."""

    def __init__(self, nodes: list[ast.stmt]):
        every = [n for statement in nodes for n in ast.walk(statement)]
        self.modules = {(a.asname or a.name).split(".")[0] for n in every if isinstance(n, ast.Import)
                        for a in n.names}
        classes = [n for n in every if isinstance(n, ast.ClassDef)]
        self.methods = {f.name for c in classes for f in c.body if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))}
        imported = {(a.asname or a.name) for n in every if isinstance(n, ast.ImportFrom) for a in n.names}
        self.classes = builds_new(classes)
        self.makers = ({n for n in dir(builtins) if not n.startswith("_")} | self.classes | imported) - ACCESSORS
        self.origins = Origins(every)
        self.bound = frozenset(n.id for n in every if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load))
        self.mutating = MUTATING_FUNCTIONS | {a.asname for n in every if isinstance(n, ast.ImportFrom)
                                              for a in n.names if a.asname and a.name in MUTATING_FUNCTIONS}


def builds_new(classes: list[ast.ClassDef]) -> set[str]:
    """The classes whose call builds a new object: not an enum (its members are shared), none
    decorated but by dataclass or total_ordering (a decorator may cache instances)."""
    enums: set[str] = set()
    for c in classes:  # in the order they are defined: a base comes first
        if any("Enum" in ast.unparse(b) or "Flag" in ast.unparse(b) or ast.unparse(b) in enums for b in c.bases):
            enums.add(c.name)
    decorators = lambda c: {ast.unparse(getattr(d, "func", d)).split(".")[-1] for d in c.decorator_list}  # noqa: E731
    return {c.name for c in classes if c.name not in enums and decorators(c) <= {"dataclass", "total_ordering"}}


def body_nodes(function: ast.AST):
    """The nodes of a function's own body: nested functions and classes are their own scopes
    (their names belong to this one)."""
    todo = list(function.body) if isinstance(function.body, list) else [function.body]
    while todo:
        node = todo.pop()
        yield node
        if not isinstance(node, (*FUNCTIONS, ast.ClassDef)):
            todo.extend(ast.iter_child_nodes(node))


def creates(value: ast.expr, editable: Editable) -> bool:
    """Whether value is a new object: a literal, a comprehension, an operator's result, or a call
    of a builtin, a class, an allowed module's function or a method that builds its result."""
    if isinstance(value, CREATING):
        return True
    if not isinstance(value, ast.Call):
        return False
    func = value.func
    if isinstance(func, ast.Name):
        return func.id in editable.makers
    if not isinstance(func, ast.Attribute) or func.attr in ACCESSORS:
        return False
    return func.attr in PURE_METHODS or isinstance(func.value, ast.Name) and func.value.id in editable.modules


def instance(value: ast.expr, editable: Editable) -> bool:
    """A new instance of a class of the editable part: the only new objects whose attributes a
    function may set (an operator's result may be a shared enum flag, `K.A | K.B`)."""
    return isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id in editable.classes


def owned_names(function: ast.AST, editable: Editable, builds=creates) -> set[str]:
    """Names the function creates in this call: every binding of the name in its body builds a
    new object (or is `+=` on it, a def or a class). A parameter is the caller's object, an
    alias (s = STATE) the original, a caught exception may be a shared one; only an
    initializer's self is the object being made."""
    args = function.args
    params = {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs + [args.vararg, args.kwarg]
              if a is not None}
    made = {args.args[0].arg} if getattr(function, "name", "") in INITIALIZERS and args.args else set()
    parents = {id(child): parent for parent in body_nodes(function) for child in ast.iter_child_nodes(parent)}
    owned, foreign = set(), params - made
    for node in body_nodes(function):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            parent = parents.get(id(node))
            if isinstance(parent, ast.AugAssign):
                continue
            single = isinstance(parent, (ast.Assign, ast.AnnAssign, ast.NamedExpr)) and \
                (parent.targets if isinstance(parent, ast.Assign) else [parent.target]) == [node]
            (owned if single and parent.value is not None and builds(parent.value, editable) else foreign).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            owned.add(node.name)
        elif isinstance(node, ast.alias):
            foreign.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            foreign.add(node.name)
        elif isinstance(node, (ast.MatchAs, ast.MatchStar, ast.MatchMapping)):  # a capture binds the subject
            foreign |= {name for name in (getattr(node, "name", None), getattr(node, "rest", None)) if name}
    return (owned | made) - foreign


def described(node: ast.AST) -> str:
    return ast.unparse(node)[:60]


def mutation(node: ast.AST, owned: set[str], editable: Editable, called: set[int],
             instances: set[str]) -> str | None:
    """What node may change that the function did not create in this call, as a phrase, or None."""
    if isinstance(node, (ast.Attribute, ast.Subscript)) and not isinstance(node.ctx, ast.Load):
        mine = instances if isinstance(node, ast.Attribute) else owned
        if not (isinstance(node.value, ast.Name) and node.value.id in mine):
            return f"stores into {described(node)}"
    if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name) and node.target.id not in owned:
        return f"changes {node.target.id} in place (`+=` on a list; write {node.target.id} = " \
            f"{node.target.id} + ...)"
    if isinstance(node, ast.Attribute) and node.attr in ("cache_info", "cache_clear"):
        return f"uses a cache's {node.attr}"
    if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
        receiver = node.value
        mine = isinstance(receiver, ast.Name) and (receiver.id in owned or receiver.id in editable.modules)
        user_method = node.attr in editable.methods and node.attr not in KNOWN_MUTATORS
        if id(node) in called and not (mine or node.attr in PURE_METHODS or user_method):
            return f"calls {described(node)}() (on such a value only methods that change nothing, " \
                "such as str methods, get or a pattern's search)"
    if handed_on(node, editable, called, owned):
        return f"hands on {described(node)}, a mutator (whoever calls it changes what it is bound to or given)"
    if isinstance(node, ast.Call) and called_name(node.func) in editable.mutating and node.args:
        target = node.args[0]
        if not (isinstance(target, ast.Name) and target.id in owned):
            return f"calls {called_name(node.func)}({described(target)})"
    return None


def handed_on(node: ast.AST, editable: Editable, called: set[int], owned: set[str]) -> bool:
    """A mutator taken without being called (F = S.append, map(S.add, ...), partial(heappush, H))."""
    if id(node) in called or not isinstance(getattr(node, "ctx", None), ast.Load):
        return False
    if isinstance(node, ast.Attribute):
        mine = isinstance(node.value, ast.Name) and node.value.id in owned
        return node.attr in KNOWN_MUTATORS and not mine or node.attr in MUTATING_FUNCTIONS
    return isinstance(node, ast.Name) and node.id in editable.mutating


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


def function_findings(function: ast.AST, editable: Editable) -> list[Finding]:
    owned, instances = owned_names(function, editable), owned_names(function, editable, instance)
    found = []
    default = shared_default(function)
    if default is not None:
        found.append(Finding(default.lineno, "stateful-hook", "a default argument must be a constant "
                             f"(one default object is shared by every call); use None; {FIX}"))
    nodes = list(body_nodes(function))
    called = {id(n.func) for n in nodes if isinstance(n, ast.Call)}
    for node in nodes:
        what = mutation(node, owned, editable, called, instances)
        if what:
            found.append(Finding(node.lineno, "stateful-hook", f"a function {what} on a value it did not "
                                 f"create in this call: its answers could depend on earlier calls; {FIX}"))
    return found


def module_level(nodes: list[ast.stmt]):
    """The statements that run once, at import: the module's and the class bodies' (not functions')."""
    todo = list(nodes)
    while todo:
        node = todo.pop()
        if isinstance(node, ast.ClassDef):
            todo.extend(node.body)
        elif not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node


def stateful_findings(nodes: list[ast.stmt]) -> list[Finding]:
    """The findings of the stateless rule over the editable part's statements."""
    editable = Editable(nodes)
    found = [Finding(n.lineno, "stateful-hook", f"{described(n)} makes an iterator, or is not known to "
                     "build a value (a function reading a kept iterator would advance it); make it a list or "
                     f"tuple ({FIX})")
             for statement in module_level(nodes)
             for n in editable.origins.loose(statement, editable.bound)]
    for statement in module_level(nodes):
        inside = outside_lambdas(statement)
        called = {id(n.func) for n in inside if isinstance(n, ast.Call)}
        found += [Finding(n.lineno, "stateful-hook", f"{described(n)} is a mutator kept for later: whoever "
                          f"calls it changes what it is bound to or given; {FIX}") for n in inside
                  if handed_on(n, editable, called, set())]
    for statement in nodes:
        for node in ast.walk(statement):
            if isinstance(node, (ast.Global, ast.Nonlocal)):
                found.append(Finding(node.lineno, "stateful-hook", f"'{type(node).__name__.lower()} "
                                     f"{', '.join(node.names)}' lets a function keep state; {FIX}"))
            elif isinstance(node, FUNCTIONS):
                found += function_findings(node, editable)
    return found
