"""Rank causes from text clues alone.

The engine evaluates the rules it is given, and adds clue evidence to each rule's cause;
explain has only clues, so it hands the engine one rule per cause id whose own predicate
never matches. That way every cause is weighed by the engine's own ``clue_match``
(noisy-OR) whatever the state of the live-diagnosis RULES table.

The user's prose is evidence too, but weaker than a program's message: a cause that only
description clues support is capped below the fault threshold, and below any cause that an
error message supports decisively. Prose can reorder what the error leaves open; it never
outranks what the error settles.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from tlsdoctor.explain.knowledge import PROSE_FAMILY
from tlsdoctor.inference.causes import CauseId
from tlsdoctor.inference.engine import FAULT_THRESHOLD, diagnose, evaluate
from tlsdoctor.inference.facts import Facts
from tlsdoctor.inference.rules import Match, Rule
from tlsdoctor.model import Cause, CheckResult, Verdict
from tlsdoctor.observations.text import TextClue

PROSE_CAP = 0.45  # below FAULT_THRESHOLD: prose alone never makes a "fault" verdict
DECISIVE = 0.5  # an error-supported cause this confident is not outranked by prose


def _no_rule(facts: Facts) -> Match | None:
    """Explain has no live observations: only the clues speak."""
    return None


CLUE_RULES: tuple[Rule, ...] = tuple(Rule(c, _no_rule) for c in CauseId if c is not CauseId.HEALTHY)


def evaluate_clues(facts: Facts) -> list[Cause]:
    """Every cause some clue supports with a non-zero weight, most likely first."""
    return [c for c in evaluate(facts, CLUE_RULES) if c.confidence > 0]


def diagnose_clues(results: Sequence[CheckResult]) -> tuple[Verdict, list[Cause]]:
    """Verdict and causes for explain: "fault" only for a cause >= the threshold, never "healthy"."""
    _, causes = diagnose(results, CLUE_RULES)
    clues = [o for r in results for o in r.observations if isinstance(o, TextClue)]
    causes = cap_prose_only([c for c in causes if c.confidence > 0], clues)
    if any(c.confidence >= FAULT_THRESHOLD for c in causes):
        return Verdict.FAULT, causes
    return Verdict.INCONCLUSIVE, causes


def cap_prose_only(causes: Sequence[Cause], clues: Sequence[TextClue]) -> list[Cause]:
    """Cap the causes only the user's description supports, then re-rank (stable on ties)."""
    from_messages = {c for clue in clues if clue.family != PROSE_FAMILY for c, w in clue.causes if w > 0}
    decisive = max((c.confidence for c in causes if c.id in from_messages), default=0.0)
    cap = PROSE_CAP if decisive < DECISIVE else min(PROSE_CAP, decisive - 0.01)
    capped = [
        c
        if c.id in from_messages or c.confidence <= cap
        else dataclasses.replace(c, confidence=round(cap, 2))
        for c in causes
    ]
    return sorted(capped, key=lambda c: -c.confidence)
