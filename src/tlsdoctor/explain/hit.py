"""One pattern found at one place of the text, before consolidation (shared by the finders)."""

from __future__ import annotations

import dataclasses

from tlsdoctor.explain.knowledge import Pattern


@dataclasses.dataclass(frozen=True, slots=True)
class Hit:
    """One pattern found at one place, before consolidation."""

    pattern: Pattern
    start: int
    excerpt: str
    meaning: str
