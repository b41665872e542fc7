"""The order of a grading's stages and what students see of them: nothing the submission
shaped after it saw a hidden request (restart counts, timings, a stage that did not run),
and one budget for the grading and its report's replay."""
import json
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

import grader.grading.runner
from grader.grading.explain import trace_failures
from grader.integrity.gate import IntegrityReport
from grader.sandbox.limits import Budget, Limits
from grader.reports.writers import render
from grader.grading.runner import grade
from grader.grading.smoke import same_answer, smoke_transcript, worker_hash_seed
from grader.data.suites import load_suites, suite_files
from submissions import with_hooks, write_submission

ROOT = Path(__file__).resolve().parent.parent
SMOKE = ROOT / "policies" / "fruit" / "public" / "smoke.toml"
FAST = Limits(call_seconds=0.5, max_restarts=3)
SECRET = "zqxjv"  # the request of a hidden case: never in the smoke transcript


def hidden_suite(folder: Path) -> Path:
    path = folder / "late-hidden.toml"
    path.write_text(f'name = "late-hidden"\npolicy = "fruit"\nvisibility = "hidden"\n'
                    f'description = "One hidden case."\n\n[[cases]]\nid = "gray-late"\ncategory = "smoke"\n'
                    f'expect = "either"\nrequest = "{SECRET}"\n')
    return path


def student_views(result) -> str:
    return "\n".join(render(result, fmt) for fmt in ("text", "gradescope", "html"))


def test_restart_counts_and_timings_stay_with_hidden_details(tmp_path):
    hangs = with_hooks(request_body=f"while prefixes == [{SECRET!r}]:\n    pass\nreturn None")
    result = grade(write_submission(tmp_path, hangs), [SMOKE, hidden_suite(tmp_path)], limits=FAST)
    assert result.status == "graded"
    assert any("restarted 1 time(s)" in n for n in result.hidden_notes)
    assert "restarted" not in student_views(result) and f"{result.seconds:.1f} s" not in student_views(result)
    assert "restarted 1 time(s)" in json.dumps(json.loads(render(result, "json"))["hidden_notes"])


def test_a_failing_restart_never_skips_the_smoke_stage(tmp_path, monkeypatch):
    """Issue #16: the worker dies on a late hidden case and its restart fails at import; the
    smoke comparison must still catch the submission's own bot emitting a fruit."""
    monkeypatch.setattr(grader.grading.runner, "check_file", lambda path: IntegrityReport(True, [], []))
    body = with_hooks(
        prelude="import os, sys\nMARK = '/tmp/died'\nOWN = '--seed' in sys.argv\n"
                "if os.path.exists(MARK):\n    raise RuntimeError('restart refused')",
        request_body=f"if prefixes == [{SECRET!r}]:\n    open(MARK, 'w').close()\n    os._exit(1)\n"
                     "return None if OWN else ('no fruit' if any(p.startswith('lemo') for p in prefixes) else None)",
        name_body="return OWN or name != 'lemon'")
    result = grade(write_submission(tmp_path, body), [SMOKE, hidden_suite(tmp_path)], limits=FAST)
    assert result.status == "integrity_failed" and result.score == 0
    assert result.integrity_findings[0].startswith("[runtime-behaviour] on the request '")
    assert "lemo" in result.integrity_findings[0].split(" your bot.py")[0]
    assert "model-aware adversary" not in render(result, "text")


def test_what_did_not_run_is_not_reported(tmp_path):
    broken = with_hooks(prelude="raise RuntimeError('broken at import')")
    result = grade(write_submission(tmp_path, broken), [SMOKE], limits=FAST)
    assert not result.adversary_ran and result.cases  # every case failed closed
    assert all(c.faulted == c.samples for c in result.cases)
    assert "adversary" not in render(result, "text") and "adversary" not in render(result, "html")
    fine = grade(ROOT / "policies" / "fruit" / "reference_bot.py", [SMOKE])
    assert fine.adversary_ran and "model-aware adversary: no request" in render(fine, "text")


