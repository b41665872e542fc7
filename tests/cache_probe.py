"""A writer worker and a later reader worker under bubblewrap, with the integrity gate off,
for tests/test_page_cache.py (as root, and as uid 65534 in a venv without pytest)."""
import os
from pathlib import Path

import grader.sandbox.isolation
from grader.sandbox.client import Sandbox
from grader.sandbox.isolation import SANDBOX_ROOT, choose_isolation
from grader.sandbox.limits import Limits
from grader.sandbox.view import needed_view
from submissions import with_hooks, write_submission

ROOT = Path(__file__).resolve().parent.parent
LIMITS = Limits(call_seconds=60, total_seconds=300, start_seconds=60, cpu_seconds=60)
# A file every sandbox could read before the view held only what workers need (the standard
# library's own, never imported by a worker): a writer's choice of a cold file to warm
UNNEEDED = str(Path(os.__file__).with_name("smtplib.py"))


def walking_the_view(listed: list[str]) -> str:
    """Hooks that, asked ['warm'], read UNNEEDED through (a writer warming its bit) and answer
    how that went; asked anything else, open every file of their view (but /proc and /dev,
    the kernel's) and answer how many they read and those not in `listed`."""
    return with_hooks(prelude=f"import os\nLISTED = set({sorted(listed)!r})\nUNNEEDED = {UNNEEDED!r}", request_body="""
        if prefixes == ['warm']:
            try:
                with open(UNNEEDED, 'rb') as f:
                    return 'warmed:' + str(len(f.read()))
            except OSError as exc:
                return 'warmed:' + type(exc).__name__
        read, unlisted = 0, []
        for folder, subfolders, files in os.walk('/'):
            subfolders[:] = [s for s in subfolders if os.path.join(folder, s) not in ('/proc', '/dev')]
            for name in files:
                path = os.path.join(folder, name)
                if os.path.islink(path):  # its file is walked at its own path (links are not followed)
                    continue
                try:
                    with open(path, 'rb') as f:
                        f.read(1)
                except OSError:
                    continue
                read += 1
                if path not in LISTED:
                    unlisted.append(path)
        return f'read:{read} unlisted:{len(unlisted)} ' + ' '.join(unlisted[:8])""")


def staged_names() -> list[str]:
    """What grader/sandbox/client.py stages, as the worker sees it (its real path inside)."""
    kit = [f"kit/model/{p.name}" for p in (ROOT / "model").glob("*.py")] + ["kit/weights/model.json"]
    return [f"{SANDBOX_ROOT}/{name}" for name in ("worker.py", "guardrail_seccomp.py", "submission.py", *kit)]


def writer_then_reader(folder: Path) -> tuple[str, str, list[set[str]], list[dict[str, str]]]:
    """A writer sandbox warms the file of its choice, then a reader sandbox (a later stage or
    grading) opens every file it can: their answers, each warm-up's files and each worker's
    view (its files inside -> outside)."""
    warmed, views, original = [], [], grader.sandbox.isolation.warm

    def recording(paths):
        warmed.append(set(paths))
        original(paths)

    bot = write_submission(folder, walking_the_view([*needed_view()[1], *staged_names()]))
    layers = [choose_isolation("bubblewrap") for _ in range(2)]  # its trial run warms too: not counted
    grader.sandbox.isolation.warm = recording
    try:
        with Sandbox(bot, LIMITS, layers[0]) as writer:
            wrote = writer.call("request", ["warm"]).reason
            views.append(writer.isolation.view())
        with Sandbox(bot, LIMITS, layers[1]) as reader:
            read = reader.call("request", ["look"]).reason
            views.append(reader.isolation.view())
    finally:
        grader.sandbox.isolation.warm = original
    return wrote, read, warmed, views
