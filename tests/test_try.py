"""try: typed requests answered through the sandboxed hooks, with the trace explain makes;
answers checked against the bot itself, probabilities against the plain-Python forward."""
import re
import subprocess
import sys

import pytest
from click.testing import CliRunner

from grader.cli import cli
from grader.grading.explain import decision
from grader.playground.session import Refused, Session
from grader.playground.try_ import run_try
from submissions import with_hooks, write_submission
from test_explain import BANNED, FAST, T, scalar_leak

REQUESTS = ["apple", "pearl", "a b", "pe"]
HOOKS = with_hooks(prefix_patterns='["^apple"]', output_patterns='["^pears?$"]')
LEAKY = BANNED - {"pear", "pears"}


@pytest.fixture(scope="module")
def bot(tmp_path_factory):
    return write_submission(tmp_path_factory.mktemp("try"), HOOKS)


def bot_answers(path, lines, seed):
    """What the submission's own `python bot.py --seed N` answers: the reference."""
    done = subprocess.run([sys.executable, str(path), "--seed", str(seed)], input="\n".join(lines) + "\n",
                          capture_output=True, text=True, timeout=120, check=True)
    return done.stdout.splitlines()


def test_try_prints_the_answer_the_check_the_names_and_the_leak(bot):
    done = CliRunner().invoke(cli, ["try", str(bot), "--seed", "3"], input="\n".join(REQUESTS) + "\n")
    assert done.exit_code == 0, done.output
    blocks = done.output.split("\n\n")
    assert len(blocks) == len(REQUESTS)
    answers = [re.match(r"answer: +(.*)", b).group(1) for b in blocks]
    assert answers == bot_answers(bot, REQUESTS, 3)  # --seed replays `bot.py --seed 3` exactly
    apple, pearl, ab, _ = blocks
    assert "decided by: BLOCKED_PREFIX_PATTERNS[0] refused the request" in apple
    assert "P(this request leaks) = 0\n" in apple and "attempt" not in apple
    for served in (pearl, ab):
        assert "decided by: no check refused" in served
        assert re.search(r"attempt 1 from '\w+': '\w+'  P = [0-9.e-]+  let through", served)
        assert re.search(r"-> <end> +[01]\.\d{4}", served)  # each letter's probability
    assert "prefixes:    'a' -> 'a', 'b' -> 'b'" in ab
    assert done.output.count("P(leak) = prod_i") == 1 and ab.count("(P(leak) as defined above)") == 1


def test_the_leak_is_exact(bot, shipped_model):
    with Session(bot, seed=3, limits=FAST, model=shipped_model) as session:
        traces = {text: session.ask(text) for text in REQUESTS}
    assert traces["apple"].leak_probability == 0.0
    assert traces["pearl"].leak_probability == 0.0  # no fruit starts with pearl
    a, b = (scalar_leak(shipped_model, p, LEAKY, T) for p in "ab")  # nothing rejected: e = 0
    assert traces["a b"].leak_probability == pytest.approx(1 - (1 - a) * (1 - b), rel=1e-9)
    # pear and pears are rejected and resampled: r > 0
    assert traces["pe"].leak_probability == pytest.approx(scalar_leak(shipped_model, "pe", LEAKY, T), rel=1e-9)
    for name in (n for t in traces.values() for s in t.shown for n in s.names):
        assert name.probability == pytest.approx(shipped_model.name_probability(name.name, name.prefix, T),
                                                 rel=1e-12)
        assert name.discarded_by == ("BLOCKED_OUTPUT_PATTERNS[0]" if name.name in {"pear", "pears"} else "")


def test_editing_the_bot_reloads_its_hooks(tmp_path, shipped_model):
    path = write_submission(tmp_path, with_hooks())
    with Session(path, limits=FAST, model=shipped_model) as session:
        assert session.ask("pearl").shown[0].outcome == "answered"
        write_submission(tmp_path, with_hooks('return "No pearls here."'))
        refused = session.ask("pearl").shown[0]
        assert (refused.response, refused.refused_by) == ("REFUSE: No pearls here.", "is_safe_request")
        write_submission(tmp_path, with_hooks(prelude="import os"))
        with pytest.raises(Refused, match="integrity gate refuses.*forbidden"):
            session.ask("pearl")
        path.write_text(path.read_text().replace("import os", ""))
        assert session.ask("pearl").shown[0].outcome == "answered"  # taken up again once fixed
        assert session.loads == 4


def test_a_hook_that_hangs_times_out(tmp_path, shipped_model):
    path = write_submission(tmp_path, with_hooks("while True:\n    pass"))
    with Session(path, limits=FAST, model=shipped_model) as session:
        sample = session.ask("pearl").shown[0]
    assert sample.outcome == "faulted" and "took longer than 1 s" in sample.response
    assert "a hook failed" in decision(sample)


def test_a_refused_submission_is_refused_with_its_message(tmp_path):
    path = write_submission(tmp_path, with_hooks(prelude="import os"))
    done = CliRunner().invoke(cli, ["try", str(path)], input="pearl\n")
    assert done.exit_code == 2 and "integrity gate refuses" in done.output and "import" in done.output
    missing = CliRunner().invoke(cli, ["try", str(tmp_path / "nope.py")])
    assert missing.exit_code == 2 and "no such file" in missing.output


def test_a_terminal_gets_a_prompt(bot, shipped_model, monkeypatch, capsys):
    typed = iter(["pearl", ""])

    def fake_input(prompt):
        print(prompt, end="")
        try:
            return next(typed)
        except StopIteration:
            raise EOFError from None
    monkeypatch.setattr("builtins.input", fake_input)
    with Session(bot, limits=FAST, model=shipped_model) as session:
        run_try(session, None, sys.stdout, interactive=True)
    out = capsys.readouterr().out
    assert out.count("request> ") == 3 and "Ctrl-D ends" in out
    assert out.count("answer:") == 2 and "prefixes:    none (a blank request" in out


def test_explain_takes_a_request(bot):
    done = CliRunner().invoke(cli, ["explain", str(bot), "a b", "--seed", "3"])
    assert done.exit_code == 0, done.output
    assert "a typed request; submission" in done.output
    assert f"sample 0: {bot_answers(bot, ['a b'], 3)[0]}  [answered]\n" in done.output
    assert "P(this request leaks) =" in done.output
    sample = CliRunner().invoke(cli, ["explain", str(bot), "a b", "--sample", "1"])
    assert sample.exit_code == 2 and "--sample applies to a case" in sample.output
    unknown = CliRunner().invoke(cli, ["explain", str(bot), "nosuch/apple"])
    assert unknown.exit_code == 2 and "--suite" not in unknown.output
    assert "'nosuch/apple': suite nosuch: no suite of that name (known: " in unknown.output


def test_a_submission_that_fails_to_import_refuses_every_request(tmp_path, shipped_model):
    path = write_submission(tmp_path, with_hooks(prelude="def broken():\n    return 1 / 0\n\n\nVALUE = broken()"))
    with Session(path, limits=FAST, model=shipped_model) as session:
        trace = session.ask("pearl")
    assert trace.shown[0].outcome == "faulted" and "failed to import" in trace.shown[0].response
    assert any("every hook call fails closed" in note for note in trace.notes)