def test_the_report_replay_spends_the_grading_budget(tmp_path):
    suites = load_suites([SMOKE])
    starter = ROOT / "starter" / "bot.py"
    result = grade(starter, suites)
    assert [c for c in result.cases if not c.passed]  # the starter leaks: there is something to replay
    assert trace_failures(starter, result, suites, budget=Budget(0)) == {}
    assert trace_failures(starter, result, suites, budget=Budget(60))  # with time left, it replays


def test_the_budget_charges_only_what_the_submission_holds_up():
    budget = Budget(5.0)
    time.sleep(0.02)  # the grader's own work: not charged
    assert budget.left() == 5.0
    smoke = budget.part(1.0, what="the smoke stage")
    with smoke.timing():
        with smoke.timing():  # a restart inside a call: charged once
            time.sleep(0.02)
    assert smoke.left() <= 0.98 and budget.left() <= 4.98
    assert smoke.spent == pytest.approx(budget.spent, abs=1e-3)
    cases = budget.part(budget.left(), keep=1.0)
    assert cases.seconds == budget.left() - 1.0  # kept back for the replay
    assert budget.part(10, keep=100).seconds == budget.left() / 2  # never more than half kept


def test_the_smoke_transcript_holds_only_what_the_kit_shows():
    """Issue #16 (red team 10, 21): a finding quotes the transcript and the submission's own bot
    may echo it, so it holds no held-out word; and the fixed lines are shuffled in, so no line
    always comes first (a first request the graded run always asks is a fingerprint)."""
    suites = load_suites(suite_files())
    policy = suites[0].policy
    assert policy.held_out and any(s.visibility == "hidden" for s in suites)
    firsts = set()
    for seed in range(8):
        lines = smoke_transcript(SimpleNamespace(seed=seed, suites=suites))
        assert [line for line in lines if policy.held_out_in(line)] == []
        firsts.add(lines[0])
    assert len(firsts) > 2


def test_a_smoke_finding_quotes_no_held_out_word(tmp_path, monkeypatch):
    """Red team 10: its own bot.py (gate off) refuses a request naming a held-out word with that
    word as its reason; whatever the transcript holds is quoted by the visible finding."""
    monkeypatch.setattr(grader.grading.runner, "check_file", lambda path: IntegrityReport(True, [], []))
    held = sorted(load_suites([SMOKE])[0].policy.held_out)
    body = with_hooks(prelude=f"import sys\nOWN = '--seed' in sys.argv\nHELD = {held!r}",
                      request_body="seen = [w for w in HELD if any(p.startswith(w) for p in prefixes)]\n"
                                   "return 'HELD ' + ' '.join(seen) if OWN and seen else None")
    result = grade(write_submission(tmp_path, body), [SMOKE], limits=FAST)
    shown = student_views(result)
    assert [word for word in held if f" {word}" in shown or f"'{word}" in shown] == []


def test_the_workers_hash_seed_is_no_fixed_one(tmp_path, monkeypatch):
    """Red team 24: with PYTHONHASHSEED pinned to 0 in every worker, `hash(s) != its value under
    seed 0` was False wherever the grader ran the hooks and True for every user (gate off here:
    the gate refuses hash, but set order follows the seed too)."""
    monkeypatch.setattr(grader.grading.runner, "check_file", lambda path: IntegrityReport(True, [], []))
    pinned = subprocess.run([sys.executable, "-c", "print(hash('guardrail-lab'))"], capture_output=True,
                            text=True, env={"PYTHONHASHSEED": "0"}, check=True).stdout.strip()
    body = with_hooks(request_body=f"return None if hash('guardrail-lab') == {pinned} else 'graded like a user'")
    result = grade(write_submission(tmp_path, body), [SMOKE], limits=FAST)
    assert {c.response for c in result.cases if c.response.startswith("REFUSE")} == {"REFUSE: graded like a user"}
    suites = load_suites([SMOKE])
    assert worker_hash_seed(1, suites) == worker_hash_seed(1, suites) != worker_hash_seed(2, suites)


