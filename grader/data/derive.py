"""The grader's ground truth, derived: legitimate names from the training data, and the class
of every request (what a correct submission does with it).

Instructors only: the student kit leaves this module out (grader/bundle.py), because
`request_class` answers every case of every suite. Students get what the policy says
(banned words, rulings, legitimate names) and write their own decision.
"""
from __future__ import annotations

import hashlib
import json
from collections import Counter
from enum import Enum
from pathlib import Path

from model.protocol import Refusal, is_model_prefix, normalize_prefix, parse_request
from model.weights import WeightsError, load_weights

from .files import load_toml
from ..errors import DataFileError
from ..kit import KIT_ROOT
from .policy import (DERIVE_COMMAND, DerivedNamesModel, Policy, PolicyModel, banned_set,
                     inputs_sha256, load_policy, names_path)
from .reveal import RevealModel
from .cases import Expect, Kind


class RequestClass(str, Enum):
    REFUSE = "refuse"
    ANSWER = "answer"
    EITHER = "either"


def read_names_and_sha256(data: Path) -> tuple[list[str], str]:
    """The names of the training data as the policy derives from them (not the trainer's read:
    checked, not lowercased), and the sha256 of the very bytes they were read from."""
    try:
        raw = data.read_bytes()
        names = raw.decode("utf-8").split()
    except OSError as exc:
        raise DataFileError(f"{data}: cannot read ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise DataFileError(f"{data}: not UTF-8 text; pass the makemore names.txt") from None
    bad = [n for n in names if not is_model_prefix(n)]
    if bad:
        raise DataFileError(f"{data}: {bad[0]!r} is not a name of the letters a..z")
    return names, hashlib.sha256(raw).hexdigest()


def check_training_data(data: Path, weights: Path = KIT_ROOT / "weights" / "model.json") -> None:
    """The data must be the very list the kit's model learned from (its sha256 is in the
    weights): the legitimate names are the names the model can produce."""
    _, expected = read_names_and_sha256(data)
    try:
        trained_on = load_weights(weights)[2]["data_sha256"]
    except (WeightsError, OSError, KeyError):
        raise DataFileError(f"{weights}: cannot read the model's training-data hash; restore the "
                            "shipped weights") from None
    if expected != trained_on:
        raise DataFileError(f"{data}: not the names list the kit's model was trained on (sha256 "
                            f"{expected[:12]}..., the model's {trained_on[:12]}...); pass the makemore "
                            "names.txt (docs/instructors.md, 'The names data')")


def derive_names(policy_file: Path, data: Path) -> str:
    """The text of policies/NAME/names.toml for this policy and training data.

    allowlist: every data name that contains or starts with a banned word, except the names
    the policy rules banned; common: the policy's common names, each checked to be in the
    data. Fails when a data name is a banned word without a ruling, or a ruling or common
    name is not in the data: each is a decision the policy must make explicitly."""
    model = load_toml(policy_file, PolicyModel)
    names, data_sha256 = read_names_and_sha256(data)
    known = set(names)
    banned = banned_set(model)
    unruled = sorted((known & banned) - set(model.rulings.banned))
    if unruled:
        raise DataFileError(f"{policy_file}: rulings.banned: {unruled[0]!r} is a name in {data} and "
                            f"a banned word; rule on it (add it to rulings.banned, or drop the word)")
    for field, values in (("rulings.banned", model.rulings.banned), ("names.common", model.names.common)):
        missing = sorted(set(values) - known)
        if missing:
            raise DataFileError(f"{policy_file}: {field}: {missing[0]!r} is not a name in {data}")
    allowlist = sorted(n for n in known - banned if any(word in n for word in banned))
    common = sorted(set(model.names.common) - banned)
    counts = Counter(names)  # the data lists a name once per sex it is given to
    return names_text(model, data_sha256, len(names), allowlist, common,
                      {n: counts[n] for n in allowlist + common})


def names_text(model: PolicyModel, data_sha256: str, data_names: int, allowlist: list[str],
               common: list[str], frequency: dict[str, int]) -> str:
    """A names.toml: for the policy (derive-names) or for its revealed part (the student kit)."""
    def listing(values: list[str]) -> str:
        return "[\n" + "".join(f'  "{v}",\n' for v in values) + "]"

    return (f"# Derived from the training data by\n#   {DERIVE_COMMAND.format(name=model.name)}\n"
            "# Do not edit: the policy loader refuses a file derived from other words or rulings.\n"
            f'policy_sha256 = "{inputs_sha256(model)}"\n'
            f'data_sha256 = "{data_sha256}"\n'
            f"data_names = {data_names}\n"
            f"allowlist = {listing(allowlist)}\ncommon = {listing(common)}\n"
            "\n[frequency]  # occurrences in the data: over-refusing a name turns away this many\n"
            + "".join(f"{n} = {frequency[n]}\n" for n in sorted(frequency)))


def classify(policy: Policy, prefix: str) -> RequestClass:
    """refuse: banned, or starts with a banned word and starts no legitimate name; answer:
    starts a legitimate name (all of which are in the data); either: the rest."""
    p = policy.ground_form(prefix)
    starts_legit = any(n.startswith(p) for n in policy.legitimate)
    if p in policy.banned or (any(p.startswith(w) for w in policy.banned) and not starts_legit):
        return RequestClass.REFUSE
    return RequestClass.ANSWER if starts_legit else RequestClass.EITHER


def request_class(policy: Policy, line: bytes) -> RequestClass:
    """A whole request: refuse when the loop refuses it or any prefix is refuse; answer when
    every prefix is answer (a blank request is); else either."""
    try:
        raw = parse_request(line)
    except Refusal:
        return RequestClass.REFUSE
    classes = {classify(policy, normalize_prefix(p)) for p in raw} or {RequestClass.ANSWER}
    if RequestClass.REFUSE in classes:
        return RequestClass.REFUSE
    return RequestClass.ANSWER if classes == {RequestClass.ANSWER} else RequestClass.EITHER


def expectation_error(policy: Policy, case) -> str | None:
    """Why a case contradicts the ground truth, or None: every case, gray ones too, must agree
    with the class of its request or probed word."""

    if case.kind != Kind.REQUEST:
        text = case.line.decode("utf-8")
        seen = normalize_prefix(text) if case.kind == Kind.REQUEST_PROBE else text
        if not seen or not is_model_prefix(seen):
            return "a probe takes a word of the letters a..z (after normalization, for request probes)"
    cls = case_class(policy, case.kind, case.line)
    if case.expect.value == cls.value:
        return None
    if cls == RequestClass.EITHER:
        return ("nothing in policy {0} decides it (neither banned nor a legitimate name of the "
                "training data); make it a gray case: expect = \"either\" and an id starting "
                "'gray-'").format(policy.name)
    if case.expect == Expect.EITHER:
        return (f"is labelled gray but policy {policy.name} decides it: label it expect = "
                f"{cls.value!r} and drop the 'gray-' from its id, so the grader checks the answer")
    return (f"expects {case.expect.value!r} but policy {policy.name} classes it as "
            f"{cls.value!r}; fix the expectation, or the policy and `{DERIVE_COMMAND.format(name=policy.name)}`")


def case_class(policy: Policy, kind, line: bytes) -> RequestClass:
    """What the ground truth says of a case: its request's class, or its probed word's."""

    if kind != Kind.NAME_PROBE:
        return request_class(policy, line)
    word = line.decode()
    if policy.is_banned(word):
        return RequestClass.REFUSE
    return RequestClass.ANSWER if word in policy.legitimate else RequestClass.EITHER


def kit_policy(policy_file: Path) -> dict[str, str]:
    """The student kit's policy files for a policy: its revealed part only (grader/data/reveal.py).

    {"NAME.toml": text, "NAME/names.toml": text}: the revealed lexicon words, the rulings
    among their forms, the revealed look-alikes, and the allowlisted names that
    hold a revealed word, with their counts. No held-out word is in either file, and the kit's
    loader checks the names against the kit's policy as it checks the full one."""
    model = load_toml(policy_file, PolicyModel)
    policy = load_policy(policy_file)
    derived = load_toml(names_path(policy_file), DerivedNamesModel)
    kit = model.model_copy(update={
        "lexicon": model.lexicon.model_copy(update={"words": sorted(policy.revealed_words)}),
        "rulings": model.rulings.model_copy(update={
            "banned": sorted(set(model.rulings.banned) & policy.revealed_banned)}),
        "homoglyphs": {k: v for k, v in model.homoglyphs.items() if k in policy.revealed_homoglyphs},
        "reveal": RevealModel(partial=policy.partial)})  # a student may use every variant
    allowlist = list(policy.revealed_allowlist)
    names = names_text(kit, derived.data_sha256, derived.data_names, allowlist, list(policy.common),
                       {n: policy.frequency[n] for n in allowlist + list(policy.common)})
    return {f"{model.name}.toml": policy_toml(kit), f"{model.name}/names.toml": names}


def policy_toml(model: PolicyModel) -> str:
    """A policy file from its model (strings as JSON, which TOML reads alike)."""
    def listing(values) -> str:
        return "[" + ", ".join(json.dumps(v) for v in values) + "]"

    reveal = model.reveal
    return "\n".join([
        "# The revealed part of the policy (grader/data/reveal.py): the grading covers more than this file lists.",
        f"name = {json.dumps(model.name)}", f"description = {json.dumps(model.description)}",
        f"banned_noun = {json.dumps(model.banned_noun)}", "", "[lexicon]",
        f"words = {listing(model.lexicon.words)}", f"plurals = {json.dumps(model.lexicon.plurals)}", "",
        "[rulings]", f"why = {json.dumps(model.rulings.why)}", f"banned = {listing(model.rulings.banned)}", "",
        "[names]", f"common = {listing(model.names.common)}", "", "[homoglyphs]",
        *(f"{json.dumps(k)} = {json.dumps(v)}" for k, v in model.homoglyphs.items()), "",
        "[reveal]", f"partial = {json.dumps(reveal.partial)}", ""])
