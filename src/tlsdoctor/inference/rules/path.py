"""Evidence from the path probes (checks/path.py, checks/ramp.py), shared by the transport and TLS rules.

These are not rules of their own: each cause keeps exactly one rule (rules/tls.py,
rules/transport.py), which asks these queries to raise or lower its confidence.
"""

from __future__ import annotations

from collections.abc import Callable

from tlsdoctor.inference.facts import Facts
from tlsdoctor.inference.rules.base import Match
from tlsdoctor.inference.rules.helpers import cite
from tlsdoctor.observations.hello import HelloProbe
from tlsdoctor.observations.path import (
    MssProbe,
    PathMtu,
    PathStats,
    PathTrace,
    RampLevel,
    Reproduction,
    ResetOrigin,
    SynRetest,
)
from tlsdoctor.observations.tcp import ConnectOutcome, TcpConnect
from tlsdoctor.observations.tls import HandshakeAttempt, RepeatStats

# A handshake this much slower under load, with TCP connects still fast, is the server, not the path.
RAMP_GROWTH = 2.0
RAMP_MIN_EXTRA_MS = 200.0
FAST_CONNECT_MS = 100.0
# A difference between probes that did not reproduce on re-runs is at most this likely.
UNREPRODUCED_CAP = 0.3


def reset_origin(facts: Facts) -> ResetOrigin | None:
    """The capture's verdict on who sent the RST, if a probe made one."""
    return facts.first(ResetOrigin)


def small_mss_passes(facts: Facts) -> list[MssProbe]:
    """The small-MSS handshakes that completed."""
    return [p for p in facts.all(MssProbe) if p.outcome == "ok"]


def mss_probes(facts: Facts) -> list[MssProbe]:
    return facts.all(MssProbe)


def backlog_full(facts: Facts) -> Match | None:
    """The server's kernel accepted our first connections, none got a single byte back, and later SYNs
    to the same address went unanswered while those were held: its listen backlog is full.

    A firewall that drops ClientHellos lets every SYN through, so this never matches it; a path that
    drops SYNs never lets the first ones through. The SYN re-test after our connections were released
    says whether the backlog drains (a server too slow to accept) or stays full (it accepts nothing).
    """
    tries = [c for c in facts.all(TcpConnect) if c.role == "target"]
    for address in dict.fromkeys(c.address for c in tries):
        mine = [c for c in tries if c.address == address]
        held = [c for c in mine if c.outcome is ConnectOutcome.CONNECTED]
        dropped = [c for c in mine if c.outcome is ConnectOutcome.TIMEOUT]
        if not held or not dropped:
            continue
        answers = [a.bytes_received for a in facts.all(HandshakeAttempt) if a.address == address]
        answers += [p.bytes_received for p in facts.all(HelloProbe) if p.address == address]
        if not answers or any(answers):
            continue  # something answered: not a server that accepts and then says nothing
        retest = next((r for r in facts.all(SynRetest) if r.address == address), None)
        after = ""
        if retest is not None:
            after = (
                "; released, the SYN path opened again (the backlog drained)"
                if retest.answered
                else "; released, new SYNs still go unanswered (the server accepts no connections)"
            )
        return Match(
            0.9 if retest is not None else 0.8,
            cite(facts, [held[0], dropped[0], *([retest] if retest else [])]),
            f"{address} accepted {len(held)} TCP connections that never got a ServerHello, then left "
            f"{len(dropped)} later SYNs unanswered while those were held: the server's listen backlog is "
            f"full (a firewall dropping ClientHellos would still answer SYNs){after}",
        )
    return None


def overload(facts: Facts) -> Match | None:
    """Latency or failures grow with concurrency while TCP connects stay fast; or the backlog is full."""
    levels = sorted(facts.all(RampLevel), key=lambda lv: lv.concurrency)
    if len(levels) < 2:
        return backlog_full(facts)
    first, last = levels[0], levels[-1]
    fast = all(lv.connect_p50_ms < FAST_CONNECT_MS for lv in levels)
    if not fast or first.failures == first.concurrency:
        return None
    # The fastest handshake seen is the server's unloaded service time (the first level may still
    # queue behind the diagnosis's own earlier handshakes).
    base = min(lv.handshake_min_ms for lv in levels if lv.failures < lv.concurrency)
    slower = (
        last.handshake_p50_ms >= RAMP_GROWTH * max(base, 1.0)
        and last.handshake_p50_ms - base >= RAMP_MIN_EXTRA_MS
    )
    failing = last.failures / last.concurrency > first.failures / first.concurrency + 0.2
    if not (slower or failing):
        return None
    # A server's full queues drop SYNs only at the top level; segments lost already at the low levels
    # mean the path itself loses, and retransmission timers explain the slow handshakes as well.
    lost = sum(lv.retransmits for lv in levels[:-1])
    if lost >= 2:
        return Match(
            0.4,
            cite(facts, levels),
            f"handshakes slowed under load, but {lost} segments were lost or retransmitted before "
            "the load was high: the path's loss may explain the slowdown as well as the server",
        )
    return Match(
        0.85,
        cite(facts, levels),
        f"handshakes slow from {base:.0f} ms unloaded to "
        f"{last.handshake_p50_ms:.0f} ms "
        f"at {last.concurrency} concurrent ({last.failures} failed) while TCP connects stay under "
        f"{FAST_CONNECT_MS:.0f} ms: the server, not the network, is the bottleneck",
    )


