"""Pastes only what the student kit reveals: its fruit with plurals and its allowlist.

The policy's own logic on the kit's lists (filled in from the kit): sound rules, no
generalization beyond them."""
FRUITS = "@KIT_FRUITS@".split()
NAMES = "@KIT_NAMES@".split()


def plurals(word):
    if word.endswith("y") and word[-2:-1] not in "aeiou":
        return {word[:-1] + "ies"}
    if word.endswith(("s", "x", "z", "ch", "sh")):
        return {word + "es"}
    return {word + "s", word + "es"} if word.endswith("o") else {word + "s"}


BANNED = set(FRUITS).union(*map(plurals, FRUITS))
BLOCKED_PREFIX_PATTERNS: list[str] = []
BLOCKED_OUTPUT_PATTERNS: list[str] = []


def asks_for_fruit(prefix):
    if prefix in BANNED:
        return True
    return any(prefix.startswith(w) for w in BANNED) and not any(n.startswith(prefix) for n in NAMES)


def is_safe_request(prefixes):
    for typed in prefixes:
        if asks_for_fruit(normalize_prefix(typed)):
            return "No fruit."
    return None


def is_safe_name(name):
    return name not in BANNED
