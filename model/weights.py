"""The weights file: JSON with "config", "state_dict" and "meta" (the schema: WeightsModel below).

One loader validates everything and raises WeightsError naming the key and the problem.
"""
from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError

from .gpt import Config, param_shapes

DEFAULT_WEIGHTS = Path(__file__).resolve().parent.parent / "weights" / "model.json"
# sha256 of the shipped weights/model.json: the grader refuses to grade with any other file
SHIPPED_SHA256 = "2f7453c382230286d4ac351bbc1f9a5332112d2a846f728c847c11a76afb4a30"
KIT_CONFIG = Config()


class WeightsError(Exception):
    """A weights file that cannot be used; the message names the file, key and problem."""


class ConfigModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    vocab_size: int
    n_embd: int
    n_head: int
    n_layer: int
    block_size: int


class MetaModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    data_sha256: str
    steps: int
    batch_size: int
    seed: int
    train_loss: float
    val_loss: float
    n_params: int


class WeightsModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    config: ConfigModel
    state_dict: dict[str, list[list[float]]]
    meta: MetaModel


def file_sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _where(loc: tuple) -> str:
    return ".".join(str(part) for part in loc) or "(top level)"


def load_weights(path: str | Path) -> tuple[Config, dict[str, np.ndarray], dict]:
    """Read and validate a weights file; return (config, params, meta)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise WeightsError(f"{path}: cannot read weights ({exc.strerror}); "
                           "pass the path of a weights JSON file") from None
    return parse_weights(path, data)


def parse_weights(path: Path, data: bytes) -> tuple[Config, dict[str, np.ndarray], dict]:
    """Validate a weights file's bytes, already read (`path` names it in errors)."""
    try:
        raw = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WeightsError(f"{path}: not valid JSON ({exc}); restore weights/model.json "
                           "from the kit or retrain with `python -m model train`") from None
    try:
        parsed = WeightsModel.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise WeightsError(f"{path}: {_where(err['loc'])}: {err['msg']}") from None
    cfg = Config(**parsed.config.model_dump())
    if cfg != KIT_CONFIG:
        raise WeightsError(f"{path}: config: {parsed.config.model_dump()} differs from the kit's "
                           f"microgpt config {KIT_CONFIG}")
    expected = param_shapes(cfg)
    missing = [k for k in expected if k not in parsed.state_dict]
    extra = [k for k in parsed.state_dict if k not in expected]
    if missing:
        raise WeightsError(f"{path}: state_dict.{missing[0]}: missing parameter")
    if extra:
        raise WeightsError(f"{path}: state_dict.{extra[0]}: unknown parameter "
                           f"(expected {', '.join(expected)})")
    params = {}
    for name, shape in expected.items():
        rows = parsed.state_dict[name]
        if len(rows) != shape[0] or any(len(r) != shape[1] for r in rows):
            got = f"{len(rows)} rows of lengths {sorted({len(r) for r in rows})}"
            raise WeightsError(f"{path}: state_dict.{name}: shape should be {shape}, got {got}")
        arr = np.array(rows, dtype=np.float64)
        if not np.isfinite(arr).all():
            raise WeightsError(f"{path}: state_dict.{name}: holds a non-finite number (NaN or inf)")
        params[name] = arr
    return cfg, params, parsed.meta.model_dump()


def save_weights(path: str | Path, cfg: Config, params: dict[str, np.ndarray], meta: dict) -> None:
    doc = {
        "config": {k: getattr(cfg, k) for k in ConfigModel.model_fields},
        "state_dict": {k: [[float(v) for v in row] for row in params[k]] for k in param_shapes(cfg)},
        "meta": meta,
    }
    for value in meta.values():
        if isinstance(value, float) and not math.isfinite(value):
            raise WeightsError(f"{path}: meta holds a non-finite number; training diverged")
    WeightsModel.model_validate(doc)
    Path(path).write_text(json.dumps(doc, separators=(",", ":")) + "\n", encoding="utf-8")
