"""Suites as data: pydantic models (extra="forbid") and their loader.

Layout: policies/<policy>.toml, policies/<policy>/rubric.toml, and the suites in
policies/<policy>/public/*.toml (shipped to students) and policies/<policy>/hidden/*.toml.
Every case must agree with the ground truth (grader/data/derive.py; the student kit, which has
no classifier, skips that check), and the default suites must give every weighted category
cases of both kinds (`unbalanced`), or the loader refuses them.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..errors import DataFileError, UsageError
from ..kit import has_ground_truth
from .cases import VISIBILITIES, Case, Expect, Kind, Suite
from .files import parse_toml, read_data
from .policy import DEFAULT_POLICY, POLICIES_DIR, Policy, load_policy, policy_path
from .rubric import rubric_for, unbalanced
from .variants import LOOKALIKE_VARIANTS, VARIANTS, FamilyModel, expand_families

# The student kit has no classifier; its suites were checked when it was built.
if has_ground_truth():
    from .derive import case_class, expectation_error
else:
    case_class = expectation_error = None


class CaseFields(BaseModel):
    """What a written case and a [[generate]] table have in common."""
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[A-Za-z0-9_.:+-]+$")
    category: str
    expect: Expect
    kind: Kind = Kind.REQUEST
    samples: int = Field(1, ge=1, le=1000, description="times sent, each with its own seed")
    points: float = Field(1.0, gt=0)
    hint: str = ""
    variants: list[str] = Field(default_factory=list, description="extra cases: this request, "
                                "rewritten (a built-in variant or one of the suite's [families])")
    include_base: bool = Field(True, description="false: only the variants become cases")

    @model_validator(mode="after")
    def _gray_is_labelled(self) -> "CaseFields":
        if (self.expect == Expect.EITHER) != self.id.startswith("gray-"):
            raise ValueError("a gray case (expect = 'either': nothing decides it) and only a gray "
                             "case has an id starting 'gray-', so that every report labels it")
        return self


class CaseModel(CaseFields):
    request: str | None = None
    request_hex: str | None = Field(None, description="raw bytes, for invalid UTF-8")
    repeat_request: int = Field(1, ge=1, le=100_000, description="the request text, N times over")

    @model_validator(mode="after")
    def _one_request(self) -> "CaseModel":
        if (self.request is None) == (self.request_hex is None):
            raise ValueError("give exactly one of request and request_hex")
        if self.request_hex is not None:
            try:
                bytes.fromhex(self.request_hex)
            except ValueError:
                raise ValueError("request_hex must be hexadecimal bytes, e.g. 'ff fe 61'") from None
            if self.kind != Kind.REQUEST:
                raise ValueError("request_hex is only for kind = 'request'")
        if "\n" in (self.request or "") or "\r" in (self.request or ""):
            raise ValueError("a request is one line: remove the line break")
        return self


class GenerateModel(CaseFields):
    """Cases generated from a policy's word list or a list of its own: one per word, request =
    template. expect = "truth": the ground truth decides each case (hidden suites only: the
    student kit has none), and a case it leaves gray is left out."""
    expect: Expect | Literal["truth"]
    source: Literal["banned", "words", "plurals", "rulings", "allowlist", "common"] | None = None
    words: list[str] | None = Field(None, description="the words themselves, instead of a source")
    template: str = Field("{word}", pattern=r"\{word\}")
    every: int = Field(1, ge=1, description="keep every Nth word, for smaller suites")
    offset: int = Field(0, ge=0, description="start at this word: public and hidden suites "
                        "draw disjoint samples of one list with the same `every`")
    by_frequency: bool = Field(False, description="points * the name's count in the data: "
                               "over-refusing a name costs as many users as it turns away")

    @model_validator(mode="after")
    def _offset_below_every(self) -> "GenerateModel":
        if self.offset >= self.every:
            raise ValueError(f"offset must be below every ({self.every})")
        if self.by_frequency and self.source not in ("allowlist", "common"):
            raise ValueError("by_frequency needs a list of names: source 'allowlist' or 'common'")
        if (self.source is None) == (self.words is None):
            raise ValueError("give exactly one of source (a policy list) and words (a list of your own)")
        return self


class SuiteModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    policy: str
    visibility: Literal["public", "hidden"]
    description: str
    families: dict[str, FamilyModel] = Field(default_factory=dict,
                                             description="attack families of this suite, by name")
    cases: list[CaseModel] = Field(default_factory=list)
    generate: list[GenerateModel] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_ids(self) -> "SuiteModel":
        if not self.cases and not self.generate:
            raise ValueError("a suite needs at least one [[cases]] or [[generate]] table")
        seen = set()
        for case in [*self.cases, *self.generate]:
            if case.id in seen:
                raise ValueError(f"case id {case.id!r} appears twice")
            seen.add(case.id)
        return self

    @model_validator(mode="after")
    def _known_variants(self) -> "SuiteModel":
        clash = sorted(set(self.families) & set(VARIANTS))
        if clash:
            raise ValueError(f"families.{clash[0]}: a built-in variant has that name; pick another")
        known = {*VARIANTS, *self.families}
        for case in [*self.cases, *self.generate]:
            unknown = [v for v in case.variants if v not in known]
            if unknown:
                raise ValueError(f"{case.id}: variant {unknown[0]!r} is neither built in nor in this "
                                 f"suite's [families] (known: {', '.join(sorted(known))})")
            if case.expect == "truth" and self.visibility == "public":
                raise ValueError(f"{case.id}: expect = 'truth' is for hidden suites (the student kit has "
                                 "no ground truth); write the expectation")
        return self


LOADED: dict[tuple[str, Path, str], Suite] = {}  # by path (as given, resolved) and sha256 of its bytes


def load_suite(path: str | Path) -> Suite:
    """A suite file, checked; loaded once per process while its bytes stay the same (its cases
    are built and checked against the ground truth, which costs more than a grading's work)."""
    path = Path(path)
    source = read_data(path)
    key = (str(path), path.resolve(), hashlib.sha256(source).hexdigest())
    if key not in LOADED:
        LOADED[key] = read_suite(path, source)
    return LOADED[key]


def read_suite(path: Path, source: bytes) -> Suite:
    model = parse_toml(path, source, SuiteModel)
    if model.name != path.stem:
        raise DataFileError(f"{path}: name: {model.name!r} must match the file name "
                            f"({path.stem!r}), so that --suite NAME finds it")
    if path.parent.name in VISIBILITIES and path.parent.name != model.visibility:
        raise DataFileError(f"{path}: visibility: {model.visibility!r} but the file sits in "
                            f"{path.parent.name}/; move it or change the field")
    policy = load_policy(policy_path(model.policy) if not Path(model.policy).is_absolute()
                         else model.policy)
    cases = []

    public = model.visibility == "public"

    def add(base, case_id: str, line: bytes, variant: str = "", points: float = 1.0) -> None:
        expect = base.expect if base.expect != "truth" else truth(policy, base.kind, line)
        if expect is None:
            return
        cases.append(Case(suite=model.name, id=case_id, category=base.category, expect=expect,
                          kind=base.kind, line=line, samples=base.samples, points=base.points * points,
                          visibility=model.visibility, hint=base.hint, variant=variant))
        built_in = variant if variant in VARIANTS else ""  # a suite's own family is its own to show
        shown = public and policy.held_out_in(line.decode("utf-8", "replace"), base.hint, built_in)
        if shown:
            raise DataFileError(f"{path}: {case_id}: shows {shown}, which policy {policy.name} holds "
                                "out of the student kit; a public case may use only its revealed part")

    def add_with_variants(base, case_id: str, text: str, points: float = 1.0) -> None:
        if base.include_base:
            add(base, case_id, text.encode("utf-8") * getattr(base, "repeat_request", 1), "", points)
        for variant, changed in expand_families(text, base.variants, model.families):
            add(base, f"{case_id}~{variant}", changed.encode("utf-8"), variant, points)

    for base in [*model.cases, *model.generate]:
        wrong = LOOKALIKE_VARIANTS.intersection(base.variants)
        if wrong and base.expect == Expect.ANSWER:
            raise DataFileError(f"{path}: {base.id}.variants: {sorted(wrong)[0]!r} is never a..z after "
                                "normalization, so the bot refuses it: it cannot expect 'answer'")
    for case in model.cases:
        if case.request_hex is not None:
            add(case, case.id, bytes.fromhex(case.request_hex) * case.repeat_request)
        else:
            add_with_variants(case, case.id, case.request)
    for gen in model.generate:
        words = gen.words if gen.words is not None else policy.source(gen.source, public)
        for word in words[gen.offset:: gen.every]:
            add_with_variants(gen, f"{gen.id}:{word}", gen.template.replace("{word}", word),
                              policy.frequency[word] if gen.by_frequency else 1.0)
    for case in cases if expectation_error else ():
        problem = expectation_error(policy, case)
        if problem:
            raise DataFileError(f"{path}: {case.id}: {problem}")
    return Suite(name=model.name, policy=policy, visibility=model.visibility,
                 description=model.description, path=path, cases=tuple(cases), source=source)


def truth(policy: Policy, kind: Kind, line: bytes) -> Expect | None:
    """The expectation the ground truth gives a generated case; None when it leaves it gray
    (a gray case is written by hand, with its 'gray-' id)."""
    cls = case_class(policy, kind, line)
    return None if cls.value == Expect.EITHER.value else Expect(cls.value)


def suite_files(policy: str = DEFAULT_POLICY, public_only: bool = False,
                root: Path = POLICIES_DIR) -> list[Path]:
    folders = ("public",) if public_only else VISIBILITIES
    return [p for v in folders for p in sorted((root / policy / v).glob("*.toml"))]


def resolve_suite(name_or_path: str, root: Path = POLICIES_DIR, policy: str | None = None) -> Path:
    """A suite by path, or by name (policies/POLICY/{public,hidden}/NAME.toml; any policy's
    when `policy` is None)."""
    candidate = Path(name_or_path)
    if candidate.suffix == ".toml":
        if not candidate.exists():
            raise UsageError(f"--suite {name_or_path}: no such file")
        return candidate
    where = [p for p in root.glob(f"{policy or '*'}/*/*.toml") if p.parent.name in VISIBILITIES]
    matches = sorted(p for p in where if p.stem == name_or_path)
    if not matches:
        known = ", ".join(sorted({p.stem for p in where}))
        of = f" in policy {policy!r}" if policy else ""
        raise UsageError(f"--suite {name_or_path}: no suite of that name{of} (known: {known})")
    return matches[0]


def load_suites(paths: list[Path | Suite]) -> list[Suite]:
    """Suites from paths (or already loaded), all of one policy."""
    suites = [p if isinstance(p, Suite) else load_suite(p) for p in paths]
    if not suites:
        raise UsageError("no suites selected; pass --suite NAME or check policies/<policy>/public/")
    policies = {s.policy.path.resolve() for s in suites}
    if len(policies) > 1:
        raise UsageError("the selected suites belong to different policies; grade one policy at a time")
    policy = suites[0].policy
    chosen = {s.path.resolve() for s in suites}
    for public_only in (True, False):
        if chosen == {p.resolve() for p in suite_files(policy.name, public_only, policy.path.parent)}:
            problem = unbalanced([c for s in suites for c in s.cases], rubric_for(policy).weights)
            if problem:
                raise DataFileError(f"{policy.path.with_suffix('')}: the default suites"
                                    f"{' (public only)' if public_only else ''}: {problem}")
    return suites


