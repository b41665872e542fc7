"""The kit itself: the folder it lives in, whether it is the instructors' kit, and its own
model, refused unless its weights are the shipped ones."""
from __future__ import annotations

import functools
import hashlib
from pathlib import Path

from model import DEFAULT_WEIGHTS, SHIPPED_SHA256, Model, WeightsError, parse_weights

from .errors import GraderFault

KIT_ROOT = Path(__file__).resolve().parent.parent


class ForeignWeights(Exception):
    """Valid weights, but not the shipped file: its sha256 is another."""

    def __init__(self, digest: str):
        super().__init__(digest)
        self.digest = digest


def has_ground_truth() -> bool:
    """The instructors' kit: its request classifier is there (the student kit leaves it out).
    The kit's own files decide: an import could find another installed copy of the kit."""
    return (KIT_ROOT / "grader" / "data" / "derive.py").is_file()


def shipped_model(path: Path, data: bytes) -> Model:
    """The model of a weights file's bytes, only if they are the shipped ones: WeightsError
    says why they are no weights, ForeignWeights that they are valid but another file."""
    model = Model(*parse_weights(path, data))
    digest = hashlib.sha256(data).hexdigest()
    if digest != SHIPPED_SHA256:
        raise ForeignWeights(digest)
    return model


@functools.cache
def kit_weights() -> bytes:
    """The kit's weights file, read once per process: its model and every sandbox's copy are
    made from these bytes, so what a worker loads is what load_kit_model checked."""
    return DEFAULT_WEIGHTS.read_bytes()


def load_kit_model() -> Model:
    """The kit's model, only if its weights are the shipped ones."""
    try:
        return shipped_model(DEFAULT_WEIGHTS, kit_weights())
    except OSError as exc:
        raise GraderFault(f"{DEFAULT_WEIGHTS}: cannot read ({exc.strerror}); reinstall the kit") from None
    except ForeignWeights as foreign:
        raise GraderFault(f"{DEFAULT_WEIGHTS} is not the kit's (sha256 {foreign.digest[:12]}...); "
                          "restore it with `git checkout weights/model.json`") from None
    except WeightsError as exc:
        raise GraderFault(str(exc)) from None
