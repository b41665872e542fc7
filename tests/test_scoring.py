"""The scoring rule (grader/grading/scoring.py) and what every writer makes of it."""
import dataclasses
import itertools
from dataclasses import replace
import json
import math
import os
import random
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from grader.console import fit
from grader.reports.writers import WRITERS, render, render_gradescope, render_junit, render_text
from grader.results import CaseResult
from grader.grading.runner import grade
from grader.grading.scoring import category_score, total_score
from grader.errors import DataFileError
from grader.data.cases import Expect, Kind
from grader.data.rubric import load_rubric, rubric_for, unbalanced
from grader.data.suites import load_suites, suite_files
from platforms import check_results_json, shown_before_the_due_date
from submissions import splice, with_hooks, write_submission

ROOT = Path(__file__).resolve().parent.parent
PUBLIC = ROOT / "policies" / "fruit" / "public"
HIDDEN = ROOT / "policies" / "fruit" / "hidden"


def case(expect: str, correct: int = 1, leaked: int = 0, faulted: int = 0, samples: int = 1,
         scored: bool = True, n: int = 0) -> CaseResult:
    return CaseResult(key=f"s/{expect}{n}", suite="s", case_id=f"{expect}{n}", category="c",
                      kind=Kind.REQUEST, expect=Expect(expect), visibility="public", request="x",
                      points=1.0, samples=samples, correct=correct, leaked_samples=leaked,
                      faulted=faulted, scored=scored, response="", why="", hint="")


def share(cases: list[CaseResult]) -> float:
    return category_score("c", 1.0, cases).share


SAMPLE_OUTCOMES = {"right": dict(correct=1), "wrong": dict(correct=0), "fault": dict(correct=0, faulted=1),
                   "leak": dict(correct=0, leaked=1)}


@pytest.mark.parametrize("expect", ["refuse", "answer", "either"])
@pytest.mark.parametrize("others", list(itertools.product([0, 1], repeat=3)))
def test_a_leak_costs_more_than_any_decision_on_the_same_case(expect, others):
    """Whatever the other cases did, the order of one sample's outcomes is leak < wrong = fault <= right."""
    background = [case(e, correct=ok, n=i) for i, (e, ok) in enumerate(zip(["refuse", "answer", "either"], others))]
    got = {name: share(background + [case(expect, n=9, **outcome)]) for name, outcome in SAMPLE_OUTCOMES.items()}
    assert got["leak"] < got["wrong"] == got["fault"] <= got["right"]


def test_refusing_or_answering_everything_earns_nothing():
    refuse_all = [case("refuse"), case("answer", correct=0)]
    answer_all = [case("refuse", correct=0), case("answer")]
    assert share(refuse_all) == share(answer_all) == 0
    assert share([case("refuse"), case("answer")]) == 1


def test_leaks_can_make_a_category_negative_never_the_total():
    leaky = category_score("c", 10.0, [case("refuse", correct=0, leaked=1), case("answer")])
    assert leaky.score < 0
    assert total_score([leaky]) == 0


def test_a_leaked_request_costs_leak_cost_decision_units():
    """U is the most one refuse or answer decision is worth in the category: here 1 of 2 refuse cases."""
    base = [case("refuse", n=1), case("refuse", n=2), case("answer", n=3), case("answer", n=4)]
    leaky = [case("refuse", correct=0, leaked=1, n=1)] + base[1:]
    wrong = [case("refuse", correct=0, n=1)] + base[1:]
    for cost in (1.0, 2.0, 5.0):
        assert category_score("c", 10.0, wrong, cost).score == pytest.approx(5.0)  # U = 10 * 1/2
        assert category_score("c", 10.0, leaky, cost).score == pytest.approx(5.0 - cost * 5.0)


@pytest.mark.parametrize("seed", range(40))
def test_k_leaks_score_below_fewer_than_k_other_decisions(seed):
    """The ordering docs/scoring.md states: of two submissions, one leaking on k requests of a
    category, the other never leaking and differing only in decisions on fewer than
    leak_cost * k cases of it, the leaky one scores lower, whatever the cases weigh."""
    rng = random.Random(seed)
    cost = rng.choice([1.0, 1.5, 2.0, 4.0])
    cases = [dict(expect=rng.choice(["refuse", "answer", "either"]), points=rng.choice([1.0, 2.0, 3.0]),
                  correct=rng.random() < 0.8) for _ in range(rng.randint(6, 30))]
    adversarial = [i for i, c in enumerate(cases) if c["expect"] == "refuse"]
    if not adversarial or not any(c["expect"] == "answer" for c in cases):
        pytest.skip("this draw has no adversarial or no legitimate case")
    leaks = rng.sample(adversarial, rng.randint(1, len(adversarial)))
    others = [i for i in range(len(cases)) if i not in leaks and cases[i]["expect"] != "either"]
    flips = rng.sample(others, min(len(others), math.ceil(cost * len(leaks)) - 1))

    def result(i, leak=False, flip=False):
        c = cases[i]
        ok = c["correct"] != flip and not leak
        return CaseResult(key=f"s/{i}", suite="s", case_id=str(i), category="c", kind=Kind.REQUEST,
                          expect=Expect(c["expect"]), visibility="public", request="x", points=c["points"],
                          samples=1, correct=int(ok), leaked_samples=int(leak), faulted=0, scored=True,
                          response="", why="", hint="")

    leaky = [result(i, leak=i in leaks) for i in range(len(cases))]
    clean = [result(i, flip=i in flips) for i in range(len(cases))]
    assert category_score("c", 20.0, leaky, cost).score < category_score("c", 20.0, clean, cost).score


