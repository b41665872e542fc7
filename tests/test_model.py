import json

import numpy as np
import pytest
from click.testing import CliRunner

import scalar_gpt
from model import BOS, Config, WeightsError, load_model, n_params, save_weights
from model.__main__ import cli
from model.gpt import Decoder
from model.train import init_params, loss_and_grads, to_batch, train

SEQUENCES = [[BOS], [BOS, 4, 12, 12, 0], [BOS] + list(range(15)), [BOS, 0, BOS, 25, 25, 3]]


def state_lists(model):
    return {k: v.tolist() for k, v in model.params.items()}


def test_config_has_4192_parameters():
    assert n_params(Config()) == 4192


@pytest.mark.parametrize("which", ["random_model", "shipped_model"])
@pytest.mark.parametrize("seq", SEQUENCES)
def test_numpy_forward_matches_scalar_reference(request, which, seq):
    model = request.getfixturevalue(which)
    expected = np.array(scalar_gpt.forward(state_lists(model), seq))
    np.testing.assert_allclose(model.logits(seq), expected, rtol=0, atol=1e-9)


@pytest.mark.parametrize("seq", SEQUENCES)
def test_kv_cache_step_matches_whole_sequence(random_model, seq):
    dec = Decoder(random_model.params, random_model.cfg)
    stepped = np.array([dec.step(t) for t in seq])
    np.testing.assert_allclose(stepped, random_model.logits(seq), rtol=0, atol=1e-12)


def test_gradients_match_finite_differences():
    cfg = Config()
    rng = np.random.default_rng(0)
    p = init_params(cfg, rng, std=0.3)
    batch = to_batch(["emma", "olivia", "x", "abcdefghijklmnopqrst"], cfg)
    _, grads = loss_and_grads(p, *batch, cfg)
    h = 1e-5
    for name in p:
        for _ in range(6):
            i = tuple(int(rng.integers(0, s)) for s in p[name].shape)
            old = p[name][i]
            p[name][i] = old + h
            up, _ = loss_and_grads(p, *batch, cfg)
            p[name][i] = old - h
            down, _ = loss_and_grads(p, *batch, cfg)
            p[name][i] = old
            assert grads[name][i] == pytest.approx((up - down) / (2 * h), abs=1e-8), name


def test_training_lowers_loss_and_is_deterministic():
    names = ["anna", "emma", "ella", "ava", "mia", "noah", "liam", "lucas"] * 10
    first = train(names, "sha", steps=30, batch_size=16, seed=3)
    second = train(names, "sha", steps=30, batch_size=16, seed=3)
    assert first.meta == second.meta
    assert all(np.array_equal(first.params[k], second.params[k]) for k in first.params)
    assert first.meta["train_loss"] < np.log(27)


def test_sampling_is_deterministic_for_a_seed(shipped_model):
    def draw(seed):
        rng = np.random.default_rng(seed)
        return [shipped_model.sample("ab", 0.5, rng) for _ in range(20)]
    assert draw(1) == draw(1)
    assert draw(1) != draw(2)
    assert all(name.startswith("ab") for name in draw(1))


def test_full_prefix_stops_at_block_size(shipped_model):
    name = shipped_model.sample("abcdefghijklmno", 1.0, np.random.default_rng(0))
    assert name.startswith("abcdefghijklmno") and len(name) <= 16


def test_name_probabilities_match_sampling_frequencies(shipped_model):
    rng = np.random.default_rng(5)
    draws = [shipped_model.sample("ma", 0.5, rng) for _ in range(4000)]
    top = max(set(draws), key=draws.count)
    freq = draws.count(top) / len(draws)
    prob = shipped_model.name_probability(top, "ma", 0.5)
    assert abs(freq - prob) < 4 * np.sqrt(prob * (1 - prob) / len(draws))
    assert shipped_model.name_probability("xyz", "ma", 0.5) == 0.0


def test_probabilities_of_all_continuations_sum_to_one(random_model):
    # with a one-letter vocabulary of endings enumerated exactly: P(name) over names of
    # length <= 2 after prefix 'abcdefghijklmn' (15 - 1 free slots) must sum to 1
    prefix = "abcdefghijklmn"
    letters = "abcdefghijklmnopqrstuvwxyz"
    total = random_model.name_probability(prefix, prefix, 0.7)
    total += sum(random_model.name_probability(prefix + a, prefix, 0.7) for a in letters)
    total += sum(random_model.name_probability(prefix + a + b, prefix, 0.7)
                 for a in letters for b in letters)
    assert total == pytest.approx(1.0, abs=1e-9)


