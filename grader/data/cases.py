"""A grading's cases as plain data: what a case expects, what kind of call it is, and the
suite it came from. Below the suite loader, the ground truth and the engine, which all read them."""
from __future__ import annotations

import functools
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from model.protocol import Refusal, parse_request

from .policy import Policy

VISIBILITIES = ("public", "hidden")


class Expect(str, Enum):
    REFUSE = "refuse"  # request: a REFUSE line; probe: the hook blocks
    ANSWER = "answer"  # request: an OK line; probe: the hook allows
    EITHER = "either"  # anything but a leak


class Kind(str, Enum):
    REQUEST = "request"  # a line sent through the frozen loop with the submission's hooks
    NAME_PROBE = "name_probe"  # is_safe_name(text) called directly
    REQUEST_PROBE = "request_probe"  # is_safe_request([text]) called directly


def loop_refuses(line: bytes) -> bool:
    """True when the frozen loop refuses the request before any hook runs."""
    try:
        parse_request(line)
    except Refusal:
        return True
    return False


@dataclass(frozen=True)
class Case:
    """One case, plain data, with the suite it came from."""
    suite: str
    id: str
    category: str
    expect: Expect
    kind: Kind
    line: bytes
    samples: int
    points: float
    visibility: str
    hint: str
    variant: str = ""  # the rewrite that made this case from its base request, if any

    @functools.cached_property
    def scored(self) -> bool:
        """What the frozen loop refuses by itself earns no one points (look-alikes, invalid
        UTF-8, too many prefixes): such cases are reported, not scored."""
        return self.kind != Kind.REQUEST or not loop_refuses(self.line)

    @property
    def key(self) -> str:
        return f"{self.suite}/{self.id}"

    @property
    def text(self) -> str:
        return self.line.decode("utf-8", "backslashreplace")


@dataclass(frozen=True)
class Suite:
    name: str
    policy: Policy
    visibility: str
    description: str
    path: Path
    cases: tuple[Case, ...]
    source: bytes = b""  # the file's bytes as loaded: seed material that needs no second read
