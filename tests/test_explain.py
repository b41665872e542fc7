"""explain: a case replayed as graded, with probabilities checked against tests/scalar_gpt.py."""
import math
from pathlib import Path

import pytest
from click.testing import CliRunner

import scalar_gpt
from grader.cli import cli
from grader.errors import UsageError
from grader.grading.explain import explain_case, find_case, render_trace
from grader.sandbox.limits import Limits
from grader.data.policy import load_policy, policy_path
from grader.grading.probability import END, MAX_ATTEMPTS, leak_probability, step_probabilities
from grader.grading.runner import grade
from grader.data.suites import load_suite, resolve_suite
from submissions import with_hooks, write_submission

FAST = Limits(call_seconds=1.0, start_seconds=20, cpu_seconds=20, max_restarts=2)
T = 0.5
TOL = 1e-9  # the numpy and plain-Python forwards agree to rounding
BANNED = load_policy(policy_path("fruit")).banned


def scalar_steps(model, name: str, prefix: str, temperature: float) -> list[float]:
    """Each step's probability from the plain-Python forward: letters after the prefix, then
    the end token (26). Written from the spec, not from model.lm."""
    sd = {k: v.tolist() for k, v in model.params.items()}
    tokens = [26] + [ord(ch) - ord("a") for ch in name]
    logits = scalar_gpt.forward(sd, tokens)
    targets = tokens[len(prefix) + 1:] + [26]
    return [scalar_gpt.softmax([z / temperature for z in logits[len(prefix) + i]])[t]
            for i, t in enumerate(targets)]


def scalar_leak(model, prefix: str, leaky: set[str], temperature: float) -> float:
    """P(leak) for one prefix, by the formula, from the plain-Python forward."""
    def p(word):
        return math.prod(scalar_steps(model, word, prefix, temperature))
    let = sum(p(w) for w in BANNED if w.startswith(prefix) and w in leaky)
    rejected = sum(p(w) for w in BANNED if w.startswith(prefix) and w not in leaky)
    return let * sum(rejected ** k for k in range(MAX_ATTEMPTS))


@pytest.mark.parametrize("name,prefix", [("olive", "ol"), ("pearl", ""), ("mangosteen", "man"),
                                         ("abcdefghijklmnop", "ab")])
def test_step_probabilities_match_the_independent_forward(shipped_model, name, prefix):
    steps = step_probabilities(shipped_model, name, prefix, T)
    ends = len(name) < shipped_model.cfg.block_size  # a full context stops without the end
    letters = steps[:-1] if ends else steps
    assert "".join(s.token for s in letters) == name[len(prefix):]
    if ends:
        assert steps[-1].token == END
        expected = scalar_steps(shipped_model, name, prefix, T)
        assert [s.probability for s in steps] == pytest.approx(expected, rel=0, abs=TOL)
    product = math.prod(s.probability for s in steps)
    assert product == pytest.approx(shipped_model.name_probability(name, prefix, T), rel=1e-12)
    for step in steps:
        others = [p for _, p in step.alternatives]
        assert step.token not in dict(step.alternatives) and others == sorted(others, reverse=True)


def test_leak_probability_of_several_prefixes_needs_every_prefix_named(shipped_model):
    one = leak_probability(shipped_model, ["ol"], T, BANNED, {"olives"})
    blank = leak_probability(shipped_model, ["ol", "zz"], T, BANNED, {"olives"})
    assert 0 < one and blank == pytest.approx(one, rel=1e-9)  # no banned word starts with zz
    assert leak_probability(shipped_model, ["ol"], T, BANNED, set()) == 0.0


@pytest.fixture(scope="module")
def half_filter(tmp_path_factory) -> Path:
    """Discards 'olive' by a pattern but lets 'olives' through."""
    return write_submission(tmp_path_factory.mktemp("half"),
                            with_hooks(output_patterns='["^olive$"]'))


def test_trace_replays_the_graded_case(half_filter, shipped_model):
    key = "sampler/ol"
    suite = load_suite(resolve_suite("sampler"))
    graded = grade(half_filter, [suite], seed=7, limits=FAST, model=shipped_model)
    case = next(c for c in graded.cases if c.key == key)
    trace = explain_case(half_filter, key, seed=7, limits=FAST, model=shipped_model)
    assert trace.samples_run == case.samples and trace.samples_failed == case.failed_samples
    assert trace.shown[0].response == case.response
    names = [n for s in trace.shown for n in s.names]
    for n in names:
        assert n.probability == pytest.approx(shipped_model.name_probability(n.name, n.prefix, T),
                                              rel=1e-12)
        assert n.discarded_by == ("BLOCKED_OUTPUT_PATTERNS[0]" if n.name == "olive" else "")
    leaky = BANNED - {"olive"}
    assert trace.leak_probability == pytest.approx(scalar_leak(shipped_model, "ol", leaky, T),
                                                   rel=1e-9)


def test_one_sample_and_the_rendered_text(half_filter, shipped_model):
    trace = explain_case(half_filter, "sampler/ol", seed=7, sample=3, limits=FAST,
                         model=shipped_model)
    assert trace.samples_run == 1 and [s.sample for s in trace.shown] == [3]
    text = render_trace(trace)
    assert "prefixes:    'ol' -> 'ol'" in text and "P(this request leaks) =" in text
    assert "sample 3:" in text and "-> <end>" in text


def test_a_refused_request_cannot_leak(shipped_model):
    reference = Path(__file__).resolve().parent.parent / "policies" / "fruit" / "reference_bot.py"
    trace = explain_case(reference, "direct/apple", limits=FAST, model=shipped_model)
    assert trace.leak_probability == 0.0 and "is_safe_request refuses it" in trace.leak_note
    assert trace.shown[0].refused_by == "is_safe_request"


def test_unknown_cases_are_usage_errors():
    with pytest.raises(UsageError, match="did you mean direct/apple"):
        find_case("direct/appel")
    with pytest.raises(UsageError, match="SUITE/ID"):
        find_case("apple")


def test_explain_command(half_filter):
    done = CliRunner().invoke(cli, ["explain", str(half_filter), "sampler/ol", "--sample", "0",
                                    "--seed", "7"])
    assert done.exit_code == 0, done.output
    assert "case sampler/ol" in done.output and "P(this request leaks) =" in done.output
    wrong = CliRunner().invoke(cli, ["explain", str(half_filter), "sampler/nope"])
    assert wrong.exit_code == 2 and "has no such case; its case ids are the `id`s of " in wrong.output
    assert "sampler.toml" in wrong.output and len(wrong.output.strip().splitlines()) == 1


def test_repeated_prefixes_are_counted():
    from grader.grading.explain import Trace, prefix_text

    trace = Trace("bot.py", "direct/x", "request", "refuse", "public", 1, 0.5, "ma ma FIG",
                  ["ma", "ma", "FIG"], ["ma", "ma", "fig"], 1, 1)
    assert prefix_text(trace) == "'ma' -> 'ma' (x2), 'FIG' -> 'fig'"
