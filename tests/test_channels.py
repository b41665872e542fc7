"""Channels between sandboxes that run at once (a grading starts its stages' workers
together), with the integrity gate off: the sandbox alone must hold. docs/security.md
lists them with the layer that closes each."""
import json
import platform
import subprocess
from pathlib import Path

import pytest

from channels import FUTEX, FUTEX_HOOKS, futex_pair
from grader.data.suites import load_suites
from grader.grading.explain import trace_failures
from grader.grading.runner import after_hidden_unseen, grade
from grader.grading.stateless import CallLog, replay
from grader.sandbox.isolation import Bubblewrap, FreshUid, Unisolated, running_as_root
from grader.sandbox.request import IsolationRequest
from model.protocol import Verdict
from sandboxes import own_sandboxes  # noqa: F401  (a fixture)
from submissions import write_submission
from test_isolation import LAYERS

ROOT = Path(__file__).resolve().parent.parent
CHANNELS = ROOT / "tests" / "channels.py"
SMOKE = ROOT / "policies" / "fruit" / "public" / "smoke.toml"
UNISOLATED = IsolationRequest("none")
# no shared mapping and no shared futex; a private futex is keyed on its own process
HELD = {"shared": ["map:EPERM wait:EPERM", "map:EPERM wake:EPERM"],
        "private": ["map:EPERM wait:ETIMEDOUT", "map:EPERM wake:0"]}
needs_futex_number = pytest.mark.skipif(platform.machine() not in FUTEX, reason=f"no futex number for "
                                        f"{platform.machine()} in tests/channels.py")


@needs_futex_number
@pytest.mark.parametrize("layer", LAYERS)
def test_no_futex_wakes_a_worker_of_another_sandbox(tmp_path, layer, own_sandboxes):
    assert futex_pair(write_submission(tmp_path, FUTEX_HOOKS), layer) == HELD


@needs_futex_number
@pytest.mark.skipif(not running_as_root(), reason="needs root: the fresh-uid layer is root's")
def test_no_futex_wakes_a_worker_of_another_sandbox_under_fresh_uid(tmp_path, others_python):
    """The fallback layer, with an interpreter other users can run (as on Gradescope)."""
    bot = write_submission(tmp_path, FUTEX_HOOKS)
    proc = subprocess.run([others_python, str(CHANNELS), "fresh-uid", str(bot)], capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout) == HELD


# Under a layer without a view of its own (fresh uid, none) a worker reads the machine's files,
# and an earlier worker's reads set their access times: a later worker of the same grading
# can know what the cases' worker was asked (red team 09). Nothing it says after the hidden
# cases may reach the student: the HTML report draws no traces, the replay names no call.
HIDDEN = ROOT / "policies" / "fruit" / "hidden" / "over-refusal-hidden.toml"


def test_only_a_layer_with_a_view_of_its_own_speaks_after_hidden_cases():
    assert not after_hidden_unseen(Bubblewrap, hidden_asked=True)
    assert after_hidden_unseen(FreshUid, hidden_asked=True) and after_hidden_unseen(Unisolated, hidden_asked=True)
    assert not after_hidden_unseen(FreshUid, hidden_asked=False)  # --public-only: nothing to carry


def test_a_conflict_the_replay_found_is_named_only_where_its_worker_could_not_choose_it():
    def replayed(name_conflict: bool) -> str:
        log = CallLog()
        log.record(("name", "olive"), Verdict(True), hidden=False)
        replay(log, ReplyAll(Verdict(False, "no", "is_safe_name")), [1], name_conflict=name_conflict)
        return log.finding()
    assert "'olive'" in replayed(True)
    assert "olive" not in replayed(False) and replayed(False).startswith("[stateful-hook] a hook answered a call")


def test_a_replay_that_heard_hidden_calls_names_no_call_under_any_layer():
    """The replay's worker hears hidden calls mixed with public ones, so it can choose which
    public call to answer otherwise after hidden requests: the call carried log2(k) bits
    (red team 34). Under bubblewrap too, only the instructors' notes name it; the finding
    still stands (scores 0), whatever the call's label."""
    log, refusal = CallLog(), Verdict(False, "no", "is_safe_name")
    log.record(("name", "olive"), Verdict(True), hidden=False)
    log.record(("name", "nectar"), refusal, hidden=True)  # answered alike: only olive conflicts
    replay(log, ReplyAll(refusal), [1], name_conflict=True)
    assert log.conflict == ("name", "olive") and log.finding().startswith("[stateful-hook] a hook answered a call")
    assert "olive" not in log.finding() and "nectar" not in log.finding() and "is_safe" not in log.finding()
    assert log.conflict[1] in log.instructor_note()


class ReplyAll:
    def __init__(self, verdict: Verdict):
        self.verdict = verdict

    def check_many(self, calls: list) -> list:
        return [self.verdict for _ in calls]


def test_the_html_report_replays_nothing_after_hidden_cases_without_a_view(tmp_path, shipped_model):
    starter = ROOT / "starter" / "bot.py"  # fails public cases
    with_hidden = grade(starter, [SMOKE, HIDDEN], isolation=UNISOLATED, model=shipped_model)
    public_only = grade(starter, [SMOKE], isolation=UNISOLATED, model=shipped_model)
    for result in (with_hidden, public_only):
        assert any(not c.passed and c.visibility == "public" for c in result.cases)
    assert trace_failures(starter, with_hidden, load_suites([SMOKE, HIDDEN]), limit=2, isolation=UNISOLATED,
                          model=shipped_model) == {}
    assert trace_failures(starter, public_only, load_suites([SMOKE]), limit=2, isolation=UNISOLATED,
                          model=shipped_model)
