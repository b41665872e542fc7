"""Hermetic leftover checks: only this test's own sandboxes count, so the tests pass while
another grading runs on the same machine."""
import os
from pathlib import Path

import pytest

import grader.isolation


def descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def processes_of(uids: set[int]) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and entry.stat().st_uid in uids:
                found.append(int(entry.name))
        except OSError:
            continue
    return found


@pytest.fixture
def own_sandboxes(monkeypatch):
    """The fresh uids this test's sandboxes used; afterwards none of them, and no child of
    this process, may still run."""
    issued: set[int] = set()
    original = grader.isolation.fresh_uid

    def recording() -> int:
        uid = original()
        issued.add(uid)
        return uid

    monkeypatch.setattr(grader.isolation, "fresh_uid", recording)
    before = descendants(os.getpid())
    yield issued
    assert processes_of(issued) == []
    assert descendants(os.getpid()) - before == set()
