"""The bot over its real line protocol: a subprocess, stdin in, stdout out."""
import io
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model.protocol import Bot, LocalHooks, normalize_prefix, one_line_reason, serve
from submissions import with_hooks, write_submission

ROOT = Path(__file__).resolve().parent.parent
STARTER = ROOT / "starter" / "bot.py"
REFERENCE = ROOT / "policies" / "fruit" / "reference_bot.py"


def talk(bot: Path, data: bytes, *args: str, timeout: float = 60) -> tuple[list[str], str]:
    proc = subprocess.run([sys.executable, str(bot), *args], input=data, capture_output=True,
                          timeout=timeout)
    assert proc.returncode == 0, proc.stderr.decode()
    return proc.stdout.decode("utf-8").split("\n")[:-1], proc.stderr.decode("utf-8", "replace")


def well_formed(line: str) -> bool:
    if line.startswith("OK: "):
        return all(n.isascii() and n.isalpha() and n.islower() for n in line[4:].split(", "))
    return line.startswith("REFUSE: ") and len(line) > len("REFUSE: ") and "\r" not in line


def test_readme_example_prints_five_well_formed_lines():
    lines, _ = talk(STARTER, b"j\nab\na b c\n\napple\n", "--seed", "1")
    assert len(lines) == 5 and all(map(well_formed, lines))
    assert lines[0].startswith("OK: j") and lines[1].startswith("OK: ab")
    names = lines[2][4:].split(", ")
    assert [n[0] for n in names] == ["a", "b", "c"]
    assert len(lines[3][4:].split(", ")) == 1  # a blank request asks for one name


def test_same_seed_same_transcript_byte_for_byte():
    data = b"j\nab\na b c\n\nma ma ma\n"
    assert talk(STARTER, data, "--seed", "7") == talk(STARTER, data, "--seed", "7")
    assert talk(STARTER, data, "--seed", "7")[0] != talk(STARTER, data, "--seed", "8")[0]


@pytest.mark.parametrize("typed, seen", [("ÁPPLE", "apple"), ("ａｐｐｌｅ", "apple"), ("ﬁg", "fig"),
                                         ("pe\u200bar", "pear"), ("Ma\u0301", "ma"),
                                         ("o\u00adl", "ol")])
def test_normalization_examples(typed, seen):
    assert normalize_prefix(typed) == seen


def test_normalized_prefixes_reach_the_model():
    lines, _ = talk(STARTER, "ÁPPLE ａｐｐｌｅ ﬁg pe\u200bar\n".encode(), "--seed", "1")
    names = lines[0][4:].split(", ")
    assert [n[: len(p)] for n, p in zip(names, ["apple", "apple", "fig", "pear"])] == \
        ["apple", "apple", "fig", "pear"]


INVALID = [
    (b"x1", "Prefix 1 ('x1') is not made of the letters a to z."),
    ("ma \u0430pple".encode(), "Prefix 2 ('\u0430pple') is not made of the letters a to z."),
    (b"a.b", "Prefix 1 ('a.b') is not made of the letters a to z."),
    (b"abcdefghijklmnop", "Prefix 1 is longer than 15 letters."),
    (b"a " * 101, "The request has 101 prefixes; at most 100 are served."),
    (b"a" * 5000, "The request is longer than 4096 bytes."),
    (b"\xff\xfe", "The request is not valid UTF-8."),
    ("\u200b".encode(), "Prefix 1 ('\\u200b') is not made of the letters a to z."),
]


@pytest.mark.parametrize("line, reason", INVALID)
def test_invalid_input_is_refused_and_the_bot_keeps_serving(line, reason):
    lines, _ = talk(STARTER, line + b"\nab\n")
    assert lines[0] == f"REFUSE: {reason}"
    assert lines[1].startswith("OK: ab") and len(lines) == 2


def test_hundred_prefixes_and_crlf_are_served():
    lines, _ = talk(STARTER, b"a " * 100 + b"\r\nb\r\n")
    assert len(lines[0][4:].split(", ")) == 100 and lines[1].startswith("OK: b")


HOSTILE_HOOKS = {
    "raises": (with_hooks(request_body="raise ValueError('boom')"),
               "REFUSE: is_safe_request raised ValueError; refusing to stay safe.", "ValueError: boom"),
    "returns junk": (with_hooks(name_body="return 'yes'"),
                     "REFUSE: is_safe_name returned str, expected bool; refusing to stay safe.", ""),
    "returns int": (with_hooks(request_body="return 0"),
                    "REFUSE: is_safe_request returned int, expected None or str; refusing to stay safe.", ""),
    "prints": (with_hooks(request_body="print('OK: apple')\nreturn 'no\\nnewlines  here'"),
               "REFUSE: no newlines here", "OK: apple"),
    "empty reason": (with_hooks(request_body="return '   '"),
                     "REFUSE: The request was refused by the safety policy.", ""),
    "exits": (with_hooks(name_body="raise SystemExit(3)"),
              "REFUSE: is_safe_name raised SystemExit; refusing to stay safe.", "SystemExit: 3"),
}


@pytest.mark.parametrize("which", HOSTILE_HOOKS)
def test_misbehaving_hooks_fail_closed(tmp_path, which):
    body, expected, in_stderr = HOSTILE_HOOKS[which]
    bot = write_submission(tmp_path, body)
    proc = subprocess.run([sys.executable, str(bot)], input=b"ma\nab\n", capture_output=True, timeout=60)
    lines = proc.stdout.decode().splitlines()
    assert proc.returncode == 0
    assert lines == [expected, expected]
    assert in_stderr in proc.stderr.decode()


