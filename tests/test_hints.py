"""Hints follow what the submission did; long requests are shown around the prefix at fault."""
import pytest

from grader.grading.cases import run_group
from grader.grading.hints import excerpt
from grader.data.policy import load_policy, policy_path
from grader.results import ProbeStats
from grader.data.cases import Case, Expect, Kind
from model.protocol import Bot, LocalHooks, normalize_prefix

FRUIT = load_policy(policy_path("fruit"))
BANNED = FRUIT.banned


def case(request: str, expect: str, kind: Kind = Kind.REQUEST, variant: str = "", samples: int = 1) -> Case:
    return Case(suite="t", id="c", category="direct", expect=Expect(expect), kind=kind,
                line=request.encode(), samples=samples, points=1.0, visibility="public", hint="",
                variant=variant)


def bot(model, request=lambda p: None, name=lambda n: True, prefix_patterns=()) -> Bot:
    return Bot(model, LocalHooks(request, name, list(prefix_patterns), []))


def run(b: Bot, c: Case):
    return run_group(b, [c], FRUIT, 1, {"name": ProbeStats(), "request": ProbeStats()})[0]


def raw_only(prefixes):  # refuses fruit only as typed: no normalization
    return "No." if any(p in BANNED for p in prefixes) else None


def test_a_submission_that_does_not_normalize_is_told_so(shipped_model):
    result = run(bot(shipped_model, raw_only), case("ＦＩＧ", "refuse", variant="fullwidth"))
    assert result.hint.startswith("you refuse 'fig' typed plainly but not 'ＦＩＧ': compare normalize_prefix(p)")


def test_a_submission_that_normalizes_but_misses_the_word_is_not_told_to_normalize(shipped_model):
    def normalizes(prefixes):
        return "No." if any(normalize_prefix(p) in {"apple"} for p in prefixes) else None
    result = run(bot(shipped_model, normalizes, lambda n: n not in BANNED), case("ＦＩＧ", "refuse", variant="fullwidth"))
    assert "normalize_prefix" not in result.hint
    assert result.hint == "'ＦＩＧ' is 'fig' once normalized, and your request filter lets even the plain 'fig' through"


def test_one_prefix_among_many_names_its_position(shipped_model):
    def alone_only(prefixes):
        return "No." if len(prefixes) == 1 and normalize_prefix(prefixes[0]) in BANNED else None
    result = run(bot(shipped_model, alone_only, lambda n: n not in BANNED), case("emma fig liam", "refuse"))
    assert result.hint.startswith("you refuse 'fig' alone but not as prefix 2 of 3")


def test_a_refused_long_request_is_shown_around_its_culprit(shipped_model):
    def no_li(prefixes):
        return "No." if "li" in prefixes else None
    result = run(bot(shipped_model, no_li), case("ma " * 99 + "li", "answer"))
    assert result.request.endswith("ma ma ma li") and result.request.startswith("... (96 prefixes)")
    assert result.hint.startswith("is_safe_request refused 'li' (prefix 100 of 100), which starts legitimate names")


def test_a_pattern_that_blocks_names_is_named(shipped_model):
    result = run(bot(shipped_model, prefix_patterns=["^pear"]), case("pearl", "answer"))
    assert result.hint.startswith("BLOCKED_PREFIX_PATTERNS[0] refused 'pearl', which starts legitimate names")
    assert result.hint.endswith("narrow or anchor that pattern")


def test_a_leak_from_an_innocent_prefix_names_the_output_filter(shipped_model):
    result = run(bot(shipped_model), case("oliv", "either", samples=60))
    assert result.leaked_samples and result.why.startswith("leaked a fruit 'olive")
    assert "from prefix 'oliv'" in result.hint and "is_safe_name (or BLOCKED_OUTPUT_PATTERNS)" in result.hint


def test_a_leak_of_what_was_asked_for_says_refuse_the_request(shipped_model):
    # the prefix is itself a fruit: rejecting the name only makes the loop draw another
    result = run(bot(shipped_model), case("apples", "refuse", samples=3))
    assert result.leaked_samples and result.why.startswith("leaked a fruit 'apples")
    assert result.hint == "'apples' is a plural, still a fruit: refuse it before anything is generated"


def test_a_crashing_hook_is_a_fault_that_earns_nothing(shipped_model):
    def is_safe_request(prefixes):
        raise ValueError("boom")
    result = run(bot(shipped_model, is_safe_request), case("apple", "refuse"))
    assert result.faulted == 1 and result.correct == 0 and not result.passed
    assert result.hint.startswith("is_safe_request raised ValueError; refusing to stay safe. A fault refuses")


@pytest.mark.parametrize("word, expected", [
    ("plums", "'plums' is a plural of a fruit: plurals are banned too"),
    ("olive", "'olive' is a name, but the policy rules it banned: it is spelled like a fruit"),
])
def test_probe_hints_say_why_the_word_is_banned(shipped_model, word, expected):
    assert run(bot(shipped_model), case(word, "refuse", Kind.NAME_PROBE)).hint == expected


def test_excerpt_keeps_short_requests_whole():
    assert excerpt("emma fig") == "emma fig"
    assert excerpt("a " * 200) == "a a a a ... (196 more prefixes)"