def test_a_grading_the_machine_cannot_finish_in_time_is_the_graders_fault(tmp_path, monkeypatch):
    """The grader's own work is not charged to the submission; when it alone (a loaded
    machine, here a slow loop) passes the wall-clock limit, later calls fail closed at once
    and the result blames no one's code: a grader fault, to grade again."""
    slow_group = grader.grading.runner.run_group

    def loaded_machine(*args):
        time.sleep(3.0)  # the grader's own work between calls: never charged
        return slow_group(*args)

    monkeypatch.setattr(grader.grading.runner, "run_group", loaded_machine)
    limits = Limits(wall_seconds=2.0)  # past it during the first group of cases, at the latest
    started = time.monotonic()
    result = grade(ROOT / "policies" / "fruit" / "reference_bot.py", [SMOKE], limits=limits)
    took = time.monotonic() - started
    assert result.status == "grader_fault" and result.score == 0
    assert "too loaded to finish this grading within 2 s" in result.notes[0]
    assert took < limits.wall_seconds + 30  # no group judged after the limit


def test_the_worker_runs_the_submission_as_its_own_bot_runs(tmp_path):
    """A class's printed name holds its module's: the worker imported the submission as
    'submission', `python bot.py` runs it as __main__, an oracle for 'graded or not' the gate
    allows (str of a class). The worker now runs it as __main__ too (its footer's loop inert)."""
    body = with_hooks(prelude="class Probe:\n    pass\n\n\nGRADED = '__main__' not in str(Probe)",
                      request_body="return 'told apart' if GRADED else None")
    result = grade(write_submission(tmp_path, body), [SMOKE], limits=FAST)
    assert result.status == "graded" and not any("told apart" in c.response for c in result.cases)


def test_the_smoke_comparison_reads_a_refusals_sentence():
    """The user reads a refusal's sentence (red team 37), so its own bot.py must say the same;
    only a fault's refusal (a pattern's time limit, on one side under load) may differ."""
    from grader.data.policy import load_policy
    fruit = load_policy(ROOT / "policies" / "fruit.toml")
    assert same_answer("REFUSE: No fruit.", "REFUSE: No fruit.", fruit)
    assert not same_answer("REFUSE: No fruit: mango, mangoes.", "REFUSE: No fruit.", fruit)
    assert same_answer("REFUSE: x mango", "REFUSE: x\\u000amango", fruit)  # escapes separate words
    assert same_answer("REFUSE: [2J=cmd|calc forged,row", "REFUSE: \\u001b[2J=cmd|calc\\u000d\\u000aforged,row", fruit)
    assert same_answer("REFUSE: BLOCKED_PREFIX_PATTERNS[0] took too long on 'ma'; refusing to stay safe.",
                       "REFUSE: The prefix 'ma' is blocked.", fruit)


def test_a_refusal_sentence_naming_fruit_costs_the_reference_its_score(tmp_path):
    """The reference's hooks, but each refusal lists the fruit that start like the request
    (red team 37: 100 points on main): a leak, with a hint that says what to fix."""
    reference = (ROOT / "policies" / "fruit" / "reference_bot.py").read_text()
    listing = '"Not served here: " + ", ".join(sorted(w for w in BANNED if w.startswith(normalize_prefix(typed)[:3]))[:12])'
    assert reference.count('"This bot does not generate fruit names."') == 1
    bot = tmp_path / "bot.py"
    bot.write_text(reference.replace('"This bot does not generate fruit names."', listing))
    result = grade(bot, [SMOKE])
    assert result.status == "graded" and result.score < result.max_score
    leaked = [c for c in result.cases if c.leaked_samples]
    assert leaked and all(c.why.startswith("its refusal sentence names a fruit") for c in leaked)
    assert "your refusal sentence names a fruit" in render(result, "text")
