"""What the rules of grader/integrity/rules.py allow and refuse, by name: modules, builtins, the names
of allowed modules, special methods, format APIs and frame attributes."""
from __future__ import annotations

import builtins
import collections
import dataclasses
import difflib
import functools
import re
import textwrap
import typing

import regex

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
    # a hook's answer must be a pure function of its arguments: hash() follows the process's
    # hash seed and id() its memory layout, so either tells one process (a grading) from another
    "hash", "id",
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
# strings): from these only the names listed may be used. No cache or lru_cache: a memo cache
# keeps its arguments and results across calls (a key equal to a later one, then changed)
MODULE_NAMES = {
    "typing": TYPING_NAMES,
    "functools": {"cached_property", "cmp_to_key", "partial", "reduce", "total_ordering"},
    "dataclasses": {"dataclass", "field", "fields", "asdict", "astuple", "replace", "is_dataclass",
                    "FrozenInstanceError", "InitVar", "KW_ONLY", "MISSING"},
    # no defaultdict: reading a missing key inserts it, state kept by a read
    "collections": {"ChainMap", "Counter", "OrderedDict", "deque"},
    # no global_enum (or its kin): it writes the members into the defining module's globals,
    # and raises where that module is not in sys.modules (the grader's worker), not in `python bot.py`
    "enum": {"Enum", "IntEnum", "StrEnum", "Flag", "IntFlag", "ReprEnum", "auto", "unique", "verify",
             "member", "nonmember", "property", "EnumCheck", "FlagBoundary", "CONTINUOUS", "NAMED_FLAGS",
             "UNIQUE", "STRICT", "CONFORM", "EJECT", "KEEP"},
    # no purge, cache_all (a process-wide switch), template or Scanner
    "re": {"compile", "search", "match", "fullmatch", "split", "findall", "finditer", "sub", "subn",
           "escape", "error", "Pattern", "Match", "RegexFlag", "NOFLAG", "A", "ASCII", "I", "IGNORECASE",
           "M", "MULTILINE", "S", "DOTALL", "X", "VERBOSE", "U", "UNICODE"},
    "regex": {"compile", "search", "match", "fullmatch", "prefixmatch", "split", "splititer", "findall",
              "finditer", "sub", "subf", "subn", "subfn", "escape", "error", "Pattern", "Match", "RegexFlag",
              "DEFAULT_VERSION", "A", "ASCII", "B", "BESTMATCH", "E", "ENHANCEMATCH", "F", "FULLCASE", "I",
              "IGNORECASE", "M", "MULTILINE", "P", "POSIX", "R", "REVERSE", "S", "DOTALL", "U", "UNICODE",
              "V0", "VERSION0", "V1", "VERSION1", "W", "WORD", "X", "VERBOSE"},
    "difflib": {"SequenceMatcher", "Differ", "get_close_matches", "ndiff", "unified_diff", "context_diff",
                "IS_CHARACTER_JUNK", "IS_LINE_JUNK"},
    # the frozen loop's pure helpers only: never run_bot, serve, Bot, LocalHooks, read_lines or
    # anything else that samples, reads stdin or prints (a hook could run its own, unfiltered loop)
    "model.protocol": {"normalize_prefix", "is_model_prefix", "parse_request", "MAX_LINE_BYTES",
                       "MAX_PREFIXES", "MAX_PREFIX_LETTERS", "MAX_ATTEMPTS", "MAX_REASON_CHARS", "DEFAULT_REASON"},
}
FROZEN_HELPERS = MODULE_NAMES["model.protocol"]  # the frozen code's names the editable part may use
# library functions that read or set attributes named by a string, or build a class from one
# (functools.wraps(assigned=...), make_dataclass(namespace=...)): a getattr by another name
BY_NAME = (functools.update_wrapper, functools.wraps, dataclasses.make_dataclass, typing.get_type_hints,
           typing.get_origin, typing.get_args, typing.ForwardRef, functools.singledispatch,
           functools.singledispatchmethod)
# the special methods a class here may define: none of them changes how Python looks up
# attributes, checks instances or builds classes (__instancecheck__, __getattr__, __mro_entries__...),
# nor equality or hashing: a key whose __eq__ answers by what an lru_cache stored earlier keeps
# state inside the cache (dataclass's generated __eq__ compares fields and stays legal)
SAFE_SPECIAL_METHODS = {
    "__init__", "__post_init__", "__repr__", "__str__", "__lt__", "__le__", "__gt__",
    "__ge__", "__len__", "__bool__", "__contains__", "__iter__", "__call__", "__getitem__",
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


def _methods(*types) -> set[str]:
    return {name for t in types for name in dir(t) if not name.startswith("_") and callable(getattr(t, name))}


# The stateless rule (state_rules.py) is an allow-list: on a value a function did not create in
# this call, it may call only methods that change nothing. Every method of the immutable types
# and of compiled patterns and matches (regex's detach_string and scanners aside), and the
# reading methods of the containers.
PURE_METHODS = (_methods(str, bytes, tuple, frozenset, int, float, re.Pattern, re.Match,
                         type(regex.compile("")), type(regex.match("", ""))) - {"detach_string", "scanner"}) | \
    {"copy", "count", "index", "get", "keys", "values", "items", "fromkeys", "most_common", "total", "elements"}
# methods of the stdlib's mutable objects that change them: never allowed on a value not
# created in this call, even where a class of the editable part defines a method of that name
KNOWN_MUTATORS = _methods(list, dict, set, bytearray, collections.deque, collections.Counter, collections.OrderedDict,
                          collections.ChainMap, collections.defaultdict, difflib.SequenceMatcher, difflib.Differ,
                          textwrap.TextWrapper, BaseException, (lambda: (yield))(), functools.lru_cache(len)) - PURE_METHODS \
    | {"detach_string"}
