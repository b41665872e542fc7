"""Channels between sandboxes that run at once (a grading starts its stages' workers
together), with the integrity gate off: the sandbox alone must hold. docs/security.md
lists them with the layer that closes each."""
import json
import platform
import subprocess
from pathlib import Path

import pytest

from channels import FUTEX, FUTEX_HOOKS, futex_pair
from grader.sandbox.isolation import running_as_root
from sandboxes import own_sandboxes  # noqa: F401  (a fixture)
from submissions import write_submission
from test_isolation import LAYERS

CHANNELS = Path(__file__).resolve().parent / "channels.py"
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
