"""The student kit holds no solution: nothing in it, imported or copied, answers the hidden cases.

The kit ships the revealed part of the policy (a development share of the banned words, their
rulings and the legitimate names holding them; grader/data/reveal.py) and public suites with their
expectations written out; not grader/data/derive.py, whose request classifier decides every case. The probe below imports every module of a built kit and calls every
function and every Policy method it finds on hidden requests, reading any answer as a
verdict both ways round. None may beat always giving the commoner answer: the kit's policy
is the revealed part only (grader/data/reveal.py), so even `Policy.is_banned`, which the self-check
needs to see a leak, knows no held-out word; the classifier decides all of them.
"""
import json
import re
import subprocess
import sys
import tomllib

import pytest

from grader.bundle import build_student
from grader.data.derive import request_class
from grader.data.policy import load_policy, policy_path
from grader.data.cases import Expect, Kind
from grader.data.suites import load_suite, suite_files

PROBE = r'''
import importlib, inspect, json, os, signal, sys
sys.path.insert(0, os.getcwd())
import click
from grader.data.policy import load_policy, policy_path
policy = load_policy(policy_path("fruit"))
cases = json.loads(sys.stdin.read())

def alarm(*_):
    raise TimeoutError
signal.signal(signal.SIGALRM, alarm)

candidates = {}
modules = sorted(os.path.join(here, name[:-3]).replace(os.sep, ".") for folder in ("grader", "model")
                 for here, _, files in os.walk(folder) for name in files
                 if name.endswith(".py") and name != "__main__.py")
for dotted in modules:
    try:
        module = importlib.import_module(dotted)
    except Exception:  # a script, not a library (grader/sandbox/worker.py): nothing to call
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
    build_student(out, "fruit")
    return out


def hidden_requests() -> list[tuple[str, str]]:
    """Hidden request cases a classifier decides (refuse or answer), every third one."""
    cases = [c for path in suite_files("fruit") for c in load_suite(path).cases
             if c.visibility == "hidden" and c.kind == Kind.REQUEST and c.scored
             and c.expect != Expect.EITHER]
    return [(c.line.decode(), c.expect.value) for c in cases[::3]]


def test_the_kit_ships_the_policy_but_not_the_classifier(kit):
    files = {str(p.relative_to(kit)) for p in kit.rglob("*") if p.is_file()}
    assert "grader/data/derive.py" not in files
    assert {"policies/fruit.toml", "policies/fruit/names.toml", "policies/fruit/public/direct.toml"} <= files
    for path in kit.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "def request_class" not in text and "def classify" not in text, path


def test_nothing_in_the_kit_answers_the_hidden_cases(kit):
    cases = hidden_requests()
    assert all(request_class(FRUIT, t.encode()).value == e for t, e in cases)  # the classifier: 100%
    proc = subprocess.run([sys.executable, "-c", PROBE], cwd=kit, input=json.dumps(cases),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    best = json.loads(proc.stdout.splitlines()[-1])
    assert "Policy.is_banned(text)" in best and len(best) > 100  # the probe reached the kit
    # with the lexicon held out, even the banned-word lookup the self-check needs (it knows the
    # revealed words only) does no better than always giving the commoner answer
    base = max(sum(e == x for _, e in cases) for x in ("refuse", "answer")) / len(cases)
    top = max(best, key=best.get)
    assert best[top] <= base + 0.05, f"{top} decides {best[top]:.0%} of the hidden requests (base {base:.0%})"


def test_the_kit_grades_its_public_suites_without_the_classifier(kit):
    proc = subprocess.run([sys.executable, "-m", "grader", "run", "starter/bot.py", "--public-only",
                           "--format", "json"], cwd=kit, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    doc = json.loads(proc.stdout)
    assert doc["status"] == "graded" and {c["visibility"] for c in doc["cases"]} == {"public"}


# --- held-out evaluation: the kit shows a development share of the policy, and classes nothing

FRUIT = load_policy(policy_path("fruit"))
HELD_OUT = sorted(FRUIT.held_out)
WORD = r"(?<![a-z_]){}(?![a-z_])"  # a whole word: update_date's 'date' is an identifier, not a fruit


def custom_suite(expect: str, kind: str = "request", variants: str = "[]") -> str:
    """A student-written suite asking about every held-out word."""
    body = "".join(f'\n[[cases]]\nid = "{kind}-{expect}-{w}"\ncategory = "direct"\nexpect = "{expect}"\n'
                   f'kind = "{kind}"\nrequest = "{w}"\nvariants = {variants}\n' for w in HELD_OUT)
    return f'name = "custom"\npolicy = "fruit"\nvisibility = "public"\ndescription = "mine"\n{body}'


def test_the_policy_holds_out_most_of_the_lexicon_and_the_kit_ships_none_of_it(kit):
    assert len(HELD_OUT) > 50 and {"peach", "strawberry", "lime", "orange"} <= set(HELD_OUT)
    for path in kit.rglob("*"):
        if path.is_file() and path.suffix != ".json":
            text = path.read_text(encoding="utf-8", errors="replace")
            named = [w for w in HELD_OUT if re.search(WORD.format(w), text, re.IGNORECASE)]
            assert not named, f"{path.relative_to(kit)} names the held-out {named[:3]}"
    kit_words = tomllib.loads((kit / "policies" / "fruit.toml").read_text())["lexicon"]["words"]
    assert set(kit_words) == set(FRUIT.revealed_words)


@pytest.mark.parametrize("expect, kind", [("answer", "request"), ("refuse", "request"),
                                          ("answer", "name_probe"), ("answer", "request_probe")])
def test_validate_in_the_kit_classes_no_held_out_word(kit, tmp_path, expect, kind):
    suite = tmp_path / "custom.toml"
    # in the kit a student may write every variant, held out of the public suites or not
    suite.write_text(custom_suite(expect, kind, '["soft_hyphen", "title"]' if kind == "request" else "[]"),
                     encoding="utf-8")
    here = subprocess.run([sys.executable, "-m", "grader", "validate", str(suite)], capture_output=True,
                          text=True, timeout=120)  # the instructor's grader does class them
    proc = subprocess.run([sys.executable, "-m", "grader", "validate", str(suite)], cwd=kit,
                          capture_output=True, text=True, timeout=120)
    assert here.returncode == 2 and "holds out of the student kit" in here.stderr  # not a public case
    assert proc.returncode == 0 and proc.stdout.startswith("ok:"), proc.stderr
    assert not any(re.search(WORD.format(w), proc.stdout + proc.stderr) for w in HELD_OUT)


def test_run_explain_and_try_in_the_kit_class_no_held_out_word(kit):
    """The starter answers everything: a kit that knew a held-out word would call some answer a
    leak, or hint that the word is a fruit. It must treat each like any unknown word."""
    suite = kit / "policies" / "fruit" / "public" / "custom.toml"
    suite.write_text(custom_suite("answer"), encoding="utf-8")
    try:
        proc = subprocess.run([sys.executable, "-m", "grader", "run", "starter/bot.py", "--suite", str(suite),
                               "--format", "json"], cwd=kit, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr[-2000:]
        cases = json.loads(proc.stdout)["cases"]
        assert len(cases) == len(HELD_OUT) and all(c["passed"] and not c["leaked"] for c in cases)
        traces = subprocess.run([sys.executable, "-c", EXPLAIN], cwd=kit, capture_output=True, text=True,
                                timeout=600)
        assert traces.returncode == 0, traces.stderr[-2000:]
        assert traces.stdout.count("P(this request leaks) = 0\n") == len(HELD_OUT), traces.stdout[-2000:]
        assert "(banned)" not in traces.stdout and "FAIL" not in traces.stdout
        tried = subprocess.run([sys.executable, "-m", "grader", "try", "starter/bot.py"], cwd=kit, text=True,
                               input="\n".join(HELD_OUT) + "\n", capture_output=True, timeout=600)
        assert tried.returncode == 0, tried.stderr[-2000:]
        assert tried.stdout.count("P(this request leaks) = 0\n") == len(HELD_OUT), tried.stdout[-2000:]
        assert "(banned)" not in tried.stdout
    finally:
        suite.unlink()


EXPLAIN = r'''
import os, sys
sys.path.insert(0, os.getcwd())
from grader.grading.explain import explain_cases, render_trace
from grader.data.suites import load_suite
suite = load_suite("policies/fruit/public/custom.toml")
traces = explain_cases("starter/bot.py", list(suite.cases), suite.policy, sample=0)
print("".join(render_trace(t) for t in traces.values()))
'''
