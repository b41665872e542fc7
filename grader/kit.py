"""The kit itself: the folder it lives in, whether it is the instructors' kit, and its own
model, refused unless its weights are the shipped ones."""
from __future__ import annotations

from pathlib import Path

from model import DEFAULT_WEIGHTS, SHIPPED_SHA256, WeightsError, file_sha256, load_model

from .errors import GraderFault

KIT_ROOT = Path(__file__).resolve().parent.parent


def has_ground_truth() -> bool:
    """The instructors' kit: its request classifier is there (the student kit leaves it out).
    The kit's own files decide: an import could find another installed copy of the kit."""
    return (KIT_ROOT / "grader" / "data" / "derive.py").is_file()


def load_kit_model():
    """The kit's model, only if its weights are the shipped ones."""
    try:
        digest = file_sha256(DEFAULT_WEIGHTS)
    except OSError as exc:
        raise GraderFault(f"{DEFAULT_WEIGHTS}: cannot read ({exc.strerror}); reinstall the kit") from None
    if digest != SHIPPED_SHA256:
        raise GraderFault(f"{DEFAULT_WEIGHTS} is not the kit's (sha256 {digest[:12]}...); "
                          "restore it with `git checkout weights/model.json`")
    try:
        return load_model(DEFAULT_WEIGHTS)
    except WeightsError as exc:
        raise GraderFault(str(exc)) from None