def test_the_rubric_states_the_exchange_rate_and_refuses_a_leak_cheaper_than_a_decision(tmp_path):
    assert rubric_for(load_suites(suite_files("fruit", True))[0].policy).leak_cost >= 1
    bad = tmp_path / "rubric.toml"
    bad.write_text("total = 10\nleak_cost = 0.5\n[weights]\ndirect = 10\n", encoding="utf-8")
    with pytest.raises(DataFileError, match=r"rubric.toml: leak_cost: Input should be greater than or equal to 1"):
        load_rubric(bad)


def test_cases_the_loop_refuses_are_left_out():
    base = [case("refuse", correct=0), case("answer")]
    assert share(base + [case("refuse", scored=False, n=5)]) == share(base) == 0
    assert category_score("c", 1.0, base + [case("refuse", scored=False, n=5)]).unscored == 1


def test_samples_spread_a_case_and_each_leak_lowers_the_share():
    shares = [share([case("refuse"), case("answer", samples=10, correct=10 - k, leaked=k)]) for k in range(4)]
    assert shares == sorted(shares, reverse=True) and len(set(shares)) == 4


@pytest.mark.parametrize("public_only", [True, False])
def test_the_default_suites_hold_both_kinds_in_every_weighted_category(public_only):
    suites = load_suites(suite_files("fruit", public_only))  # raises when one does not
    cases = [c for s in suites for c in s.cases]
    weights = rubric_for(suites[0].policy).weights
    assert unbalanced(cases, weights) is None
    assert {c.category for c in cases if c.scored} == {name for name, w in weights.items() if w}


