"""The kit's own model, refused unless its weights are the shipped ones."""
from __future__ import annotations

from model import DEFAULT_WEIGHTS, SHIPPED_SHA256, WeightsError, file_sha256, load_model

from .errors import GraderFault


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
