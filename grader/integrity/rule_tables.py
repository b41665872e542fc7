"""What the rules of grader/integrity/rules.py allow and refuse, by name: modules, builtins, the names
of allowed modules, special methods, format APIs and frame attributes."""
from __future__ import annotations

import builtins
import dataclasses
import functools
import typing

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
# the allowed modules that also hand out functions which evaluate strings or reach attributes
# by name (functools.singledispatch's register evaluates annotations with get_type_hints,
# wraps copies attributes named by strings, make_dataclass and namedtuple build classes from
# strings): from these only the names listed may be used
MODULE_NAMES = {
    "typing": TYPING_NAMES,
    "functools": {"cache", "cached_property", "cmp_to_key", "lru_cache", "partial", "reduce", "total_ordering"},
    "dataclasses": {"dataclass", "field", "fields", "asdict", "astuple", "replace", "is_dataclass",
                    "FrozenInstanceError", "InitVar", "KW_ONLY", "MISSING"},
    "collections": {"ChainMap", "Counter", "OrderedDict", "defaultdict", "deque"},
}
# library functions that read or set attributes named by a string, or build a class from one
# (functools.wraps(assigned=...), make_dataclass(namespace=...)): a getattr by another name
BY_NAME = (functools.update_wrapper, functools.wraps, dataclasses.make_dataclass, typing.get_type_hints,
           typing.get_origin, typing.get_args, typing.ForwardRef, functools.singledispatch,
           functools.singledispatchmethod)
# the special methods a class here may define: none of them changes how Python looks up
# attributes, checks instances or builds classes (__instancecheck__, __getattr__, __mro_entries__...)
SAFE_SPECIAL_METHODS = {
    "__init__", "__post_init__", "__repr__", "__str__", "__eq__", "__ne__", "__lt__", "__le__", "__gt__",
    "__ge__", "__hash__", "__len__", "__bool__", "__contains__", "__iter__", "__call__", "__getitem__",
}
# builtin types whose class pattern matches the subject itself: str(x) binds the string
SELF_MATCHING = {"bool", "bytearray", "bytes", "dict", "float", "frozenset", "int", "list", "set", "str", "tuple"}
# every API that fills a format template ({0.x} reaches attributes): str's methods take it as
# their receiver, regex's as an argument (regex.subf(pattern, template, s), Pattern.subf(template, s),
# Match.expandf(template))
FORMAT_METHODS = {"format", "format_map"}
FORMAT_FUNCTIONS = {"subf", "subfn", "expandf"}
FORMAT_APIS = FORMAT_METHODS | FORMAT_FUNCTIONS
# what an allowed module must not hand over under another name: the forbidden builtins
# (type and object among them: their subclasses and attributes reach everything)
WAYS_OUT = tuple(getattr(builtins, name) for name in sorted(FORBIDDEN_NAMES) if hasattr(builtins, name)) + BY_NAME
FRAME_ATTRIBUTES = {  # public names that still lead to frames, code and globals
    "gi_frame", "gi_code", "cr_frame", "cr_code", "ag_frame", "ag_code", "f_globals", "f_locals",
    "f_back", "f_builtins", "f_code", "tb_frame", "tb_next", "co_code", "co_consts", "mro",
}