def test_a_category_of_one_kind_is_named():
    cases = [c for s in load_suites([PUBLIC / "over-refusal.toml"]) for c in s.cases if c.expect == Expect.ANSWER]
    assert unbalanced(cases, {"over_refusal": 20}) == (
        "category 'over_refusal' (weight 20) has no scored case that expects 'refuse'; add one, "
        "or give it weight 0")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Substring matching: it refuses public and hidden names, so both kinds of detail exist."""
    folder = tmp_path_factory.mktemp("writers")
    body = with_hooks(prelude="FRUIT = ['pear', 'olive', 'lemon', 'apple', 'melon']",
                      request_body="return 'No.' if any(f in p.lower() for p in prefixes for f in FRUIT) else None",
                      name_body="return not any(f in name for f in FRUIT)")
    suites = [PUBLIC / "over-refusal.toml", PUBLIC / "lookalike.toml", HIDDEN / "over-refusal-hidden.toml"]
    return grade(write_submission(folder, body), suites)


def test_gradescope_shows_students_only_public_cases_until_the_hidden_ones_show(graded):
    doc = json.loads(render_gradescope(graded, "after_due_date"))
    check_results_json(doc)
    assert doc["score"] == graded.score
    pointed = [t for t in doc["tests"] if "max_score" in t]
    assert [t["name"] for t in pointed] == [c.name for c in graded.categories]
    assert {t["name"]: t["visibility"] for t in pointed} == {"lookalike": "visible",  # public cases only
                                                             "over_refusal": "after_due_date"}
    before = shown_before_the_due_date(doc)
    assert "over-refusal/pearl" in before and "over-refusal-hidden/" not in before
    public = [c for c in graded.cases if c.category == "over_refusal" and c.visibility == "public" and c.scored]
    everything = [c for c in graded.cases if c.category == "over_refusal" and c.scored]
    shown = next(t for t in doc["tests"] if t["name"].startswith("over_refusal: public cases"))
    assert shown["visibility"] == "visible" and "score" not in shown
    assert shown["output"].startswith(f"{sum(c.passed for c in public)}/{len(public)} scored cases passed")
    assert f"/{len(everything)} scored cases passed" not in before  # no count that includes hidden cases
    assert "over-refusal-hidden/" in next(t for t in pointed if t["name"] == "over_refusal")["output"]
    for visibility in ("visible", "hidden", "after_published"):
        again = json.loads(render_gradescope(graded, visibility))
        check_results_json(again)
        assert {t["visibility"] for t in again["tests"]} == {"visible"} | {visibility}


def test_gradescope_test_scores_stay_within_their_range_and_add_up_to_the_grade(graded):
    """Categories below 0 (leaks) show 0; the grade, floored at 0, is shared by the others."""
    cats = [replace(graded.categories[1], name=name, weight=10.0, score=score)
            for name, score in (("a", 8.0), ("b", -5.467), ("c", 4.0), ("d", -5.0))]
    for scores, total in (((8.0, -5.467, 4.0, -5.0), 1.533), ((8.0, -20.0, 4.0, -5.0), 0.0)):
        cats = [replace(c, score=s) for c, s in zip(cats, scores)]
        result = replace(graded, categories=cats, score=total, cases=[], max_score=40.0)
        doc = json.loads(render_gradescope(result, "after_due_date"))
        check_results_json(doc)
        points = {t["name"]: t["score"] for t in doc["tests"]}
        assert points["b"] == points["d"] == 0
        assert points["a"] == pytest.approx(total * 8 / 12, abs=1e-4)  # in proportion to 8 and 4
        assert points["c"] == pytest.approx(total * 4 / 12, abs=1e-4)


def test_junit_counts_are_read_off_its_test_cases(graded, tmp_path):
    broken = tmp_path / "bot.py"
    broken.write_text(splice(with_hooks()).replace("run_bot(is_safe_request,", "run_bot(lambda p: None,"))
    for result in (graded, grade(broken, [PUBLIC / "smoke.toml"])):
        root = ET.fromstring(render_junit(result))
        for element in [root, *root]:
            cases = list(element.iter("testcase"))
            assert element.get("tests") == str(len(cases))
            for tag, attribute in (("failure", "failures"), ("error", "errors"), ("skipped", "skipped")):
                count = str(sum(c.find(tag) is not None for c in cases))
                assert element.get(attribute) == (None if element is root and tag == "skipped" else count)
        assert int(root.get("tests")) >= 1 and int(root.get("failures")) >= 1


def test_junit_is_read_by_junitparser_and_jenkins_schema(graded):
    """junitparser's counts match the cases; Jenkins' xunit-plugin schema (junit-10.xsd) holds
    no `skipped` on <testsuites>, so the report carries none there."""
    import junitparser  # the test extra
    text = render_junit(graded)
    xml = junitparser.JUnitXml.fromstring(text)
    cases = [case for suite in xml for case in suite]
    assert xml.tests == len(cases) == len(graded.cases)
    assert xml.failures == sum(c.scored and not c.passed for c in graded.cases)
    for suite in xml:
        mine = list(suite)
        assert suite.tests == len(mine)
        assert suite.skipped == sum(any(isinstance(r, junitparser.Skipped) for r in c.result) for c in mine)
        assert suite.failures == sum(any(isinstance(r, junitparser.Failure) for r in c.result) for c in mine)
    assert set(ET.fromstring(text).attrib) <= {"name", "tests", "failures", "errors"}  # junit-10.xsd


def test_junit_carries_no_measured_time(graded):
    """A hook that spins on hidden-only words stretched <testsuites time=> from 1-2 s to
    11-15 s (red team 38): no element of the report carries a time."""
    root = ET.fromstring(render_junit(replace(graded, seconds=12.345)))
    assert not [element.tag for element in root.iter() if "time" in element.attrib]
    assert "12.345" not in render_junit(replace(graded, seconds=12.345))


def test_reports_say_what_is_not_scored(graded):
    text = render_text(graded)
    unscored = sum(not c.scored for c in graded.cases)
    per_category = ", ".join(f"{cat.name} {n}" for cat in graded.categories
                             if (n := sum(not c.scored for c in graded.cases if c.category == cat.name)))
    assert unscored and f"* {unscored} case(s) not scored ({per_category}): the frozen loop refuses" \
        in " ".join(text.split())
    for cat in graded.categories:  # each category with unscored cases is marked, none reads 0/0
        row = next(line for line in text.splitlines() if line.startswith(f"  {cat.name} "))
        assert row.split()[2].endswith("*") == bool(cat.unscored) and " 0/0" not in row
    assert set(WRITERS) >= {"text", "json", "gradescope", "junit"}
    assert json.loads(render(graded, "json"))["cases"][0]["kind"] == "request"



def test_every_format_counts_scored_and_unscored_cases_alike(graded):
    """Text, JSON, JUnit, HTML, Gradescope and Classroom count each category's cases as its
    cases do: scored ones passed of the scored, the frozen loop's own refusals apart."""
    from grader.reports.classroom import render_classroom
    from grader.reports.writers import render_html
    text = render_text(graded)
    doc = json.loads(render(graded, "json"))
    junit = ET.fromstring(render_junit(graded))
    html = render_html(graded)
    gradescope = {t["name"]: t["output"] for t in json.loads(render_gradescope(graded, "visible"))["tests"]}
    classroom = [t["name"] for t in json.loads(render_classroom(graded))["categories"]["tests"]]
    assert any(c.unscored for c in graded.categories) and any(c.counts.scored for c in graded.categories)
    for cat, raw in zip(graded.categories, doc["categories"]):
        mine = [c for c in graded.cases if c.category == cat.name]
        scored = [c for c in mine if c.scored]
        counts = cat.counts
        assert (counts.passed, counts.scored, counts.unscored) == (
            sum(c.passed for c in scored), len(scored), len(mine) - len(scored))
        row = next(line for line in text.splitlines() if line.startswith(f"  {cat.name} "))
        assert row.split()[2] == (f"{counts.passed}/{counts.scored}" if scored else "none") + "*" * bool(counts.unscored)
        assert (f"{cat.name} {counts.unscored}" in " ".join(text.split())) == bool(counts.unscored)
        assert (raw["passed"], raw["scored"], raw["unscored"]) == (counts.passed, counts.scored, counts.unscored)
        cases = [c for c in junit.iter("testcase") if c.get("classname").endswith(f".{cat.name}")]
        assert len(cases) == len(mine)
        assert sum(c.find("skipped") is not None for c in cases) == counts.unscored
        assert sum(c.find("failure") is not None for c in cases) == counts.scored - counts.passed
        assert f"<td>{counts.describe()}</td>" in html
        assert f"\n{counts.describe()};" in "\n" + gradescope[cat.name]
        assert any(name.startswith(f"{cat.name}: ") and name.endswith(counts.describe()) for name in classroom)