def test_shipped_weights_meet_the_goal(shipped_model):
    assert sum(v.size for v in shipped_model.params.values()) == 4192
    assert shipped_model.meta["val_loss"] <= 2.15


def write(path, doc):
    path.write_text(json.dumps(doc))
    return path


@pytest.fixture
def good_doc(random_model, tmp_path):
    path = tmp_path / "w.json"
    meta = dict(data_sha256="0" * 64, steps=1, batch_size=1, seed=0, train_loss=3.0,
                val_loss=3.0, n_params=4192)
    save_weights(path, random_model.cfg, random_model.params, meta)
    return json.loads(path.read_text())


def test_loader_round_trips(good_doc, tmp_path, random_model):
    loaded = load_model(write(tmp_path / "w.json", good_doc))
    assert all(np.array_equal(loaded.params[k], random_model.params[k]) for k in loaded.params)


@pytest.mark.parametrize("breakage, message", [
    (lambda d: d.pop("meta"), "meta: Field required"),
    (lambda d: d.update(extra=1), "extra: Extra inputs are not permitted"),
    (lambda d: d["state_dict"].pop("layer0.attn_wq"), "state_dict.layer0.attn_wq: missing parameter"),
    (lambda d: d["state_dict"].update(bias=[[0.0]]), "state_dict.bias: unknown parameter"),
    (lambda d: d["state_dict"]["wte"].pop(), "state_dict.wte: shape should be (27, 16), got 26 rows"),
    (lambda d: d["state_dict"]["wpe"][3].append(1.0), "state_dict.wpe: shape should be (16, 16)"),
    (lambda d: d["state_dict"]["lm_head"][0].__setitem__(0, float("nan")),
     "state_dict.lm_head: holds a non-finite number"),
    (lambda d: d["state_dict"]["wte"][0].__setitem__(0, "x"),
     "state_dict.wte.0.0: Input should be a valid number"),
    (lambda d: d["config"].update(n_embd=32), "config: {'vocab_size': 27, 'n_embd': 32"),
])
def test_loader_rejects_broken_files(good_doc, tmp_path, breakage, message):
    breakage(good_doc)
    with pytest.raises(WeightsError) as err:
        load_model(write(tmp_path / "w.json", good_doc))
    assert message in str(err.value)
    assert str(tmp_path / "w.json") in str(err.value)


def test_loader_rejects_non_json_and_missing(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_bytes(b"\xff{")
    with pytest.raises(WeightsError, match="not valid JSON"):
        load_model(bad)
    with pytest.raises(WeightsError, match="cannot read weights"):
        load_model(tmp_path / "nope.json")


def test_sample_cli_prints_names():
    result = CliRunner().invoke(cli, ["sample", "--prefix", "ab", "-n", "3", "--seed", "1"])
    assert result.exit_code == 0
    names = result.output.splitlines()
    assert len(names) == 3 and all(n.startswith("ab") and n.isalpha() for n in names)


def test_sample_cli_rejects_bad_prefix():
    result = CliRunner().invoke(cli, ["sample", "--prefix", "a1"])
    assert result.exit_code == 1
    assert result.output == "Error: --prefix: 'a1' is not made of the letters a..z\n"


def test_train_cli_writes_loadable_weights(tmp_path):
    data = tmp_path / "names.txt"
    data.write_text("anna\nemma\nella\nava\nmia\nnoah\n")
    out = tmp_path / "w.json"
    result = CliRunner().invoke(cli, ["train", "--data", str(data), "--steps", "5",
                                      "--batch-size", "4", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1].endswith(f"-> {out}")
    assert load_model(out).meta["steps"] == 5


def test_train_cli_rejects_bad_data(tmp_path):
    data = tmp_path / "names.txt"
    data.write_text("anna\nzoë2\n")
    result = CliRunner().invoke(cli, ["train", "--data", str(data), "--out", str(tmp_path / "w")])
    assert result.exit_code == 1
    assert result.output == f"Error: {data}: name 2 ('zoë2') is not made of the letters a..z\n"


def test_shipped_weights_match_the_stated_sha256():
    from model import DEFAULT_WEIGHTS, SHIPPED_SHA256, file_sha256
    assert file_sha256(DEFAULT_WEIGHTS) == SHIPPED_SHA256
