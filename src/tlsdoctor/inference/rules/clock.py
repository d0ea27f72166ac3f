"""client-clock-skew: the local clock is off, and certificate validity is judged against it.

The decisive evidence is a certificate finding that disappears at the corrected time:
a leaf "expired 3 days ago" on a clock that runs 5 days fast is not expired at all
(RFC 5280 section 4.1.2.5 validity is judged at the verifier's notion of now). In that
case cert-expired / cert-not-yet-valid must lose to this cause, so they ask
``skew_explains`` and lower themselves.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from tlsdoctor.inference.causes import CauseId
from tlsdoctor.inference.facts import Facts
from tlsdoctor.inference.rules.base import Match, Rule
from tlsdoctor.observations.cert import CertificateProblem, ClockOffset, ProblemKind
from tlsdoctor.observations.clock import HttpDateOffset

__all__ = ["CLIENT_CLOCK_SKEW", "SKEW_S", "best_offset", "client_clock_skew", "reference", "skew_explains"]

SKEW_S = 60.0  # below this a clock is "right enough"; certificate lifetimes are days
DATED = (ProblemKind.EXPIRED, ProblemKind.NOT_YET_VALID)


def best_offset(facts: Facts) -> ClockOffset | None:
    """NTP's offset with the shortest round trip (the most trustworthy, RFC 4330 section 5); the
    server's Date header only when no NTP server answered (one-second resolution, and the server's
    clock may be the wrong one)."""
    offsets = facts.all(ClockOffset)
    ntp = [o for o in offsets if not isinstance(o, HttpDateOffset)]
    pool = ntp or offsets
    return min(pool, key=lambda o: o.rtt_ms) if pool else None


def reference(offset: ClockOffset) -> str:
    """What the offset was measured against, for a sentence ("the server's Date header")."""
    return "the server's Date header" if isinstance(offset, HttpDateOffset) else "NTP time"


def _valid_at(problem: CertificateProblem, when: dt.datetime) -> bool:
    if problem.not_before is None or problem.not_after is None:
        return False
    return problem.not_before <= when <= problem.not_after


def skew_explains(facts: Facts, problems: Sequence[CertificateProblem] | None = None) -> ClockOffset | None:
    """The offset, when every validity finding is valid again at ``at + offset`` (and the skew is real)."""
    offset = best_offset(facts)
    if offset is None or abs(offset.offset_s) <= SKEW_S:
        return None
    dated = [
        p
        for p in (problems if problems is not None else facts.all(CertificateProblem))
        if p.problem in DATED and p.at is not None
    ]
    if not dated:
        return None
    shift = dt.timedelta(seconds=offset.offset_s)
    if all(p.at is not None and _valid_at(p, p.at + shift) for p in dated):
        return offset
    return None


def _amount(seconds: float) -> str:
    s = abs(seconds)
    if s >= 2 * 86400:
        return f"{s / 86400:.0f} days"
    if s >= 2 * 3600:
        return f"{s / 3600:.1f} hours"
    if s >= 120:
        return f"{s / 60:.0f} minutes"
    return f"{s:.0f} s"


def client_clock_skew(facts: Facts) -> Match | None:
    """An offset beyond a minute; near-certain when it alone explains a certificate validity failure.

    NTP is the better witness; a server's Date header is one server's clock, so it convicts ours
    a little less surely, and on its own (nothing it explains) it may be the server that is off.
    """
    offset = best_offset(facts)
    if offset is None or abs(offset.offset_s) <= SKEW_S:
        return None
    way = "behind" if offset.offset_s > 0 else "ahead of"
    against = reference(offset)
    by_date = isinstance(offset, HttpDateOffset)
    explained = skew_explains(facts)
    if explained is not None:
        dated = [p for p in facts.all(CertificateProblem) if p.problem in DATED]
        evidence = [facts.evidence(offset), *(facts.evidence(p) for p in dated[:3])]
        return Match(
            0.9 if by_date else 0.97,
            evidence,
            f"the local clock is {_amount(offset.offset_s)} {way} {against}: at that time the "
            "certificate is valid, so the validity error is the clock's",
        )
    confidence = 0.45 if by_date else 0.8 if abs(offset.offset_s) > 86400 else 0.55
    summary = f"the local clock is {_amount(offset.offset_s)} {way} {against}"
    return Match(confidence, [facts.evidence(offset)], summary)


CLIENT_CLOCK_SKEW = Rule(CauseId.CLIENT_CLOCK_SKEW, client_clock_skew)
