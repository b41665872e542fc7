"""A class graded on several machines: `grade-all --shard K/N` grades a deterministic slice
of the class folder (every Nth submission in discovery order, from the Kth) and writes its
partial gradebook with a manifest beside it; `merge-shards` checks that the N manifests
describe the same class, seed and suites and cover it exactly once, then writes the
gradebook one run over the whole class writes (the same bytes, the seconds column aside).
"""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from .discovery import Submission
from ..errors import UsageError
from .gradebook import read_gradebook, write_gradebook
from ..safeio import write_atomic

SHARD = re.compile(r"([1-9][0-9]*)/([1-9][0-9]*)")


def parse_shard(text: str) -> tuple[int, int]:
    """'K/N' with 1 <= K <= N, or a UsageError saying so."""
    match = SHARD.fullmatch(text.strip())
    if not match or not int(match[1]) <= int(match[2]):
        raise UsageError(f"--shard {text}: expected K/N with 1 <= K <= N, e.g. --shard 2/4")
    return int(match[1]), int(match[2])


def shard_of(submissions: list[Submission], shard: int, of: int) -> list[Submission]:
    """The Kth of N slices: submissions K-1, K-1+N, ... in discovery order (sorted by path),
    so the slices are the same on every machine and about equal in size."""
    return submissions[shard - 1::of]


def manifest_path(gradebook: Path) -> Path:
    return gradebook.with_name(gradebook.name + ".shard.json")


def write_manifest(gradebook: Path, shard: int, of: int, everyone: list[Submission], seed: int,
                   suites: list) -> None:
    """What merge-shards checks: which slice of which class, graded how."""
    doc = {"shard": shard, "of": of, "class": [s.label for s in everyone], "seed": seed,
           "suites": hashlib.sha256(repr([(s.name, [(c.key, c.line, c.samples, c.expect.value) for c in s.cases])
                                          for s in suites]).encode()).hexdigest()}
    write_atomic(manifest_path(gradebook), json.dumps(doc, indent=1) + "\n")


def read_manifest(gradebook: Path) -> dict:
    path = manifest_path(gradebook)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{gradebook}: no {path.name} beside it; give the gradebooks grade-all --shard "
                         "wrote") from None
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path}: cannot read the shard manifest ({exc})") from None
    keys = {"shard": int, "of": int, "class": list, "seed": int, "suites": str}
    if not isinstance(doc, dict) or set(doc) != set(keys) or not all(type(doc[k]) is t for k, t in keys.items()):
        raise UsageError(f"{path}: not a shard manifest grade-all wrote; re-run that shard")
    return doc


def merge_shards(gradebooks: list[Path], out: Path) -> int:
    """Write the class gradebook from the shards' gradebooks; returns its row count."""
    manifests = [read_manifest(g) for g in gradebooks]
    first = manifests[0]
    for gradebook, doc in zip(gradebooks, manifests):
        for key in ("of", "class", "seed", "suites"):
            if doc[key] != first[key]:
                raise UsageError(f"{gradebook}: graded with another {key} than {gradebooks[0]}; "
                                 "re-run the shards with the same class folder, seed and suites")
    shards = sorted(doc["shard"] for doc in manifests)
    if shards != list(range(1, first["of"] + 1)):
        missing = sorted(set(range(1, first["of"] + 1)) - set(shards))
        raise UsageError(f"expected shards 1..{first['of']} once each, got {shards}"
                         + (f" (missing {', '.join(map(str, missing))})" if missing else ""))
    records = [r for g in gradebooks for r in read_gradebook(g)]
    if len(records) != len(first["class"]) or len({r["submission"] for r in records}) != len(records):
        raise UsageError(f"the shards hold {len(records)} rows for a class of {len(first['class'])}: "
                         "a shard was edited or interrupted; re-run it")
    write_gradebook(out, records)
    return len(records)