def unstable_transport(facts: Facts) -> Match | None:
    """The kernel retransmitted or received out of order on identical connections, or SYNs were retried.

    TCP_INFO shows our own retransmissions (loss on the way out) and segments received out of order
    (a server segment lost on the way in); a connect of about a second is a retransmitted SYN, counted
    on the stability probe's and on --repeat's connections alike.
    """
    stats, repeats = facts.first(PathStats), facts.first(RepeatStats)
    if stats is None:
        return None
    syn = stats.slow_connects + (repeats.slow_connects if repeats else 0)
    # The first probes' own counters (the loss that started the automatic repeat) count as much as its own.
    signs = stats.retransmits + stats.out_of_order + syn + stats.first_signs
    # Failures among connections that finished (stalled handshakes on loss-free connections are the
    # server's slowness and are not counted as failures by the probe).
    finished = stats.attempts - stats.unfinished
    intermittent = 0 < stats.failures < finished
    if finished and stats.failures == finished:
        return None  # every connection failed: consistent, not unstable (the retransmissions are the failure)
    if signs < 2 and not intermittent:
        return None
    confidence = 0.8 if intermittent else min(0.75, 0.5 + 0.05 * signs)
    why = f" (checked because {stats.reasons[0]})" if stats.reasons else ""
    return Match(
        confidence,
        cite(facts, [stats, *([repeats] if repeats and repeats.slow_connects else [])]),
        f"identical connections lost packets: {stats.retransmits} retransmitted segments, "
        f"{stats.out_of_order} received out of order, {syn} SYN retransmissions, "
        f"{stats.failures} of {finished} failed"
        + (f", {stats.first_signs} more lost segments on the first probes" if stats.first_signs else "")
        + why,
    )


def unreproduced(facts: Facts) -> list[Reproduction]:
    """Re-runs of a disagreeing pair that did not end the way the first attempt did."""
    return [r for r in facts.all(Reproduction) if not r.reproduced]


def reproducible(rule: Callable[[Facts], Match | None]) -> Callable[[Facts], Match | None]:
    """A differential rule whose conclusion is capped when the difference it rests on did not reproduce.

    Such rules compare single-shot probes (default vs small MSS, with vs without SNI, large vs small
    hello); a lost packet on a lossy path makes the same picture once, not every time.
    """

    def match(facts: Facts) -> Match | None:
        found = rule(facts)
        flaky = unreproduced(facts)
        if found is None or not flaky:
            return found
        return Match(
            min(found.confidence, UNREPRODUCED_CAP),
            [*found.evidence, *cite(facts, flaky)],
            f"{found.summary}; but the difference did not reproduce on re-runs "
            f"({flaky[0].probe}: {', '.join(flaky[0].outcomes)})",
        )

    match.__name__ = match.__qualname__ = rule.__name__
    match.__doc__ = rule.__doc__
    return match


def intermittent(facts: Facts) -> Match | None:
    """The default handshake failed once and then passed on identical re-runs (or the reverse)."""
    flaky = [r for r in unreproduced(facts) if r.probe == "default"] or unreproduced(facts)
    if not flaky:
        return None
    r = flaky[0]
    passed = sum(o == "ok" for o in r.outcomes)
    return Match(
        0.8,
        cite(facts, flaky),
        f"the {r.probe} handshake ended in {r.first}, then {passed} of {len(r.outcomes)} identical "
        "re-runs passed: the failure is intermittent, not a property of the server or a filter",
    )


def with_trace(facts: Facts, found: Match | None) -> Match | None:
    """A connect failure's match, with the traceroute's last answering hop in its evidence and summary."""
    trace = facts.first(PathTrace)
    if found is None or trace is None or trace.reached:
        return found
    last = trace.last_answer
    where = (
        f"; the last hop that answers is {last.address} (hop {last.ttl}, {last.answer})"
        if last is not None
        else "; no hop on the way answered the traceroute"
    )
    return Match(found.confidence, [*found.evidence, *cite(facts, [trace])], found.summary + where)


def supported_by_mtu(rule: Callable[[Facts], Match | None]) -> Callable[[Facts], Match | None]:
    """path-mtu-blackhole with the UDP path-MTU measurement as supporting evidence.

    Large datagrams lost without ICMP while 1280 bytes get through is the same black hole seen from
    our side: a little more confidence. A router's ICMP "fragmentation needed" is cited as it is: on
    that path the ICMP works, so the stall is elsewhere (or only in the other direction).
    """

    def match(facts: Facts) -> Match | None:
        found, mtu = rule(facts), facts.first(PathMtu)
        if found is None or mtu is None:
            return found
        if mtu.lost_silently:
            return Match(
                min(0.95, found.confidence + 0.03),
                [*found.evidence, *cite(facts, [mtu])],
                f"{found.summary}; UDP probes agree: {min(mtu.lost_silently)}-byte packets vanish "
                f"with no ICMP while {mtu.largest_reached} bytes get through",
            )
        return Match(found.confidence, [*found.evidence, *cite(facts, [mtu])], found.summary)

    match.__name__ = match.__qualname__ = rule.__name__
    match.__doc__ = rule.__doc__
    return match
