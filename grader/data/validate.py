"""Every check `run` applies to a data file, for `validate`: suites (with their policy and
rubric), policies (with their rubric), rubrics, derived names, and the model's weights."""
from __future__ import annotations

from pathlib import Path

from model import WeightsError, n_params

from .files import data_file_kind
from ..errors import DataFileError
from ..kit import ForeignWeights, shipped_model
from .policy import load_policy
from .rubric import check_rubric_covers, load_rubric, rubric_for
from .suites import load_suite


def check_weights(path: Path) -> str:
    try:
        model = shipped_model(path, path.read_bytes())
    except WeightsError as exc:
        raise DataFileError(str(exc)) from None
    except OSError as exc:
        raise DataFileError(f"{path}: cannot read ({exc.strerror})") from None
    except ForeignWeights as foreign:
        raise DataFileError(f"{path}: valid weights, but not the kit's (sha256 {foreign.digest[:12]}...): the grader "
                            "refuses them; restore the shipped file with `git checkout weights/model.json`") from None
    return f"weights, {n_params(model.cfg):,} parameters, the kit's own"


def check_data_file(path: Path) -> str:
    """What the file is, once every check passed; DataFileError naming file, field and reason."""
    if path.suffix == ".json":
        return check_weights(path)
    if path.suffix != ".toml":
        raise DataFileError(f"{path}: not a data file (suites, policies and rubrics are .toml; "
                            "weights are .json)")
    if path.name == "names.toml":  # derived names: the policy's loader checks them
        return f"names derived for policy {load_policy(path.parent.with_suffix('.toml')).name}"
    kind = data_file_kind(path)
    if kind == "rubric":
        rubric = load_rubric(path)
        return f"rubric, {len(rubric.weights)} categories, total {rubric.total:g}"
    if kind == "suite":
        suite = load_suite(path)
        check_rubric_covers([suite])
        return f"suite {suite.name}, {suite.visibility}, {len(suite.cases)} cases"
    policy = load_policy(path)
    rubric_for(policy)
    return f"policy {policy.name}, {len(policy.banned)} banned words"
