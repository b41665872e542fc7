import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from model import Config, Model, load_model  # noqa: E402
from model.train import init_params  # noqa: E402


@pytest.fixture(autouse=True)
def _kit_root_as_cwd(monkeypatch):
    """Tests name kit files relative to the kit (starter/bot.py), wherever pytest started."""
    monkeypatch.chdir(ROOT)


def interruptible() -> None:
    """In the child: Ctrl-C as a terminal delivers it. A shell that starts pytest in the
    background (`cmd &` without job control) leaves SIGINT ignored, which every child would
    inherit, and the Ctrl-C tests would then test nothing but that."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture
def spawn():
    """subprocess.Popen for one test, interruptible by SIGINT; what still runs when the test
    ends is killed, so a failing test leaves no grading behind."""
    started = []

    def start(*args, **kwargs) -> subprocess.Popen:
        started.append(subprocess.Popen(*args, preexec_fn=interruptible, **kwargs))
        return started[-1]
    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def shipped_model() -> Model:
    return load_model(ROOT / "weights" / "model.json")


@pytest.fixture
def random_model() -> Model:
    cfg = Config()
    return Model(cfg, init_params(cfg, np.random.default_rng(7), std=0.5))


@pytest.fixture(scope="session")
def others_python() -> str:
    """A python that an ordinary user (uid 65534) can run, with this kit (tests/others.py);
    outside CI a test skips when none can be made here, in CI (CI=true) it fails."""
    from others import Unavailable, python_for_others
    try:
        return python_for_others()
    except Unavailable as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the ordinary-user tests: {exc}")
        pytest.skip(str(exc))
