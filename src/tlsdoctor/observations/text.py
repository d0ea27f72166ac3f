"""What an error text said (``explain``): clues, each pointing at causes."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from tlsdoctor.observations.base import Observation


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class TextClue(Observation):
    """A known pattern found in an error message or log excerpt.

    ``causes`` weighs each cause this pattern supports (0..1): "certificate has expired"
    is decisive for cert-expired, while "Connection reset by peer" only narrows the field.
    """

    kind: ClassVar[str] = "text-clue"

    pattern_id: str
    family: str  # "openssl", "curl", "python", "java", "go", "node", "errno", "nginx", ...
    excerpt: str  # the matched text, as the user gave it
    meaning: str  # what the message means, in plain words
    causes: tuple[tuple[str, float], ...]  # (cause id, weight)
    next_checks: tuple[str, ...] = ()  # tlsdoctor commands to run next ({target} filled when known)

    def describe(self) -> str:
        return f"{self.family}: {self.excerpt!r} means {self.meaning}"
