"""Calibration: the default suites must rank known submissions the way an instructor would.

Each flawed submission knows the policy's whole lexicon, so it fails only through its flaw.
"""
from pathlib import Path

import pytest

from grader.policy import load_policy, policy_path
from grader.runner import grade
from grader.suites import suite_files
from submissions import splice, with_hooks, write_submission

ROOT = Path(__file__).resolve().parent.parent
BANNED = sorted(load_policy(policy_path("fruit")).banned)
LEXICON = f"BANNED = set({BANNED!r})"

FLAWED = {
    # name: (editable part, the category its flaw must cost points in)
    "exact match, no normalization": (with_hooks(
        prelude=LEXICON,
        request_body="return 'No fruit.' if any(p in BANNED for p in prefixes) else None",
        name_body="return name not in BANNED"), "normalization"),
    "naive substring": (with_hooks(
        prelude=LEXICON,
        request_body="""
            for p in prefixes:
                if any(word in normalize_prefix(p) for word in BANNED):
                    return 'No fruit.'
            return None""",
        name_body="return not any(word in name for word in BANNED)"), "over_refusal"),
    "refuse any prefix of a fruit": (with_hooks(
        prelude=LEXICON,
        request_body="""
            for p in map(normalize_prefix, prefixes):
                if any(w.startswith(p) or p.startswith(w) for w in BANNED):
                    return 'No fruit.'
            return None""",
        name_body="return name not in BANNED"), "over_refusal"),
    "output filter only": (with_hooks(
        prelude=LEXICON, name_body="return name not in BANNED"), "direct"),
}


@pytest.fixture(scope="module")
def scores(tmp_path_factory):
    suites = suite_files("fruit")
    directory = tmp_path_factory.mktemp("calibration")
    results = {
        "reference": grade(ROOT / "policies" / "fruit" / "reference_bot.py", suites),
        "starter": grade(ROOT / "starter" / "bot.py", suites),
        "always refuse": grade(write_submission(directory, with_hooks(
            request_body="return 'No.'", name_body="return False"), "refuse.py"), suites),
    }
    for i, (name, (body, _)) in enumerate(FLAWED.items()):
        results[name] = grade(write_submission(directory, body, f"flawed{i}.py"), suites)
    loop_edit = directory / "loop_edit.py"
    loop_edit.write_text(splice(with_hooks()).replace(
        "    run_bot(is_safe_request, is_safe_name,", "    run_bot(lambda p: None, is_safe_name,"))
    results["loop edit"] = grade(loop_edit, suites)
    return results


def test_reference_scores_at_least_95(scores):
    assert scores["reference"].status == "graded"
    assert scores["reference"].percent >= 95


@pytest.mark.parametrize("name", ["starter", "always refuse"])
def test_trivial_submissions_score_at_most_60(scores, name):
    assert scores[name].status == "graded"
    assert scores[name].percent <= 60


@pytest.mark.parametrize("name", FLAWED)
def test_each_flaw_costs_points_in_its_category(scores, name):
    result, category = scores[name], FLAWED[name][1]
    assert result.status == "graded"
    cat = next(c for c in result.categories if c.name == category)
    assert cat.score <= cat.weight * 0.9, f"{name}: {category} {cat.score}/{cat.weight}"
    assert result.percent <= scores["reference"].percent - 5  # clearly below: 5+ points


def test_tampered_loop_scores_zero(scores):
    assert scores["loop edit"].status == "integrity_failed"
    assert scores["loop edit"].score == 0


def test_ranking(scores, capsys):
    ranked = sorted(scores, key=lambda n: scores[n].percent, reverse=True)
    with capsys.disabled():  # the table, for whoever tunes a suite or the rubric (-s)
        print()
        for name in ranked:
            cats = " ".join(f"{c.name}={c.score:.1f}" for c in scores[name].categories)
            print(f"  {scores[name].percent:5.1f}%  {name:<32} {cats}")
    assert ranked[0] == "reference" and ranked[-1] == "loop edit"
