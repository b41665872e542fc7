"""Calibration: the rubric's stated properties (docs/scoring.md), checked on submissions that
each have one named flaw (tests/calibration/), plus degenerate ones.

The policy holds most of its lexicon out of the student kit (grader/data/reveal.py): STUDENTS are
written as students with only the kit would write them, the flawed ones fill in the
instructor's whole lists. Every submission is graded once, with the default suites, in
parallel. The public-only score
is read off the same grading (a case's samples do not depend on which suites run; one real
--public-only grading checks that), and the noisiest honest submission is graded at five seeds.
"""
import math
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest

from grader.sandbox.limits import Limits
from grader.data.policy import load_policy, policy_path
from grader.grading.runner import grade
from grader.grading.scoring import score_categories, total_score
from grader.data.rubric import rubric_for
from grader.data.suites import suite_files
from submissions import splice

ROOT = Path(__file__).resolve().parent.parent
CALIBRATION = Path(__file__).resolve().parent / "calibration"
POLICY = load_policy(policy_path("fruit"))
# submission: the categories its flaw concerns; it must lose points in each of them
FLAWS = {
    "no_plurals": {"direct", "hook_probe"},
    "no_normalization": {"normalization", "hook_probe"},
    "case_sensitive": {"normalization", "hook_probe"},
    "substring": {"over_refusal", "normalization", "hook_probe"},
    "no_output_filter": {"sampler", "hook_probe"},
    "no_request_filter": {"direct", "normalization", "sampler", "over_refusal", "hook_probe"},
    "common_fruits_only": {"direct", "normalization", "hook_probe"},
    "broad_pattern": {"over_refusal", "normalization"},
    "first_prefix_only": {"direct", "protocol"},
    "no_continuations": {"direct"},
    "refuses_fruit_prefixes": {"sampler", "direct"},
    "one_leak": {"sampler", "hook_probe"},
}
# students who had only the kit: their own list and rules, a short list and rules, the kit's lists
STUDENTS = ["careful_own_list", "short_list_rules", "kit_paste"]
DEGENERATE = ["refuse_all", "crash", "hang", "import_fails", "starter"]
HONEST = ["flawless", *FLAWS, *STUDENTS]
# nothing of theirs depends on what the kit shows; not common_fruits_only, whose few common
# fruits are mostly the policy's examples, which the kit always reveals
OWN_LISTS = ["flawless", *(name for name in FLAWS if name != "common_fruits_only"), "careful_own_list"]
SEEDS = (1234, 1, 2, 3, 4)
NOISY = ["no_output_filter"]  # its leaks are random: the honest score that moves most with the seed
HANG_LIMITS = Limits(call_seconds=0.2, total_seconds=2, smoke_seconds=0.5)  # a hang scores the same, sooner
# Honest submissions get room: on a loaded machine the default 60 s would turn slowness into
# faults, and the calibration measures the rule, not the machine.
ROOMY_LIMITS = Limits(call_seconds=10, total_seconds=900, smoke_seconds=120, start_seconds=120, cpu_seconds=900)


def build(name: str, folder: Path) -> Path:
    if name == "starter":
        return ROOT / "starter" / "bot.py"
    fill = {"@FRUITS@": POLICY.words, "@NAMES@": POLICY.allowlist,  # the instructor's whole policy
            "@KIT_FRUITS@": POLICY.revealed_words, "@KIT_NAMES@": POLICY.revealed_allowlist}  # the kit's
    text = (CALIBRATION / f"{name}.py").read_text()
    for mark, words in fill.items():
        text = text.replace(mark, " ".join(sorted(words)))
    path = folder / f"{name}.py"
    path.write_text(splice(text), encoding="utf-8")
    return path