def test_a_negative_category_is_explained(graded):
    calm = dataclasses.replace(graded, categories=[dataclasses.replace(c, score=abs(c.score))
                                                   for c in graded.categories])  # it leaks: make it calm
    assert "a negative score" not in render_text(calm)
    leaky = dataclasses.replace(graded, categories=[dataclasses.replace(graded.categories[0], score=-3.8),
                                                    *graded.categories[1:]])
    text = " ".join(render_text(leaky).split())
    assert "a negative score: leaks outweigh the right decisions" in text and "never goes below 0" in text



def test_text_lines_fit_80_terminal_columns(graded):
    """Fullwidth letters take two columns: counted by their code points, not by the kit."""
    def width(line):
        return sum(2 if "\uff01" <= ch <= "\uff60" else 1 for ch in line)
    case = dataclasses.replace(graded.cases[0], correct=0, visibility="public", request="ｂａｎａｎａ " * 6 + "ｂａｎａｎａ",
                               why="answered a request that must be refused", hint="refuse 'ｂａｎａｎａ'")
    text = render_text(dataclasses.replace(graded, cases=[case]))
    assert "ｂａｎａｎａ" in text and max(map(width, text.splitlines())) <= 80
    assert [width(line) for line in fit(["x" * 30 + " " + "ｂ" * 60])] == [30, 80, 40]
    label = fit(["       hint:     " + "word " * 30])  # the label's alignment survives, wrapped under its value
    assert label[0].startswith("       hint:     word") and all(line.startswith(" " * 17 + "word") for line in label[1:])


SET_ORDER = with_hooks(
    prelude="FRUIT = {'apple', 'pear', 'plum', 'fig', 'lemon', 'olive', 'cherry', 'melon'}",
    request_body="""
        for fruit in FRUIT:  # the first fruit in hash order names the reason
            if any(fruit in normalize_prefix(p) for p in prefixes):
                return f"No {fruit} (the first of {', '.join(FRUIT)})."
        return None""",
    name_body="return name not in FRUIT")


def test_same_seed_same_json_from_two_processes_whatever_their_hash_order(tmp_path):
    bot = write_submission(tmp_path, SET_ORDER)
    docs = []
    for hash_seed in ("1", "2"):
        out = tmp_path / f"r{hash_seed}.json"
        proc = subprocess.run([sys.executable, "-m", "grader", "run", str(bot), "--suite", "smoke",
                               "--suite", "direct", "--seed", "7", "--format", "json", "--out", str(out)],
                              cwd=ROOT, env={**os.environ, "PYTHONHASHSEED": hash_seed},
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
        doc = json.loads(out.read_text())
        assert doc["status"] == "graded", doc["integrity_findings"]
        docs.append({**doc, "seconds": 0})
    assert docs[0] == docs[1]
