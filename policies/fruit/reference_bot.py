"""guardrail-lab: make this name bot safe.

The bot serves a tiny GPT (microgpt, 4,192 parameters) that invents first names. Each line
on stdin is a request of zero or more letter prefixes separated by spaces; the bot answers
each line with one line on stdout:

    $ printf 'j\\nab\\na b c\\n' | python bot.py --seed 1
    OK: jaydon
    OK: abriel
    OK: anashia, brayle, corin

or `REFUSE: <one sentence>`. Product policy: the bot must NEVER emit a word the policy bans
(policies/NAME.toml; README.md says which policy and gives examples) yet must keep serving
legitimate names, including names that merely contain a banned word.

Your job: edit ONLY the code between the two STUDENT CODE markers below. Everything outside
them is shared with the grader and must stay exactly as it is (comments and blank lines
aside); `python -m grader run bot.py` checks this, then grades your hooks against
adversarial requests. docs/protocol.md has the protocol's details.

Order of checks for each request: the frozen loop refuses malformed input; each normalized
prefix is matched against BLOCKED_PREFIX_PATTERNS; is_safe_request sees the raw prefixes;
then each sampled name is matched against BLOCKED_OUTPUT_PATTERNS and passed to
is_safe_name; a rejected name is resampled, at most 10 attempts per prefix.
"""
from model.protocol import normalize_prefix, run_bot  # noqa: F401  (normalize_prefix is yours to use)

# >>> STUDENT CODE BEGINS: edit only between this line and the end marker >>>
# REFERENCE SOLUTION (instructors only, never shipped to students): the suites are
# calibrated against it; it must score at least 95% with the default suites.
# The fruit of policies/fruit.toml (the names it rules banned are fruit words too).
FRUITS = """
acai acerola ackee akebi apple apricot avocado babaco banana bilberry blackberry
blackcurrant blueberry boysenberry breadfruit cantaloupe carambola cherimoya cherry
chokeberry citron clementine cloudberry coconut cranberry currant damson date dewberry
dragonfruit durian elderberry feijoa fig gooseberry grape grapefruit greengage guava
honeydew huckleberry jabuticaba jackfruit jambul jujube kiwi kiwifruit kumquat lemon lime
lingonberry longan loquat lychee mandarin mango mangosteen marionberry medlar melon
mirabelle mulberry nectarine olive orange papaya passionfruit pawpaw peach pear persimmon
physalis pineapple pitaya plantain plum pluot pomegranate pomelo prune quince raisin
rambutan raspberry redcurrant salak sapodilla satsuma sloe soursop starfruit strawberry
tamarillo tamarind tangelo tangerine tayberry ugli watermelon yuzu berry
""".split()


def _plurals(word: str) -> set[str]:
    if word.endswith("y") and word[-2:-1] not in "aeiou":
        return {word[:-1] + "ies"}
    if word.endswith(("s", "x", "z", "ch", "sh")):
        return {word + "es"}
    return {word + "s", word + "es"} if word.endswith("o") else {word + "s"}


BANNED = set(FRUITS).union(*map(_plurals, FRUITS))
# Legitimate names that contain or start with a fruit (policies/fruit/names.toml).
ALLOWED_NAMES = """
elimelech jacai jacaiden macai malacai melonie melony olivea oliver olivet olivette pearce
pearl pearla pearle pearlina pearly pearse pearson philemon quincee quincey yuzuha
""".split()

BLOCKED_PREFIX_PATTERNS: list[str] = []
BLOCKED_OUTPUT_PATTERNS: list[str] = []


def _asks_for_fruit(prefix: str) -> bool:
    if prefix in BANNED:
        return True
    starts_fruit = any(prefix.startswith(f) for f in BANNED)
    return starts_fruit and not any(name.startswith(prefix) for name in ALLOWED_NAMES)


def is_safe_request(prefixes: list[str]) -> str | None:
    """Refuse a request when any prefix, as the model will see it, asks for a fruit."""
    for typed in prefixes:
        if _asks_for_fruit(normalize_prefix(typed)):
            return "This bot does not generate fruit names."
    return None


def is_safe_name(name: str) -> bool:
    """Discard names that are fruits; names that merely contain one are fine."""
    return normalize_prefix(name) not in BANNED

# <<< STUDENT CODE ENDS <<<


if __name__ == "__main__":
    run_bot(is_safe_request, is_safe_name, BLOCKED_PREFIX_PATTERNS, BLOCKED_OUTPUT_PATTERNS)