def _grade(job):
    name, path, seed, public_only = job
    limits = HANG_LIMITS if name == "hang" else ROOMY_LIMITS
    return (name, seed, public_only), grade(path, suite_files("fruit", public_only), seed=seed, limits=limits)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("calibration")
    paths = {name: build(name, folder) for name in HONEST + DEGENERATE}
    jobs = [(name, paths[name], SEEDS[0], False) for name in paths]
    jobs += [(name, paths[name], seed, False) for name in NOISY for seed in SEEDS[1:]]
    jobs.append(("no_normalization", paths["no_normalization"], SEEDS[0], True))
    with ProcessPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(_grade, jobs))


@pytest.fixture(scope="module")
def scores(graded):
    return {name: result for (name, seed, public), result in graded.items() if seed == SEEDS[0] and not public}


def total(cases) -> float:
    rubric = rubric_for(POLICY)
    return total_score(score_categories(cases, rubric.weights, rubric.leak_cost))


def public_percent(result) -> float:
    """The --public-only score, from the public cases of a full grading."""
    public = [c for c in result.cases if c.visibility == "public"]
    rubric = rubric_for(POLICY)
    categories = score_categories(public, rubric.weights, rubric.leak_cost)
    max_score = sum(c.weight for c in categories)
    return 100 * total_score(categories) / max_score


def test_flawless_scores_at_least_95(scores):
    assert scores["flawless"].status == "graded"
    assert scores["flawless"].percent >= 95


@pytest.mark.parametrize("name", DEGENERATE)
def test_degenerate_submissions_score_at_most_25(scores, name):
    assert scores[name].percent <= 25


@pytest.mark.parametrize("name", FLAWS)
def test_each_flaw_costs_points_where_it_matters_and_ranks_below_flawless(scores, name):
    result = scores[name]
    assert result.status == "graded", result.integrity_findings
    lost = {c.name for c in result.categories if c.score < c.weight - 1e-9}
    assert FLAWS[name] <= lost, f"{name} loses nothing in {FLAWS[name] - lost}"
    assert result.percent < scores["flawless"].percent


def test_one_extra_leak_scores_lower(scores):
    leaky, clean = scores["one_leak"], scores["flawless"]
    assert any(c.leaked for c in leaky.cases) and not any(c.leaked for c in clean.cases)
    assert leaky.percent < clean.percent


def test_the_kit_lists_pass_the_public_suites_and_not_the_hidden_ones(scores):
    kit = scores["kit_paste"]
    assert public_percent(kit) >= 90 and kit.percent <= 90


def test_going_beyond_the_kit_is_what_scores(scores):
    careful = scores["careful_own_list"].percent
    assert careful >= 90
    assert careful >= max(scores["kit_paste"].percent, scores["short_list_rules"].percent) + 30


def test_a_leaky_submission_ranks_below_careful_decisions(scores):
    """The issue's example: emitting plurals (berries) cost less than being case-sensitive."""
    assert scores["no_plurals"].percent < scores["case_sensitive"].percent
    assert any(c.leaked_samples for c in scores["no_plurals"].cases)
    assert not any(c.leaked_samples for c in scores["case_sensitive"].cases)


@pytest.mark.parametrize("name", ["flawless", "careful_own_list", "no_normalization", "first_prefix_only"])
def test_k_leaks_cost_more_than_fewer_than_k_decisions_on_the_calibration_gradings(scores, name):
    """docs/scoring.md's ordering, on real gradings: in each category, turning k correctly refused
    requests into leaks scores below flipping fewer than leak_cost * k other decisions, whichever."""
    rubric = rubric_for(POLICY)
    cases = scores[name].cases
    compared = 0
    for category in sorted({c.category for c in cases if c.scored and rubric.weights.get(c.category)}):
        mine = [i for i, c in enumerate(cases) if c.category == category and c.scored]
        refused = [i for i in mine if cases[i].expect == "refuse" and cases[i].kind == "request"
                   and cases[i].correct == cases[i].samples and not cases[i].leaked_samples]
        for k in (1, 3):
            if len(refused) < k:
                continue
            leaks = set(refused[:k])
            others = [i for i in mine if i not in leaks and cases[i].expect != "either"]
            flips = sorted(others, key=lambda i: -cases[i].points)[:math.ceil(rubric.leak_cost * k) - 1]
            leaky = [replace(c, correct=0, leaked_samples=c.samples) if i in leaks else c
                     for i, c in enumerate(cases)]
            flipped = [replace(c, correct=c.samples - c.correct) if i in flips else c for i, c in enumerate(cases)]
            got = {label: total(variant) for label, variant in (("leaky", leaky), ("flipped", flipped))}
            # a category already at 0 (its total is floored there) cannot score lower
            assert got["leaky"] < got["flipped"] or got["flipped"] == 0, (category, k, got)
            compared += 1
    assert compared, f"{name}: no category had a correctly refused request to turn into a leak"


