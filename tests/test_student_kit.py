"""The student kit holds no solution: nothing in it, imported or copied, answers the hidden cases.

The kit ships the policy to implement (banned words, rulings, legitimate names) and public
suites with their expectations written out; not grader/derive.py, whose request classifier
decides every case. The probe below imports every module of a built kit and calls every
function and every Policy method it finds on hidden requests, reading any answer as a
verdict both ways round. None may beat the banned-word lookup (`Policy.is_banned`, which the
self-check needs to see a leak, and which leaves continuations and mixed requests open),
and that lookup falls well short of the classifier, which decides all of them.
"""
import json
import subprocess
import sys

import pytest

from grader.bundle import build_student
from grader.derive import request_class
from grader.suites import Expect, Kind, load_suite, suite_files

PROBE = r'''
import importlib, inspect, json, os, signal, sys
sys.path.insert(0, os.getcwd())
import click
from grader.policy import load_policy, policy_path
policy = load_policy(policy_path("fruit"))
cases = json.loads(sys.stdin.read())

def alarm(*_):
    raise TimeoutError
signal.signal(signal.SIGALRM, alarm)

candidates = {}
for folder in ("grader", "model"):
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".py") or name == "__main__.py":
            continue
        try:
            module = importlib.import_module(f"{folder}.{name[:-3]}")
        except Exception:  # a script, not a library (grader/worker.py): nothing to call
            continue
        for attr, obj in vars(module).items():
            if inspect.isfunction(obj) and obj.__module__ == module.__name__:
                candidates[f"{module.__name__}.{attr}"] = obj
for attr in dir(policy):
    if not attr.startswith("_") and callable(getattr(policy, attr)):
        candidates[f"Policy.{attr}"] = getattr(policy, attr)

def verdict(value):
    value = getattr(value, "value", value)
    if isinstance(value, str):
        return value.lower() if value.lower() in ("refuse", "answer") else bool(value)
    return bool(value) if isinstance(value, (bool, type(None), int)) else None

best = {}
for label, fn in candidates.items():
    for shape in ("text", "policy, text"):
        hits = []
        for text, expect in cases:
            signal.alarm(2)
            try:
                got = verdict(fn(text) if shape == "text" else fn(policy, text))
            except BaseException:
                got = None
            finally:
                signal.alarm(0)
            hits.append((got, expect))
        for refuse_is in (True, False):
            right = sum(g == e or (isinstance(g, bool) and (g == refuse_is) == (e == "refuse"))
                        for g, e in hits)
            best[f"{label}({shape})"] = max(best.get(f"{label}({shape})", 0), right / len(cases))
print(json.dumps(best))
'''


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    out = tmp_path_factory.mktemp("kit") / "student"
    build_student(out)
    return out


def hidden_requests() -> list[tuple[str, str]]:
    """Hidden request cases a classifier decides (refuse or answer), every third one."""
    cases = [c for path in suite_files("fruit") for c in load_suite(path).cases
             if c.visibility == "hidden" and c.kind == Kind.REQUEST and c.scored
             and c.expect != Expect.EITHER]
    return [(c.line.decode(), c.expect.value) for c in cases[::3]]


def test_the_kit_ships_the_policy_but_not_the_classifier(kit):
    files = {str(p.relative_to(kit)) for p in kit.rglob("*") if p.is_file()}
    assert "grader/derive.py" not in files
    assert {"policies/fruit.toml", "policies/fruit/names.toml", "policies/fruit/public/direct.toml"} <= files
    for path in kit.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "def request_class" not in text and "def classify" not in text, path


def test_nothing_in_the_kit_answers_the_hidden_cases(kit):
    cases = hidden_requests()
    from grader.policy import load_policy, policy_path
    policy = load_policy(policy_path("fruit"))
    assert all(request_class(policy, t.encode()).value == e for t, e in cases)  # the classifier: 100%
    proc = subprocess.run([sys.executable, "-c", PROBE], cwd=kit, input=json.dumps(cases),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    best = json.loads(proc.stdout.splitlines()[-1])
    assert "Policy.is_banned(text)" in best and len(best) > 100  # the probe reached the kit
    # the banned-word lookup the self-check needs to see a leak is the best the kit offers,
    # and it leaves what the assignment asks for undecided: continuations, mixed requests
    lookup = best.pop("Policy.is_banned(text)")
    top = max(best, key=best.get)
    assert lookup < 0.95 and best[top] <= lookup, f"{top} decides {best[top]:.0%} of the hidden requests"


def test_the_kit_grades_its_public_suites_without_the_classifier(kit):
    proc = subprocess.run([sys.executable, "-m", "grader", "run", "starter/bot.py", "--public-only",
                           "--format", "json"], cwd=kit, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    doc = json.loads(proc.stdout)
    assert doc["status"] == "graded" and {c["visibility"] for c in doc["cases"]} == {"public"}
