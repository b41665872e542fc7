"""What the student kit says is true: the documents it names ship with it, and the limits
and commands it states are the grader's."""
import re

import pytest

from grader.bundle import build_student
from grader.sandbox.limits import Limits


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    out = tmp_path_factory.mktemp("kit") / "student-kit"
    build_student(out, "fruit")
    return out


# A path of the kit as a file names it: a kit folder, then folders and a file or a folder's
# trailing slash. Not part of a longer path ($GITHUB_WORKSPACE/submission/starter/bot.py),
# not a placeholder (policies/NAME.toml) or a glob (grader/*.py).
KIT_PATH = re.compile(r"(?<![\w$./-])((?:docs|grader|model|weights|policies|starter|tests|benchmarks|\.ci|"
                      r"\.github)/[\w./-]*[\w/])")
PLACEHOLDER = re.compile(r"(?:^|/)[A-Z]+(?:[./]|$)|\*")
# Paths a shipped file may name although the kit leaves them out, and why it names them.
ABSENT_ON_PURPOSE = {
    ("grader/bundle.py", "grader/data/derive.py"): "the bundler names what it leaves out",
    ("grader/bundle.py", "grader/templates/"): "the bundler names what it leaves out",
    ("grader/cli/grading.py", "grader/data/derive.py"): "derive-names says the student kit has no classifier",
    ("grader/data/policy.py", "grader/data/derive.py"): "says the student kit leaves the classifier out",
    ("grader/data/suites.py", "grader/data/derive.py"): "says the student kit has no classifier",
}
INSTRUCTORS_FOLDERS = ("tests/", "benchmarks/", ".ci/")
INSTRUCTORS_NOTE = "the student kit does not ship them"


def test_every_path_a_shipped_file_names_ships_with_it(kit):
    """Every file of the kit (code, comments, docs, workflow, data) names only paths the kit
    ships; a document pointing to the repository's tests says, once, that they are not here."""
    shipped = {p.relative_to(kit).as_posix() for p in kit.rglob("*") if p.is_file()}
    folders = {f"{p.relative_to(kit).as_posix()}/" for p in kit.rglob("*") if p.is_dir()}
    wrong, named_docs = [], set()
    for name in sorted(shipped):
        text = (kit / name).read_text(encoding="utf-8")
        for path in sorted(set(KIT_PATH.findall(text))):
            path = path.rstrip(".")
            named_docs |= {path} if path.startswith("docs/") else set()
            if PLACEHOLDER.search(path) or path in shipped or path in folders or (name, path) in ABSENT_ON_PURPOSE:
                continue
            if path.startswith(INSTRUCTORS_FOLDERS) and INSTRUCTORS_NOTE in " ".join(text.split()):
                continue
            wrong.append(f"{name} names {path}")
    assert wrong == []
    assert {"docs/protocol.md", "docs/scoring.md", "docs/security.md", "docs/deploy.md"} <= named_docs
    assert "docs/instructors.md" not in shipped  # it names held-out words: never in the student kit


def test_the_readme_states_the_grading_limits(kit):
    text = " ".join((kit / "README.md").read_text(encoding="utf-8").split())
    limits = Limits()
    assert f"{limits.call_seconds:g} s for one call of a hook" in text
    assert f"{limits.total_seconds:g} s for everything your code does in one grading" in text
    assert f"{limits.memory_bytes >> 30} GiB of memory" in text and f"{limits.file_bytes >> 20} MiB per file" in text


def test_the_readme_explains_what_a_student_sees(kit):
    text = " ".join((kit / "README.md").read_text(encoding="utf-8").split())
    for command in ("python -m grader try starter/bot.py", "python -m grader play starter/bot.py",
                    "python -m grader explain starter/bot.py"):
        assert command in text
    assert "negative" in text and "never goes below 0" in text and "not scored" in text