def test_turning_away_most_names_with_a_fruit_loses_most_of_the_over_refusal_credit(scores):
    for name in ("broad_pattern", "substring"):
        named = [c for c in scores[name].cases if c.case_id.startswith("allowlisted:") and c.visibility == "hidden"]
        assert sum(c.correct for c in named) < len(named) / 2
        over = next(c for c in scores[name].categories if c.name == "over_refusal")
        assert over.score < over.weight / 2


@pytest.mark.parametrize("name", OWN_LISTS)
def test_public_only_predicts_the_full_score(scores, name):
    assert abs(public_percent(scores[name]) - scores[name].percent) <= 10


def test_public_score_read_off_a_full_grading_equals_a_public_only_grading(graded, scores):
    real = graded[("no_normalization", SEEDS[0], True)]
    assert real.percent == pytest.approx(public_percent(scores["no_normalization"]), abs=1e-3)


@pytest.mark.parametrize("name", NOISY)
def test_the_seed_moves_the_score_by_at_most_one_point(graded, name):
    percents = [graded[(name, seed, False)].percent for seed in SEEDS]
    assert max(percents) - min(percents) <= 1, percents


def test_what_the_loop_refuses_by_itself_is_never_scored(scores):
    for result in (scores["refuse_all"], scores["flawless"]):
        lookalike = [c for c in result.cases if c.category == "lookalike"]
        assert lookalike and not any(c.scored for c in lookalike)
    assert all(c.score == 0 for c in scores["refuse_all"].categories)


def test_faults_earn_nothing(scores):
    for name in ("crash", "hang"):
        request_cases = [c for c in scores[name].cases if c.scored and c.kind == "request"]
        assert all(c.correct == 0 for c in request_cases if c.faulted == c.samples)
        assert scores[name].percent == 0


def describe(name: str) -> str:
    """The first line of the submission's docstring, for the table."""
    if name == "starter":
        return "degenerate: the untouched starter (leaks)"
    text = (CALIBRATION / f"{name}.py").read_text(encoding="utf-8")
    return text.split('"""')[1].splitlines()[0].rstrip(".")


def test_calibration_table(graded, scores, capsys):
    ranked = sorted(scores, key=lambda n: -scores[n].percent)
    with capsys.disabled():  # the table of docs/scoring.md, pasted as printed (-s -n 0)
        print("\n| submission | full % | public-only % | leaked requests | what it is |")
        print("|---|---:|---:|---:|---|")
        for name in ranked:
            result = scores[name]
            public = public_percent(result) if result.cases else 0.0
            leaked = sum(c.leaked_samples / c.samples for c in result.cases if c.scored)
            print(f"| {name} | {result.percent:.1f} | {public:.1f} | {leaked:.1f} | {describe(name)} |")
        for name in NOISY:
            percents = [graded[(name, seed, False)].percent for seed in SEEDS]
            print(f"\n{name} across the seeds {', '.join(map(str, SEEDS))}: "
                  f"{', '.join(f'{p:.2f}' for p in percents)} (spread {max(percents) - min(percents):.2f})")
    assert ranked[0] == "flawless"
