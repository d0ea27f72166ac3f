"""Rank causes from text clues alone.

The engine evaluates the rules it is given, and adds clue evidence to each rule's cause;
explain has only clues, so it hands the engine one rule per cause id whose own predicate
never matches. That way every cause is weighed by the engine's own ``clue_match``
(noisy-OR) whatever the state of the live-diagnosis RULES table.
"""

from __future__ import annotations

from collections.abc import Sequence

from tlsdoctor.inference.causes import CauseId
from tlsdoctor.inference.engine import FAULT_THRESHOLD, diagnose, evaluate
from tlsdoctor.inference.facts import Facts
from tlsdoctor.inference.rules import Match, Rule
from tlsdoctor.model import Cause, CheckResult, Verdict


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
    causes = [c for c in causes if c.confidence > 0]
    if any(c.confidence >= FAULT_THRESHOLD for c in causes):
        return Verdict.FAULT, causes
    return Verdict.INCONCLUSIVE, causes
