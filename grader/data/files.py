"""One loader for every TOML data file: parse, validate with a pydantic model, and report
errors as `file: field.path: reason`."""
from __future__ import annotations

import tomllib
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from ..errors import DataFileError

M = TypeVar("M", bound=BaseModel)


def field_path(loc: tuple) -> str:
    parts = []
    for part in loc:
        parts.append(f"[{part}]" if isinstance(part, int) else ("." + part if parts else part))
    return "".join(parts) or "(top level)"


def load_toml(path: str | Path, model: type[M]) -> M:
    return parse_toml(Path(path), read_data(path), model)


def read_data(path: str | Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise DataFileError(f"{path}: cannot read ({exc.strerror})") from None


def parse_toml(path: Path, data: bytes, model: type[M]) -> M:
    """A data file's bytes (as read from path), validated by the model."""
    try:
        raw = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise DataFileError(f"{path}: not UTF-8 text; save it as UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise DataFileError(f"{path}: not valid TOML ({exc})") from None
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise DataFileError(f"{path}: {field_path(err['loc'])}: {err['msg']}{more}") from None


def data_file_kind(path: str | Path) -> str:
    """'suite', 'rubric' or 'policy', from the file's top-level keys (policy when unsure, so
    its loader reports what is wrong)."""
    try:
        keys = set(tomllib.loads(Path(path).read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return "policy"
    if keys & {"cases", "generate", "visibility"}:
        return "suite"
    if keys & {"weights", "total"}:
        return "rubric"
    return "policy"
