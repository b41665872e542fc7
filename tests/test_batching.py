"""Batched sampling and batched hook calls give exactly what one at a time gives (#20)."""
from pathlib import Path

import numpy as np
import pytest

import scalar_gpt
from grader.sandbox.limits import Limits
from grader.sandbox.client import PIPELINE_CALLS, Sandbox
from model.gpt import BOS, Decoder, encode
from model.protocol import MAX_ATTEMPTS, Bot, HookFault, LocalHooks, Verdict
from submissions import with_hooks, write_submission

PREFIXES = ["", "a", "ma", "lem", "pe", "abcdefghijklmno"]


def test_a_batch_step_matches_the_scalar_reference(shipped_model):
    seqs = [[BOS] + encode(w) for w in ("olivia", "pearlmanxy", "abcdefghijklmno", "zz", "q")]
    state = {k: v.tolist() for k, v in shipped_model.params.items()}
    dec = Decoder(shipped_model.params, shipped_model.cfg, len(seqs))
    width = max(map(len, seqs))
    padded = [seq + [BOS] * (width - len(seq)) for seq in seqs]  # what a row feeds after it ends
    stepped = np.array([dec.step([seq[t] for seq in padded]) for t in range(width)])  # (T, B, V)
    for row, seq in enumerate(padded):
        np.testing.assert_allclose(stepped[:, row], scalar_gpt.forward(state, seq), rtol=0, atol=1e-9)


def scalar_sample(state: dict, prefix: str, temperature: float, rng) -> str:
    """Sampling one name from the plain-Python forward: the loop as docs/protocol.md states it
    (the context is BOS and the prefix, or BOS twice for an empty prefix)."""
    tokens = [BOS] + encode(prefix) if prefix else [BOS, BOS]
    out = encode(prefix)
    while len(tokens) <= 16:
        probs = scalar_gpt.softmax([z / temperature for z in scalar_gpt.forward(state, tokens)[-1]])
        u, total, token = rng.random(), 0.0, len(probs) - 1
        for i, p in enumerate(probs):
            total += p
            if u < total:
                token = i
                break
        if token == BOS or len(tokens) == 16:
            return "".join(chr(97 + t) for t in out + ([] if token == BOS else [token]))
        out.append(token)
        tokens.append(token)
    return "".join(chr(97 + t) for t in out)


def test_sampling_draws_what_the_scalar_reference_draws(shipped_model):
    """Same streams, same names: the numpy and plain-Python probabilities agree to ~1e-15, so a
    draw could only differ if it fell that close to a boundary."""
    state = {k: v.tolist() for k, v in shipped_model.params.items()}
    for k, prefix in enumerate(PREFIXES * 4):
        expected = scalar_sample(state, prefix, 0.7, np.random.default_rng([5, k]))
        assert shipped_model.sample(prefix, 0.7, np.random.default_rng([5, k])) == expected


def test_a_batch_draws_what_one_at_a_time_draws(shipped_model):
    prefixes = PREFIXES * 40
    alone = [shipped_model.sample(p, 0.9, np.random.default_rng([4, k])) for k, p in enumerate(prefixes)]
    together = shipped_model.sample_many(prefixes, 0.9, [np.random.default_rng([4, k])
                                                         for k in range(len(prefixes))])
    assert together == alone
    assert len(set(together)) > 50  # the streams are really different


def test_batched_frequencies_match_the_exact_probabilities(shipped_model):
    rngs = [np.random.default_rng([8, k]) for k in range(4000)]
    draws = shipped_model.sample_many(["ma"] * 4000, 0.5, rngs)
    for name in sorted(set(draws), key=draws.count)[-3:]:
        p = shipped_model.name_probability(name, "ma", 0.5)
        assert abs(draws.count(name) / 4000 - p) < 4 * (p * (1 - p) / 4000) ** 0.5 + 1e-3


def picky_hooks() -> LocalHooks:
    """Rejects names with an 'e', fails on names of seven letters, refuses requests naming 'lem'."""
    def name(n):
        if len(n) == 7:
            raise ValueError("seven")
        return "e" not in n

    return LocalHooks(lambda prefixes: "no" if "lem" in prefixes else None, name, [], [r"^ann"])


LINES = [b"", b"ma", b"a b c", b"lem", b"e ee", b"ma\xff", b"olive pearl", b"a" * 5000]


def test_respond_many_answers_as_respond_does(shipped_model):
    bot = Bot(shipped_model, picky_hooks())
    requests = lambda: [(line, np.random.default_rng([6, k])) for line in LINES for k in range(30)]  # noqa: E731
    assert bot.respond_many(requests()) == [bot.respond(line, rng) for line, rng in requests()]


def test_respond_many_covers_every_outcome(shipped_model):
    bot = Bot(shipped_model, picky_hooks())
    responses = bot.respond_many([(line, np.random.default_rng([6, k])) for line in LINES for k in range(30)])
    assert {r.refused_by for r in responses} >= {"", "fault", "resampling", "loop", "is_safe_request"}
    assert all(len(r.attempts) <= 2 * MAX_ATTEMPTS for r in responses)


LIMITS = Limits(call_seconds=1.0, start_seconds=20, cpu_seconds=20, max_restarts=3)


@pytest.fixture
def slow_bot(tmp_path) -> Path:
    return write_submission(tmp_path, with_hooks(prelude="import time", name_body="""
        if name == "slow":
            time.sleep(30)
        if name == "boom":
            raise ValueError(name)
        return name != "no"
    """))


def test_a_hang_in_a_batch_faults_that_call_alone(slow_bot):
    calls = [("name", n) for n in ("ok", "slow", "no", "boom", "ok")] + [("request", ["ab"])]
    with Sandbox(slow_bot, LIMITS) as sandbox:
        answers = sandbox.call_many(calls)
        restarts = sandbox.restarts
    assert [type(a) for a in answers] == [Verdict, HookFault, Verdict, HookFault, Verdict, Verdict]
    assert [a.allowed for a in answers if isinstance(a, Verdict)] == [True, False, True, True]
    assert "took longer than 1 s" in str(answers[1]) and "raised ValueError" in str(answers[3])
    assert restarts == 1  # the hang restarted the worker; the hook that raised did not


def test_a_batch_answers_as_one_call_at_a_time(slow_bot):
    names = [("name", n) for n in ["no", "ok", "boom"] * (PIPELINE_CALLS // 2)] + [("request", ["x" * 5000])] * 9
    with Sandbox(slow_bot, LIMITS) as sandbox:
        together = sandbox.call_many(names)
        alone = []
        for hook, arg in names:
            try:
                alone.append(sandbox.call(hook, arg))
            except HookFault as fault:
                alone.append(fault)
        assert sandbox.restarts == 0
    assert [str(a) if isinstance(a, HookFault) else a for a in together] == \
        [str(a) if isinstance(a, HookFault) else a for a in alone]
