"""What diagnose's later probes are decided on: predicates over what the earlier probes observed
(signs of loss, connections held unanswered, the probe that answered where the default did not). Pure
reads of check results; the playbook's ``skip_when`` predicates (commands/playbook.py) call them."""

from __future__ import annotations

from tlsdoctor import runner
from tlsdoctor.checks.handshake import handshake_outcomes
from tlsdoctor.context import Context
from tlsdoctor.model import CheckResult
from tlsdoctor.net.route import Route
from tlsdoctor.observations.path import MssProbe
from tlsdoctor.observations.tcp import SLOW_CONNECT_MS, ConnectOutcome, TcpConnect
from tlsdoctor.observations.tls import HandshakeAttempt, HandshakeOutcome


def held_unanswered(ctx: Context, results: list[CheckResult]) -> bool:
    """Most of the automatic repeat's handshakes went unanswered, none lost a segment, in a window more
    than twice as long as the default handshake took: the server holds connections it does not serve (a
    failure symptom, not slowness: a server just slow would have answered them in that time)."""
    from tlsdoctor.checks.ramp import StabilityCheck
    from tlsdoctor.observations.path import PathStats

    default = handshake_outcomes(results).get("default")
    stats = next((o for r in results for o in r.observations if isinstance(o, PathStats)), None)
    if default is None or default.outcome is not HandshakeOutcome.OK or stats is None or not stats.reasons:
        return False
    window = StabilityCheck(Route(address=default.address), reasons=stats.reasons).window(ctx) or 0.0
    return (
        2 * stats.unfinished > stats.attempts
        and not (stats.retransmits or stats.out_of_order or stats.slow_connects)
        and window * 1000 > 2 * default.elapsed_ms
    )


def syn_dropped_after_accept(results: list[CheckResult], address: str) -> bool:
    """Connects to ``address`` succeeded, and later ones (while those were held) went unanswered."""
    tries = [
        o
        for r in results
        for o in r.observations
        if isinstance(o, TcpConnect) and o.role == "target" and o.address == address
    ]
    outcomes = {c.outcome for c in tries}
    return ConnectOutcome.CONNECTED in outcomes and ConnectOutcome.TIMEOUT in outcomes


SLOW_HANDSHAKE_FACTOR = 4  # a handshake costs about two connect round trips; far more is a retransmission
SLOW_HANDSHAKE_EXTRA_MS = 150.0  # Linux retransmits after 200 ms at the soonest (TCP_RTO_MIN)
# Inside one flight the chunks follow each other at once, or one round trip apart when the server's
# congestion window is full; a retransmitted segment arrives a timer later (200 ms at the soonest).
SLOW_GAP_EXTRA_MS = 100.0


def slow_round_trip(attempt: HandshakeAttempt) -> str | None:
    """A round trip of the handshake, or a pause inside a server flight, far longer than its shortest
    round trip: a retransmission timer ran (or the server stalled; the repeat tells them apart).

    The handshake is compared with itself, not with the TCP connect: a local proxy, an SSH tunnel, a
    port-forward or a load balancer answers the connect at once, so a handshake of two 100 ms round
    trips behind one is distance, not loss. With fewer than two round trips there is nothing to
    compare, and the caller falls back on the connect."""
    if len(attempt.turns_ms) < 2:
        return None
    shortest = min(attempt.turns_ms)
    ours = attempt.stalled_ms  # our own loop's stall can lengthen any of them by as much
    if attempt.gap_ms > shortest + SLOW_GAP_EXTRA_MS + ours:
        where, longest = "a pause inside the server's flight", attempt.gap_ms
    elif max(attempt.turns_ms) > shortest + SLOW_HANDSHAKE_EXTRA_MS + ours:
        where, longest = "one round trip", max(attempt.turns_ms)
    else:
        return None
    return (
        f"{where} of the default handshake took {longest:.0f} ms where its shortest round trip "
        f"took {shortest:.0f} ms"
    )


