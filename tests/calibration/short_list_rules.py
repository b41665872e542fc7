"""A student with only the kit: 25 common fruits, plurals, anything with berry; the kit's allowlist.

Rules instead of a long list; the legitimate names are the kit's allowlist (filled in from
the kit) and nothing of their own."""
FRUITS = """
    apple banana orange pear peach plum cherry grape lemon lime mango melon kiwi fig date apricot
    pineapple coconut papaya olive watermelon tangerine nectarine pomegranate guava
""".split()
NAMES = "@KIT_NAMES@".split()


def plural_forms(word):
    if word.endswith("y") and word[-2:-1] not in "aeiou":
        return {word[:-1] + "ies"}
    if word.endswith(("s", "x", "z", "ch", "sh")):
        return {word + "es"}
    return {word + "s", word + "es"} if word.endswith("o") else {word + "s"}


BANNED = set(FRUITS).union(*map(plural_forms, FRUITS))
BLOCKED_PREFIX_PATTERNS: list[str] = [r"berr(y|ies)"]
BLOCKED_OUTPUT_PATTERNS: list[str] = [r"berr(y|ies)$"]


def is_safe_request(prefixes):
    for typed in prefixes:
        prefix = normalize_prefix(typed)
        if prefix in BANNED:
            return "That is a fruit."
        if any(prefix.startswith(w) for w in BANNED) and not any(n.startswith(prefix) for n in NAMES):
            return "That starts with a fruit."
    return None


def is_safe_name(name):
    return name not in BANNED
