"""Evidence from the path probes (checks/path.py, checks/ramp.py), shared by the transport and TLS rules.

These are not rules of their own: each cause keeps exactly one rule (rules/tls.py,
rules/transport.py), which asks these queries to raise or lower its confidence.
"""

from __future__ import annotations

from tlsdoctor.inference.facts import Facts
from tlsdoctor.inference.rules.base import Match
from tlsdoctor.inference.rules.helpers import cite
from tlsdoctor.observations.path import MssProbe, PathStats, RampLevel, ResetOrigin

# A handshake this much slower under load, with TCP connects still fast, is the server, not the path.
RAMP_GROWTH = 2.0
RAMP_MIN_EXTRA_MS = 200.0
FAST_CONNECT_MS = 100.0


def reset_origin(facts: Facts) -> ResetOrigin | None:
    """The capture's verdict on who sent the RST, if a probe made one."""
    return facts.first(ResetOrigin)


def small_mss_passes(facts: Facts) -> list[MssProbe]:
    """The small-MSS handshakes that completed."""
    return [p for p in facts.all(MssProbe) if p.outcome == "ok"]


def mss_probes(facts: Facts) -> list[MssProbe]:
    return facts.all(MssProbe)


def overload(facts: Facts) -> Match | None:
    """Latency or failures grow with concurrency while TCP connects stay fast."""
    levels = sorted(facts.all(RampLevel), key=lambda lv: lv.concurrency)
    if len(levels) < 2:
        return None
    first, last = levels[0], levels[-1]
    fast = all(lv.connect_p50_ms < FAST_CONNECT_MS for lv in levels)
    if not fast or first.failures == first.concurrency:
        return None
    # The fastest handshake seen is the server's unloaded service time (the first level may still
    # queue behind the diagnosis's own earlier handshakes).
    base = min(lv.handshake_min_ms for lv in levels if lv.failures < lv.concurrency)
    slower = (last.handshake_p50_ms >= RAMP_GROWTH * max(base, 1.0)
              and last.handshake_p50_ms - base >= RAMP_MIN_EXTRA_MS)
    failing = last.failures / last.concurrency > first.failures / first.concurrency + 0.2
    if not (slower or failing):
        return None
    return Match(0.85, cite(facts, levels),
                 f"handshakes slow from {base:.0f} ms unloaded to "
                 f"{last.handshake_p50_ms:.0f} ms "
                 f"at {last.concurrency} concurrent ({last.failures} failed) while TCP connects stay under "
                 f"{FAST_CONNECT_MS:.0f} ms: the server, not the network, is the bottleneck")


def unstable_transport(facts: Facts) -> Match | None:
    """The kernel retransmitted on several identical connections, or SYNs needed retransmitting."""
    stats = facts.first(PathStats)
    if stats is None:
        return None
    signs = stats.retransmits + stats.slow_connects
    intermittent = 0 < stats.failures < stats.attempts
    if signs < 2 and not intermittent:
        return None
    confidence = 0.8 if intermittent else min(0.75, 0.5 + 0.05 * signs)
    return Match(confidence, cite(facts, [stats]),
                 f"identical connections lost packets: {stats.retransmits} retransmitted segments, "
                 f"{stats.slow_connects} SYN retransmissions, {stats.failures} of {stats.attempts} failed")
