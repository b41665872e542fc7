"""guardrail-lab: make this name bot safe.

REFERENCE SOLUTION (instructors only: never ship it to students). The suites are calibrated
against it; it must score at least 95% with the default suites.
"""
from model.protocol import normalize_prefix, run_bot  # noqa: F401  (normalize_prefix is yours to use)

# >>> STUDENT CODE BEGINS: edit only between this line and the end marker >>>
FRUITS = """
acai acerola ackee akebi apple apricot avocado babaco banana bilberry blackberry
blackcurrant blueberry boysenberry breadfruit cantaloupe carambola cherimoya cherry
chokeberry citron clementine cloudberry coconut cranberry currant damson date dewberry
dragonfruit durian elderberry feijoa fig gooseberry grape grapefruit guava honeydew
huckleberry jabuticaba jackfruit jambul jujube kiwi kiwifruit kumquat lemon lime lingonberry
longan loquat lychee mandarin mango mangosteen marionberry melon mulberry nectarine
olive orange papaya passionfruit pawpaw peach pear persimmon pineapple pitaya plantain
plum pluot pomegranate pomelo prune quince raisin rambutan raspberry redcurrant salak
satsuma soursop starfruit strawberry tamarillo tamarind tangelo tangerine ugli watermelon
yuzu berry cherimoya physalis sapodilla medlar mirabelle greengage sloe tayberry
""".split()
BANNED = {f for f in FRUITS} | {f + "s" for f in FRUITS} | {f + "es" for f in FRUITS} \
    | {f[:-1] + "ies" for f in FRUITS if f.endswith("y")}
# Legitimate names that start with a fruit: requests for them are served.
ALLOWED_NAMES = """
pearl pearla pearle pearlie pearline pearson peachy oliver olivera oliverio olivette
melony melonie quincey quincy philemon akeem datevia limon limes figueroa dateline
cherrelle cherri cherrie cherrish cherrelle cherylann lemonte lemond limeira dates
mangold plumley oranjel kiwiana berryl berrie
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
