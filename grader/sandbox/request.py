"""What isolation a grading asks for: made once at the CLI edge (or by a caller of grade())
and passed down to every sandbox of the grading and its report's replay."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .isolation import Isolation, choose_isolation


@dataclass(frozen=True)
class IsolationRequest:
    layer: str | None = None  # a name of isolation.LAYERS; None: the strongest that works here
    required: bool = False  # refuse (IsolationUnavailable) rather than fall back to none
    private: tuple[Path, ...] = ()  # folders (a class) a sandbox without a view of its own must close

    def __post_init__(self):
        object.__setattr__(self, "private", tuple(Path(p).resolve() for p in self.private))

    def choose(self) -> Isolation:
        """The layer for one sandbox, fresh each time (see choose_isolation)."""
        return choose_isolation(self.layer, self.required)
