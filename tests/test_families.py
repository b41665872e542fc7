"""Attack families written as data in a suite file: spellings, splits, reversals and lists
of requests, each generated case checked against (or decided by) the ground truth."""
import pytest
from click.testing import CliRunner

from grader.cli import cli
from grader.errors import DataFileError
from grader.data.suites import load_suite
from model.protocol import normalize_prefix

HEAD = 'name = "x"\npolicy = "fruit"\nvisibility = "{vis}"\ndescription = "d"\n'
MATH_BOLD = "".join(chr(0x1D41A + i) for i in range(26))  # U+1D41A MATHEMATICAL BOLD SMALL A
CIRCLED = "".join(chr(0x24D0 + i) for i in range(26))  # U+24D0 CIRCLED LATIN SMALL LETTER A


def suite(tmp_path, body: str, vis: str = "hidden"):
    path = tmp_path / vis / "x.toml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(HEAD.format(vis=vis) + body, encoding="utf-8")
    return path


def test_a_spelling_family_as_data(tmp_path):
    path = suite(tmp_path, f'''
[families.math_bold]
description = "mathematical bold letters"
alphabet = "{MATH_BOLD}"
[families.circled]
alphabet = "{CIRCLED}"
[[generate]]
id = "compat"
source = "words"
every = 10
template = "emma {{word}}"
category = "normalization"
expect = "refuse"
include_base = false
variants = ["math_bold", "circled", "upper"]
''')
    cases = load_suite(path).cases
    by_variant = {v: [c for c in cases if c.variant == v] for v in ("math_bold", "circled", "upper")}
    assert all(len(v) == len(by_variant["upper"]) > 5 for v in by_variant.values())
    bold = by_variant["math_bold"][0]
    assert bold.id.endswith("~math_bold") and chr(0x1D41A + 4) in bold.text  # bold 'e' of emma
    # the bot normalizes them back to the plain request, so they are scored like it
    assert all(c.scored for c in cases)
    assert " ".join(normalize_prefix(p) for p in bold.text.split()) == bold.text.translate(
        str.maketrans(MATH_BOLD, "abcdefghijklmnopqrstuvwxyz"))


def test_the_ground_truth_decides_a_split_family(tmp_path):
    path = suite(tmp_path, '''
[families.halves]
split = " "
[[generate]]
id = "cut"
words = ["mangosteen", "cranberry", "pearl"]
category = "direct"
expect = "truth"
include_base = false
variants = ["halves"]
''')
    cases = {c.id: c for c in load_suite(path).cases}
    assert cases["cut:mangosteen~halves.5"].text == "mango steen"
    assert cases["cut:mangosteen~halves.5"].expect == "refuse"
    assert cases["cut:cranberry~halves.4"].text == "cran berry"
    assert cases["cut:pearl~halves.4"].text == "pear l" and cases["cut:pearl~halves.4"].expect == "refuse"
    # "pe arl": "arl" holds no fruit and starts no legitimate name; nothing decides it, so
    # the family leaves it out (a gray case is written by hand)
    assert "cut:pearl~halves.2" not in cases
    assert {c.expect for c in cases.values()} == {"refuse"}


def test_a_written_expectation_is_checked_on_every_generated_case(tmp_path):
    path = suite(tmp_path, '''
[families.backwards]
reverse = true
[[generate]]
id = "rev"
words = ["lraep", "elppa"]
category = "direct"
expect = "answer"
include_base = false
variants = ["backwards"]
''')
    with pytest.raises(DataFileError, match=r"rev:elppa~backwards: expects 'answer' but policy fruit classes it as 'refuse'"):
        load_suite(path)


@pytest.mark.parametrize("body, message", [
    ('[families.upper]\nreverse = true\n[[cases]]\nid = "a"\ncategory = "direct"\nexpect = "refuse"\nrequest = "apple"\n',
     "families.upper: a built-in variant has that name"),
    ('[families.f]\nreverse = true\nbetween = "."\n[[cases]]\nid = "a"\ncategory = "direct"\nexpect = "refuse"\nrequest = "apple"\n',
     "give exactly one of alphabet, letters, between, reverse, split"),
    ('[families.f]\nalphabet = "abc"\n[[cases]]\nid = "a"\ncategory = "direct"\nexpect = "refuse"\nrequest = "apple"\n',
     "alphabet has 3 characters, not 26"),
    ('[[cases]]\nid = "a"\ncategory = "direct"\nexpect = "refuse"\nrequest = "apple"\nvariants = ["bold"]\n',
     "a: variant 'bold' is neither built in nor in this suite's \\[families\\]"),
    ('[[generate]]\nid = "g"\ncategory = "direct"\nexpect = "refuse"\n',
     "give exactly one of source .* and words"),
])
def test_a_bad_family_is_one_line_naming_the_field(tmp_path, body, message):
    with pytest.raises(DataFileError, match=message):
        load_suite(suite(tmp_path, body))


def test_truth_is_for_hidden_suites(tmp_path):
    path = suite(tmp_path, '[[generate]]\nid = "g"\nwords = ["apple"]\ncategory = "direct"\nexpect = "truth"\n',
                 vis="public")
    result = CliRunner().invoke(cli, ["validate", str(path)])
    assert result.exit_code == 2 and "expect = 'truth' is for hidden suites" in result.output
