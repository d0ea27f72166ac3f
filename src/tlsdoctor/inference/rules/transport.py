"""Rules for the TCP, IP, proxy and client-resource layers."""

from __future__ import annotations

from tlsdoctor.inference.causes import CauseId
from tlsdoctor.inference.facts import Facts
from tlsdoctor.inference.rules.base import Match, Rule
from tlsdoctor.inference.rules.helpers import any_ok, cite, connects
from tlsdoctor.inference.rules.path import intermittent, unstable_transport, with_trace
from tlsdoctor.observations.tcp import ConnectOutcome, ProxyTunnel, TcpConnect, TunnelOutcome
from tlsdoctor.observations.tls import HandshakeOutcome, RepeatStats


def _connect_outcome(
    facts: Facts, outcomes: tuple[ConnectOutcome, ...], cause_all: float, cause_some: float, what: str
) -> Match | None:
    """Connects ending in ``outcomes``: decisive when every target address did, weaker when some did."""
    tries = connects(facts)
    bad = [c for c in tries if c.outcome in outcomes]
    if not bad:
        return None
    # With a proxy in effect the direct connect is a side probe (proxy-required), not the path in use.
    if len(bad) == len(tries) and not any_ok(facts) and not facts.all(ProxyTunnel):
        return Match(cause_all, cite(facts, bad), f"{what} on every address tried")
    return Match(cause_some, cite(facts, bad), f"{what}: {tally(bad, tries)}")


def tally(bad: list[TcpConnect], tries: list[TcpConnect]) -> str:
    """How many of the connects failed, and to how many addresses: one address tried ten times is not
    ten addresses."""
    addresses = {c.address for c in tries}
    bad_addresses = {c.address for c in bad}
    attempts = f"{len(bad)} of {len(tries)} connects"
    if len(addresses) == 1:
        return f"{attempts} to {next(iter(addresses))}"
    return f"{attempts}, to {len(bad_addresses)} of {len(addresses)} addresses"


def tcp_refused(facts: Facts) -> Match | None:
    """Every SYN answered by RST: nothing listens (or a firewall rejects with a reset)."""
    return _connect_outcome(facts, (ConnectOutcome.REFUSED,), 0.95, 0.35, "connection refused")


def tcp_timeout(facts: Facts) -> Match | None:
    """SYNs never answered before the deadline; the traceroute says after which hop they vanish."""
    return with_trace(
        facts, _connect_outcome(facts, (ConnectOutcome.TIMEOUT,), 0.85, 0.35, "TCP connect timed out")
    )


def host_unreachable(facts: Facts) -> Match | None:
    """No route, or an ICMP unreachable came back (naming the router that sent it, via IP_RECVERR)."""
    found = _connect_outcome(
        facts,
        (ConnectOutcome.HOST_UNREACHABLE, ConnectOutcome.NET_UNREACHABLE),
        0.9,
        0.35,
        "host or network unreachable",
    )
    said = next((c for c in connects(facts) if c.icmp_from), None)
    if found is not None and said is not None:
        found = Match(
            found.confidence, found.evidence, f"{found.summary}: {said.icmp_from} answered ICMP {said.icmp}"
        )
    return with_trace(facts, found)


_TUNNEL_CONFIDENCE = {
    TunnelOutcome.AUTH_REQUIRED: (0.95, "the proxy demands authentication (407)"),
    TunnelOutcome.DENIED: (0.9, "the proxy refused the CONNECT"),
    TunnelOutcome.CLOSED: (0.85, "the proxy closed the connection without answering the CONNECT"),
    TunnelOutcome.NOT_HTTP: (0.85, "the proxy did not answer in HTTP (wrong scheme or port?)"),
    TunnelOutcome.PLAIN_PROXY: (
        0.9,
        "the proxy URL says https:// but the proxy speaks plain HTTP: use http://",
    ),
    TunnelOutcome.PROXY_TLS_FAILED: (0.85, "TLS to the https:// proxy itself failed"),
    TunnelOutcome.TIMEOUT: (0.7, "the proxy never answered the CONNECT"),
    TunnelOutcome.CONNECT_FAILED: (0.85, "the proxy itself cannot be reached"),
    TunnelOutcome.UPSTREAM_FAILED: (0.6, "the proxy could not reach the target (502/503/504)"),
}


def proxy_error(facts: Facts) -> Match | None:
    """The CONNECT tunnel failed at the proxy; or it opened and then broke the handshake."""
    tunnels = facts.all(ProxyTunnel)
    failed = [t for t in tunnels if t.outcome is not TunnelOutcome.ESTABLISHED]
    if failed:
        confidence, summary = _TUNNEL_CONFIDENCE[failed[0].outcome]
        return Match(confidence, cite(facts, failed), summary)
    return None


def proxy_required(facts: Facts) -> Match | None:
    """Direct connects fail while the proxy tunnel works: a client that ignores the proxy fails."""
    tunnels = [t for t in facts.all(ProxyTunnel) if t.outcome is TunnelOutcome.ESTABLISHED]
    direct = connects(facts)
    failed = (
        ConnectOutcome.TIMEOUT,
        ConnectOutcome.REFUSED,
        ConnectOutcome.HOST_UNREACHABLE,
        ConnectOutcome.NET_UNREACHABLE,
    )
    blocked = [c for c in direct if c.outcome in failed]
    if tunnels and direct and len(blocked) == len(direct):
        # Strong when the handshake through the tunnel also completed: the proxied path fully works.
        return Match(
            0.85 if any_ok(facts) else 0.7,
            cite(facts, [*blocked, tunnels[0]]),
            "direct connections fail but the proxy tunnel works: the failing client must use the proxy",
        )
    return None


def _repeats_intermittent(facts: Facts) -> Match | None:
    stats = facts.first(RepeatStats)
    if stats is None or stats.failures == 0 or stats.failures == stats.attempts:
        return None
    rate = stats.failures / stats.attempts
    return Match(
        min(0.85, 0.5 + rate),
        cite(facts, [stats]),
        f"{stats.failures} of {stats.attempts} identical handshakes failed",
    )


def network_unstable(facts: Facts) -> Match | None:
    """The same handshake fails only sometimes, or the kernel had to retransmit.

    Independent signs (repeats failing sometimes, a failure that did not reproduce, retransmissions
    counted by TCP_INFO) combine as a noisy-OR: each alone is suggestive, together they are strong.
    """
    found = [m for m in (intermittent(facts), _repeats_intermittent(facts), unstable_transport(facts)) if m]
    if not found:
        return None
    doubt = 1.0
    for m in found:
        doubt *= 1.0 - m.confidence
    best = max(found, key=lambda m: m.confidence)
    return Match(min(0.9, 1.0 - doubt), [e for m in found for e in m.evidence], best.summary)


RULES = (
    Rule(CauseId.TCP_REFUSED, tcp_refused),
    Rule(CauseId.TCP_TIMEOUT, tcp_timeout),
    Rule(CauseId.HOST_UNREACHABLE, host_unreachable),
    Rule(CauseId.NETWORK_UNSTABLE, network_unstable),
    Rule(CauseId.PROXY_REQUIRED, proxy_required),
    Rule(CauseId.PROXY_ERROR, proxy_error),
)

__all__ = ["RULES", "HandshakeOutcome"]