def test_a_mutated_argument_changes_nothing(tmp_path):
    body = with_hooks(request_body="prefixes.clear()\nprefixes.append('zz')\nreturn None")
    lines, _ = talk(write_submission(tmp_path, body), b"ma pe\n", "--seed", "3")
    names = lines[0][4:].split(", ")
    assert names[0].startswith("ma") and names[1].startswith("pe")


def test_hooks_receive_raw_prefixes_and_full_names(tmp_path):
    body = with_hooks(request_body="import sys\nprint('REQ', prefixes, file=sys.stderr)\nreturn None",
                      name_body="import sys\nprint('NAME', name, file=sys.stderr)\nreturn True")
    lines, err = talk(write_submission(tmp_path, body), "ＭＡ ab\n".encode())
    assert "REQ ['ＭＡ', 'ab']" in err
    assert f"NAME {lines[0][4:].split(', ')[0]}" in err


def test_ten_rejections_refuse_the_request(tmp_path):
    body = with_hooks(prelude="CALLS = []", name_body="CALLS.append(name)\nprint(len(CALLS))\nreturn False")
    lines, err = talk(write_submission(tmp_path, body), b"ma\n")
    assert lines == ["REFUSE: No safe name starting with 'ma' was found in 10 attempts."]
    assert err.split() == [str(i) for i in range(1, 11)]


def test_invalid_patterns_refuse_every_request(tmp_path):
    body = with_hooks(prefix_patterns="['(unclosed']")
    lines, err = talk(write_submission(tmp_path, body), b"ma\n")
    assert lines[0].startswith("REFUSE: BLOCKED_PREFIX_PATTERNS[0] is not a valid regular expression")
    assert "every request will be refused" in err


def test_patterns_block_prefixes_and_names(tmp_path):
    body = with_hooks(prefix_patterns="['^apple']", output_patterns="['^ma']")
    lines, _ = talk(write_submission(tmp_path, body), "ÁPPLEs\nma\n".encode())
    assert lines == ["REFUSE: The prefix 'apples' is blocked.",
                     "REFUSE: No safe name starting with 'ma' was found in 10 attempts."]


def test_reference_solution_blocks_fruit_and_serves_names():
    requests = ["apple", "APPLE", "pear", "ﬁg", "grapes", "a b plum", "pearl", "oliver", "olivia", "ma"]
    lines, _ = talk(REFERENCE, "\n".join(requests).encode() + b"\n", "--seed", "2")
    assert all(line.startswith("REFUSE: ") for line in lines[:6])
    assert all(line.startswith("OK: ") for line in lines[6:])


def test_reference_solution_never_emits_fruit():
    from grader.data.policy import load_policy, policy_path
    policy = load_policy(policy_path("fruit"))
    prefixes = ["ol", "cher", "lem", "clem", "quin", "ber", "ac", "pe", "ma", "da", "li", "fi", ""]
    data = "".join(" ".join([p] * 25) + "\n" for p in prefixes * 8).encode()
    lines, _ = talk(REFERENCE, data, "--seed", "5", timeout=120)
    names = [n for line in lines if line.startswith("OK: ") for n in line[4:].split(", ")]
    assert len(names) >= 2000
    assert not [n for n in names if policy.is_banned(n)]


LINE = st.one_of(
    st.text(alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\n"),
            max_size=60).map(lambda s: s.encode("utf-8")),
    st.binary(max_size=60).map(lambda b: b.replace(b"\n", b" ")),
    st.lists(st.sampled_from(["ma", "ÁPPLE", "ﬁg", "x1", "pe\u200bar", ""]), max_size=120)
    .map(lambda ws: " ".join(ws).encode("utf-8")),
)


@settings(max_examples=100, deadline=None)
@given(st.lists(LINE, max_size=8))
def test_any_lines_get_one_well_formed_line_each(shipped_model, lines):
    bot = Bot(shipped_model, LocalHooks(lambda p: None, lambda n: True, [], []))
    out = io.StringIO()
    serve(bot, 0, io.BytesIO(b"".join(line + b"\n" for line in lines)), out)
    answers = out.getvalue().split("\n")
    assert answers[-1] == "" and len(answers) - 1 == len(lines)
    assert all(map(well_formed, answers[:-1]))


def test_reasons_are_one_line():
    assert one_line_reason("a\nb\r\n\tc\x00d") == "a b c d"
    assert len(one_line_reason("x" * 1000)) == 200


class TimesOut:
    """A compiled pattern whose search runs out of time (regex's timeout= raises this)."""
    def search(self, text, timeout):
        raise TimeoutError


def test_an_output_pattern_that_times_out_names_no_drawn_name():
    """The fault's refusal is printed to the user: a prefix may be quoted (the user typed it),
    a name the model drew may not (it may be the very fruit the pattern was meant to catch)."""
    from model.filters import HookFault
    hooks = LocalHooks(lambda prefixes: None, lambda name: True, [], [])
    hooks.prefix_regexes, hooks.output_regexes = [TimesOut()], [TimesOut()]
    with pytest.raises(HookFault, match=r"BLOCKED_PREFIX_PATTERNS\[0\] took too long on 'ma'"):
        hooks.check_request(["ma"])
    with pytest.raises(HookFault) as fault:
        hooks.check_name("mango")
    assert "mango" not in str(fault.value) and "BLOCKED_OUTPUT_PATTERNS[0] took too long" in str(fault.value)
