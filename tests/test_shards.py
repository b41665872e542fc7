"""A class graded in four shards and merged gives the gradebook of one run (#20)."""
import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.cli import cli
from submissions import splice, with_hooks

ROOT = Path(__file__).resolve().parent.parent
CLASS = {
    "ada.py": (ROOT / "policies" / "fruit" / "reference_bot.py").read_text(),
    "bob.py": (ROOT / "starter" / "bot.py").read_text(),
    "cy.py": "def is_safe_name(:\n",
    "dee/bot.py": splice(with_hooks(request_body="return 'No.'", name_body="return False")),
    "=eve.py": splice(with_hooks(name_body="return 'e' not in name")),
    "fay.py": splice(with_hooks()).replace("run_bot(is_safe_request,", "run_bot(lambda p: None,"),
}


def grade_all(folder: Path, out: Path, *extra: str):
    return CliRunner().invoke(cli, ["grade-all", str(folder), "--out", str(out), "--suite", "smoke",
                                    "--jobs", "1", *extra])


def without_seconds(path: Path) -> list[list[str]]:
    rows = list(csv.reader(io.StringIO(path.read_text())))
    drop = rows[0].index("seconds")
    return [row[:drop] + row[drop + 1:] for row in rows]


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("shards")
    folder = tmp / "class"
    for name, text in CLASS.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    assert grade_all(folder, tmp / "whole.csv").exit_code == 0
    shards = [tmp / f"part{k}.csv" for k in range(1, 5)]
    for k, out in enumerate(shards, 1):
        result = grade_all(folder, out, "--shard", f"{k}/4")
        assert result.exit_code == 0, result.output
    return tmp, shards


def test_four_shards_merge_to_the_gradebook_of_one_run(graded):
    tmp, shards = graded
    sizes = [len(without_seconds(s)) - 1 for s in shards]
    assert sizes == [2, 2, 1, 1]  # every submission in exactly one slice
    result = CliRunner().invoke(cli, ["merge-shards", *map(str, reversed(shards)), "--out", str(tmp / "merged.csv")])
    assert result.exit_code == 0, result.output
    assert without_seconds(tmp / "merged.csv") == without_seconds(tmp / "whole.csv")
    assert len(without_seconds(tmp / "whole.csv")) == len(CLASS) + 1
    assert {r[1] for r in without_seconds(tmp / "whole.csv")[1:]} == {"graded", "integrity_failed"}


def test_merge_refuses_an_incomplete_or_mixed_set(graded, tmp_path):
    tmp, shards = graded
    result = CliRunner().invoke(cli, ["merge-shards", *map(str, shards[:3]), "--out", str(tmp_path / "m.csv")])
    assert result.exit_code == 2 and "missing 4" in result.stderr
    result = CliRunner().invoke(cli, ["merge-shards", *map(str, shards + shards[:1]), "--out", str(tmp_path / "m.csv")])
    assert result.exit_code == 2 and "once each" in result.stderr
    manifest = shards[0].with_name(shards[0].name + ".shard.json")
    edited = tmp_path / "p1.csv"
    edited.write_text(shards[0].read_text())
    edited.with_name("p1.csv.shard.json").write_text(json.dumps({**json.loads(manifest.read_text()), "seed": 1}))
    result = CliRunner().invoke(cli, ["merge-shards", str(edited), *map(str, shards[1:]), "--out", str(tmp_path / "m.csv")])
    assert result.exit_code == 2 and "another seed" in result.stderr
    assert not (tmp_path / "m.csv").exists()


@pytest.mark.parametrize("shard", ["0/4", "5/4", "1-4", "a/b"])
def test_a_bad_shard_is_a_one_line_error(tmp_path, shard):
    (tmp_path / "class").mkdir()
    (tmp_path / "class" / "a.py").write_text("x = 1\n")
    result = grade_all(tmp_path / "class", tmp_path / "g.csv", "--shard", shard)
    assert result.exit_code == 2 and "expected K/N" in result.stderr and "Traceback" not in result.output
