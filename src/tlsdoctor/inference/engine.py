"""Evaluate every rule, rank the matches, and decide the verdict. No I/O, no printing."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from types import ModuleType

from tlsdoctor.inference import rules as rule_table
from tlsdoctor.inference.causes import CauseId, info
from tlsdoctor.inference.facts import Facts
from tlsdoctor.inference.rules import Match, Rule
from tlsdoctor.model import Cause, CheckResult, Evidence, Status, Verdict, healthy_summary
from tlsdoctor.observations.text import TextClue

# Below this confidence a match is listed as a candidate but never makes a verdict "fault".
FAULT_THRESHOLD = 0.5
# A cause resting on a check whose result our own stalled event loop may explain (LoopStall) stays a
# candidate below the fault threshold: our stall is never reported as the network's fault.
STALLED_CAP = 0.45


def _path_observations() -> ModuleType | None:
    """observations/path.py when this process imported it, else None. An observation needs its class,
    so without the module there is no stall, ramp or repeat to read: ``explain`` (which makes none)
    is spared its import (~12 ms of a one-line explain)."""
    return sys.modules.get("tlsdoctor.observations.path")


def evaluate(facts: Facts, rules: Sequence[Rule] | None = None) -> list[Cause]:
    """All causes whose rule matched, most likely first (ties: the contract's table order)."""
    rules = rule_table.RULES if rules is None else rules
    found: list[tuple[float, int, Cause]] = []
    order = {c: i for i, c in enumerate(CauseId)}
    path = _path_observations()
    stalled = (
        {check for check, stall in facts.with_check(path.LoopStall) if not stall.reliable} if path else set()
    )
    for rule in rules:
        if rule.cause is CauseId.HEALTHY:
            continue
        match = strongest(rule.match(facts), clue_match(facts, rule.cause), capture_match(facts, rule.cause))
        if match is None:
            continue
        if any(e.check in stalled for e in match.evidence):
            match = Match(
                min(match.confidence, STALLED_CAP),
                match.evidence,
                f"{match.summary or info(rule.cause).summary} (doubtful: this process was stalled while "
                "the probe ran, so its timing may be ours, not the network's)",
            )
        found.append((-match.confidence, order[rule.cause], to_cause(rule.cause, match)))
    found.sort(key=lambda t: (t[0], t[1]))
    return [c for _, _, c in found]


def clue_match(facts: Facts, cause: CauseId) -> Match | None:
    """Text clues (explain) as evidence for a cause: weights combine as a noisy-OR.

    Several independent hints ("reset by peer" and "during handshake") make a cause more
    likely than either alone, but never certain unless one clue is decisive.
    """
    doubt = 1.0
    evidence: list[Evidence] = []
    for check, clue in facts.with_check(TextClue):
        for cause_id, weight in clue.causes:
            if cause_id == cause.value:
                doubt *= 1.0 - max(0.0, min(1.0, weight))
                evidence.append(Evidence(check=check, observation=clue.describe()))
    if not evidence:
        return None
    return Match(confidence=1.0 - doubt, evidence=evidence)


def capture_match(facts: Facts, cause: CauseId) -> Match | None:
    """What a packet capture's flow says about a cause (inference/rules/capture.py), weighed like a text
    clue; only when this process loaded the capture's observations (``pcap``), so no other command pays."""
    if "tlsdoctor.observations.pcap" not in sys.modules:
        return None
    from tlsdoctor.inference.rules.capture import reading

    return reading(facts, cause)


def strongest(*matches: Match | None) -> Match | None:
    """The most confident of several matches for one cause, with all their evidence."""
    present = [m for m in matches if m is not None]
    if not present:
        return None
    best = max(present, key=lambda m: m.confidence)
    if len(present) == 1:
        return best
    merged = [e for m in present for e in m.evidence]
    return Match(confidence=best.confidence, evidence=merged, summary=best.summary, fixes=best.fixes)


def to_cause(cause: CauseId, match: Match) -> Cause:
    """A rule's match as the report's Cause, with the cause's fixes."""
    meta = info(cause)
    return Cause(
        id=cause.value,
        confidence=round(max(0.0, min(1.0, match.confidence)), 2),
        summary=match.summary or meta.summary,
        evidence=tuple(match.evidence),
        fixes=match.fixes or meta.fixes,
    )


def healthy_cause(results: Iterable[CheckResult]) -> Cause:
    """The single ``healthy`` cause, with the checks that passed or warned as its evidence, and a
    summary that names what was noted (model.healthy_summary)."""
    results = list(results)
    evidence = tuple(
        Evidence(check=r.id, observation=r.summary)
        for r in sorted(results, key=lambda r: r.status is not Status.WARN)
        if r.status in (Status.PASS, Status.WARN)
    )
    return Cause(
        id=CauseId.HEALTHY.value,
        confidence=1.0,
        summary=healthy_summary(results),
        evidence=evidence[:8],
        fixes=(),
    )


def failure_symptoms(facts: Facts) -> bool:
    """Handshakes that failed in the load ramp or in the repeats: a ``healthy`` verdict beside them would
    contradict the report's own evidence, whether or not a rule could name their cause."""
    path = _path_observations()
    if path is None:
        return False
    ramp = any(lv.failures for lv in facts.all(path.RampLevel))
    repeats = any(stats.failures for stats in facts.all(path.PathStats))
    return ramp or repeats


def diagnose(
    results: Sequence[CheckResult], rules: Sequence[Rule] | None = None
) -> tuple[Verdict, list[Cause]]:
    """Verdict and ranked causes for a run.

    ``healthy`` only when no confident cause matched and no check failed or errored; a failed
    check that no rule explains makes the verdict ``inconclusive`` rather than a guess.
    """
    facts = Facts(results)
    causes = evaluate(facts, rules)
    if any(c.confidence >= FAULT_THRESHOLD for c in causes):
        return Verdict.FAULT, causes
    if not facts.any_failed and not failure_symptoms(facts) and any(r.status is Status.PASS for r in results):
        # Nothing failed: weak candidates (warnings such as a private CA) stay visible in the
        # checks, but do not turn a working endpoint into a fault or a doubt.
        return Verdict.HEALTHY, [healthy_cause(results)]
    return Verdict.INCONCLUSIVE, causes