def loss_signs(results: list[CheckResult]) -> tuple[str, ...]:
    """Signs of packet loss in what already ran (issue: instability seen without --repeat).

    Each is cheap to see and points at the path: a connect of about a second (a SYN retransmitted), a
    probe's own TCP_INFO counters (segments retransmitted or received out of order), the default
    handshake with one round trip far slower than its others (or, with one round trip, than its
    connect: a retransmission timer, or a slow server: the repeat tells them apart), failures in the
    concurrency ramp, a failure that did not reproduce on re-runs.
    """
    from tlsdoctor.observations.hello import HelloProbe
    from tlsdoctor.observations.path import RampLevel, Reproduction, SynSample, TcpCounters

    obs = [o for r in results for o in r.observations]
    signs: list[str] = []
    connects = [o for o in obs if isinstance(o, TcpConnect) and o.role == "target"]
    slow = [c for c in connects if c.outcome is ConnectOutcome.CONNECTED and c.elapsed_ms >= SLOW_CONNECT_MS]
    slow_probes = [p for p in obs if isinstance(p, HelloProbe) and p.connect_ms >= SLOW_CONNECT_MS]
    timed_out = [c for c in connects if c.outcome is ConnectOutcome.TIMEOUT]
    tls_answered = any(a.bytes_received for a in handshake_outcomes(results).values())
    if timed_out and tls_answered and any(c.outcome is ConnectOutcome.CONNECTED for c in connects):
        signs.append(f"{len(timed_out)} of {len(connects)} TCP connects timed out while others connected")
    if slow or slow_probes:
        worst = max([c.elapsed_ms for c in slow] + [p.connect_ms for p in slow_probes])
        signs.append(
            f"{len(slow) + len(slow_probes)} TCP connects took up to {worst:.0f} ms (a SYN retransmitted)"
        )
    # Only probes that were answered: retransmissions on a connection whose hello went unanswered are
    # that silence itself (a firewall dropping it), not random loss that TCP recovered from.
    lost = [p for p in obs if isinstance(p, HelloProbe) and p.answered and (p.retransmits or p.reordered)]
    if lost:
        segments = sum(p.retransmits + p.reordered for p in lost)
        signs.append(f"{segments} segments retransmitted or reordered on {len(lost)} hello probes (TCP_INFO)")
    answered = {a.variant for a in handshake_outcomes(results).values() if a.bytes_received}
    counted = [c for c in obs if isinstance(c, TcpCounters) and c.lossy and c.probe in answered]
    if counted:
        segments = sum(c.retransmits + c.reordered for c in counted)
        names = ", ".join(sorted({c.probe for c in counted}))
        signs.append(f"{segments} segments retransmitted or reordered on the {names} handshake (TCP_INFO)")
    default = handshake_outcomes(results).get("default")
    connect = next(
        (
            o.elapsed_ms
            for r in results
            if r.id == "handshake.default"
            for o in r.observations
            if isinstance(o, TcpConnect)
        ),
        None,
    )
    if default is not None and default.outcome is HandshakeOutcome.OK:
        if (slow_turn := slow_round_trip(default)) is not None:
            signs.append(slow_turn)
        elif (
            len(default.turns_ms) < 2
            and connect is not None
            and default.elapsed_ms
            > SLOW_HANDSHAKE_FACTOR * connect + SLOW_HANDSHAKE_EXTRA_MS + default.stalled_ms
        ):
            signs.append(
                f"the default handshake took {default.elapsed_ms:.0f} ms after a {connect:.0f} ms connect"
            )
    syn = [o for o in obs if isinstance(o, SynSample) and o.fast and (o.slow or o.unanswered)]
    if syn:
        retried = syn[0].slow + syn[0].unanswered
        signs.append(f"{retried} of {syn[0].attempts} bare TCP connects needed a SYN retransmission")
    ramp = [lv for lv in obs if isinstance(lv, RampLevel) and lv.failures]
    if ramp:
        signs.append(f"{sum(lv.failures for lv in ramp)} handshakes of the concurrency ramp failed")
    if any(isinstance(o, Reproduction) and not o.reproduced for o in obs):
        signs.append("a failure did not reproduce on identical re-runs")
    return tuple(signs)


def first_loss_events(results: list[CheckResult]) -> int:
    """Loss events the first probes' own kernel counters showed, on connections that were answered: each
    is a lost segment as surely as one the automatic repeat counts (a silent connection's retransmissions
    are its silence, not evidence of random loss)."""
    from tlsdoctor.observations.hello import HelloProbe
    from tlsdoctor.observations.path import SynSample, TcpCounters

    obs = [o for r in results for o in r.observations]
    answered = {a.variant for a in handshake_outcomes(results).values() if a.bytes_received}
    events = sum(
        c.retransmits + c.reordered for c in obs if isinstance(c, TcpCounters) and c.probe in answered
    )
    events += sum(p.retransmits + p.reordered for p in obs if isinstance(p, HelloProbe) and p.answered)
    events += sum(s.slow + s.unanswered for s in obs if isinstance(s, SynSample) and s.fast)
    # A connect of about a second is a retransmitted SYN; where the connection's counters were read,
    # they already include it.
    slow = [
        o
        for r in results
        if not any(isinstance(c, TcpCounters) for c in r.observations)
        for o in r.observations
        if isinstance(o, TcpConnect) and o.role == "target" and o.elapsed_ms >= SLOW_CONNECT_MS
    ]
    return events + sum(c.outcome is ConnectOutcome.CONNECTED for c in slow)


def auto_stability(route: Route, signs: tuple[str, ...], results: list[CheckResult]) -> runner.Check:
    """The short, bounded repeat diagnose runs on its own when it saw signs of loss (checks/ramp.py).

    When the only sign is a slow handshake (no segment lost, no SYN retried), the likelier story is a slow
    server (a big key, an HSM): a few connections, two at a time, tell loss from slowness without leaving
    it a queue of handshakes to work through after we are gone (a slow server serves a handshake whether
    or not we still wait for it, and the next diagnosis would meet that queue).
    """
    from tlsdoctor.checks.ramp import (
        AUTO_CONCURRENCY,
        AUTO_COUNT,
        SLOW_ONLY_CONCURRENCY,
        SLOW_ONLY_COUNT,
        StabilityCheck,
    )

    events = first_loss_events(results)
    slow_only = events == 0 and len(signs) == 1
    return StabilityCheck(
        route,
        count=SLOW_ONLY_COUNT if slow_only else AUTO_COUNT,
        reasons=signs,
        concurrency=SLOW_ONLY_CONCURRENCY if slow_only else AUTO_CONCURRENCY,
        first_signs=events,
        slow_only=slow_only,
    )


def first_connect(results: list[CheckResult]) -> str | None:
    """How the default handshake's own connect failed ("connect-timeout"), when it never got to a hello."""
    return next(
        (
            f"connect-{o.outcome.value}"
            for r in results
            if r.id == "handshake.default"
            for o in r.observations
            if isinstance(o, TcpConnect)
        ),
        None,
    )


def early_pair(results: list[CheckResult]) -> tuple[str, str] | None:
    """The small-MSS probe that answered, as the confirmation pair's other side."""
    from tlsdoctor.checks.confirm import answering_probe

    mss = [o for r in results for o in r.observations if isinstance(o, MssProbe)]
    return answering_probe({}, mss) if mss else None
