"""RULES: the literal table of every cause's rule (one per cause id, checked by a test)."""

from __future__ import annotations

from tlsdoctor.inference.rules import tls, transport
from tlsdoctor.inference.rules.base import Match, Rule

RULES: tuple[Rule, ...] = (
    *transport.RULES,
    *tls.RULES,
)

__all__ = ["RULES", "Match", "Rule"]
