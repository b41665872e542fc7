"""A careful student with only the kit: their own long fruit list, plurals, -berry, names from names.txt.

The list is written from general knowledge, not from the kit's lists; NAMES are the data's
names that contain one of its words, found with a script over names.txt (a name spelled
exactly like a fruit stays banned, as the kit's rulings say)."""
FRUITS = """
    acai acerola ackee apple apricot aprium avocado banana barberry berry bilberry
    blackberry blackcurrant blueberry boysenberry breadfruit cantaloupe cherimoya cherry
    chokeberry citron clementine cloudberry coconut cowberry cranberry crowberry cupuacu
    currant custardapple damson date dewberry dragonfruit duku durian elderberry feijoa fig
    goji gooseberry grape grapefruit greengage guava honeydew huckleberry jabuticaba
    jackfruit jostaberry jujube kiwano kiwi kiwifruit kumquat langsat lemon lichee lime
    lingonberry loganberry longan longkong loquat lulo lychee mamey mandarin mango
    mangosteen marionberry medlar melon mirabelle mulberry muscadine nance nashi nectarine
    olive orange papaya passionfruit pawpaw peach pear persimmon physalis pineapple pitaya
    plantain plum plumcot pluot pomegranate pomelo prune quandong quince raisin rambai
    rambutan raspberry redcurrant salak santol sapodilla sapote satsuma serviceberry sloe
    soursop starfruit strawberry sultana tamarillo tamarind tangelo tangerine tayberry
    tomatillo ugli watermelon yuzu
""".split()
NAMES = """
    elimelech jacai jacaiden macai malacai melonie melony nashira olivea oliver olivet
    olivette pearce pearl pearla pearle pearlina pearly pearse pearson philemon quincee
    quincey yuzuha
""".split()  # names.txt names that contain one of FRUITS (grep, then by hand)


def plurals(word):
    if word.endswith("y") and word[-2:-1] not in "aeiou":
        return {word[:-1] + "ies"}
    if word.endswith(("s", "x", "z", "ch", "sh")):
        return {word + "es"}
    return {word + "s", word + "es"} if word.endswith("o") else {word + "s"}


BANNED = set(FRUITS).union(*map(plurals, FRUITS))
BLOCKED_PREFIX_PATTERNS: list[str] = []
BLOCKED_OUTPUT_PATTERNS: list[str] = []


def is_fruit(word):
    return word in BANNED or (word.endswith(("berry", "berries")) and word not in NAMES)


def asks_for_fruit(prefix):
    if is_fruit(prefix):
        return True
    fruity = any(prefix.startswith(w) for w in BANNED) or "berry" in prefix or "berries" in prefix
    return fruity and not any(n.startswith(prefix) for n in NAMES)


def is_safe_request(prefixes):
    for typed in prefixes:
        if asks_for_fruit(normalize_prefix(typed)):
            return "No fruit."
    return None


def is_safe_name(name):
    return not is_fruit(name)
