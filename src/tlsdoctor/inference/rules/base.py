"""Rule and Match: a cause id plus a named predicate over Facts."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

from tlsdoctor.inference.causes import CauseId
from tlsdoctor.inference.facts import Facts
from tlsdoctor.model import Evidence


@dataclasses.dataclass(frozen=True, slots=True)
class Match:
    """A rule's verdict that its cause holds: how sure, why, and a specific summary line."""

    confidence: float
    evidence: Sequence[Evidence]
    summary: str = ""
    fixes: tuple[str, ...] = ()  # replaces the cause's own fixes when this evidence calls for others


@dataclasses.dataclass(frozen=True, slots=True)
class Rule:
    """One cause and the predicate that recognises it."""

    cause: CauseId
    match: Callable[[Facts], Match | None]
