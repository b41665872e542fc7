"""Calibration: the rubric's stated properties (docs/scoring.md), checked on submissions that
each have one named flaw (tests/calibration/), plus degenerate ones.

Every submission is graded once, with the default suites, in parallel. The public-only score
is read off the same grading (a case's samples do not depend on which suites run; one real
--public-only grading checks that), and the noisiest honest submission is graded at five seeds.
"""
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from grader.limits import Limits
from grader.policy import load_policy, policy_path
from grader.runner import grade
from grader.scoring import score_categories, total_score
from grader.suites import rubric_for, suite_files
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
DEGENERATE = ["refuse_all", "crash", "hang", "import_fails", "starter"]
HONEST = ["flawless", *FLAWS]
SEEDS = (1234, 1, 2, 3, 4)
NOISY = ["no_output_filter"]  # its leaks are random: the honest score that moves most with the seed
HANG_LIMITS = Limits(call_seconds=0.2, total_seconds=2, smoke_seconds=0.5)  # a hang scores the same, sooner


def build(name: str, folder: Path) -> Path:
    if name == "starter":
        return ROOT / "starter" / "bot.py"
    text = (CALIBRATION / f"{name}.py").read_text().replace("@FRUITS@", " ".join(sorted(POLICY.words)))
    path = folder / f"{name}.py"
    path.write_text(splice(text.replace("@NAMES@", " ".join(POLICY.allowlist))), encoding="utf-8")
    return path


def _grade(job):
    name, path, seed, public_only = job
    limits = HANG_LIMITS if name == "hang" else Limits()
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


def public_percent(result) -> float:
    """The --public-only score, from the public cases of a full grading."""
    public = [c for c in result.cases if c.visibility == "public"]
    categories = score_categories(public, rubric_for(POLICY).weights)
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


@pytest.mark.parametrize("name", HONEST)
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


def test_calibration_table(scores, capsys):
    ranked = sorted(scores, key=lambda n: -scores[n].percent)
    with capsys.disabled():  # the table of docs/scoring.md, for whoever tunes a suite (-s -n 0)
        print(f"\n  {'submission':<24} {'full':>6} {'public':>6}  categories")
        for name in ranked:
            result = scores[name]
            public = public_percent(result) if result.cases else 0.0
            cats = " ".join(f"{c.name}={c.score:.1f}" for c in result.categories if c.weight)
            print(f"  {name:<24} {result.percent:6.1f} {public:6.1f}  {cats}")
    assert ranked[0] == "flawless"
