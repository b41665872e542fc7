"""What the student kit says is true: the documents it names ship with it, and the limits
and commands it states are the grader's."""
import re

import pytest

from grader.bundle import build_student
from grader.limits import Limits


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    out = tmp_path_factory.mktemp("kit") / "student-kit"
    build_student(out, "fruit")
    return out


def test_every_document_the_kit_names_ships_with_it(kit):
    read = [kit / "README.md", kit / "starter" / "bot.py", *sorted((kit / "docs").glob("*.md"))]
    named = {m for path in read for m in re.findall(r"docs/[\w-]+\.md", path.read_text(encoding="utf-8"))}
    assert {"docs/protocol.md", "docs/scoring.md", "docs/security.md"} <= named
    assert [doc for doc in sorted(named) if not (kit / doc).is_file()] == []


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
