"""TCP, proxy and client-resource rules: a positive and a near miss for each."""

from __future__ import annotations

from helpers import facts, hs, tcp

from tlsdoctor.inference.rules import transport
from tlsdoctor.observations.tcp import ConnectOutcome as C
from tlsdoctor.observations.tcp import ProxyTunnel, TunnelOutcome
from tlsdoctor.observations.tls import HandshakeOutcome as H
from tlsdoctor.observations.tls import RepeatStats


def test_tcp_refused_all_addresses() -> None:
    m = transport.tcp_refused(facts(tcp(C.REFUSED), tcp(C.REFUSED, "2001:2::1")))
    assert m is not None and m.confidence >= 0.9


def test_tcp_refused_near_miss_one_address_works() -> None:
    m = transport.tcp_refused(facts(tcp(C.REFUSED, "2001:2::1"), tcp(C.CONNECTED), hs("default", H.OK)))
    assert m is not None and m.confidence < 0.5


def test_tcp_timeout() -> None:
    assert transport.tcp_timeout(facts(tcp(C.TIMEOUT))) is not None
    assert transport.tcp_timeout(facts(tcp(C.REFUSED))) is None


def test_host_unreachable() -> None:
    assert transport.host_unreachable(facts(tcp(C.NET_UNREACHABLE))) is not None
    assert transport.host_unreachable(facts(tcp(C.TIMEOUT))) is None


def _tunnel(outcome: TunnelOutcome, status: int | None = None) -> ProxyTunnel:
    return ProxyTunnel(
        proxy="http://198.18.0.1:3128", target="example.test:443", outcome=outcome, status=status
    )


def test_proxy_error_on_407() -> None:
    m = transport.proxy_error(facts(_tunnel(TunnelOutcome.AUTH_REQUIRED, 407)))
    assert m is not None and m.confidence >= 0.9 and "407" in m.summary


def test_proxy_error_near_miss_tunnel_established() -> None:
    assert transport.proxy_error(facts(_tunnel(TunnelOutcome.ESTABLISHED, 200))) is None


def test_proxy_required_direct_blocked_tunnel_works() -> None:
    m = transport.proxy_required(facts(tcp(C.TIMEOUT), _tunnel(TunnelOutcome.ESTABLISHED, 200)))
    assert m is not None


def test_proxy_required_near_miss_direct_works_too() -> None:
    assert transport.proxy_required(facts(tcp(C.CONNECTED), _tunnel(TunnelOutcome.ESTABLISHED, 200))) is None


def _stats(failures: int, attempts: int = 20) -> RepeatStats:
    return RepeatStats(
        attempts=attempts,
        failures=failures,
        outcomes=(("ok", attempts - failures), ("reset", failures)),
        p50_ms=20,
        p90_ms=30,
        max_ms=40,
    )


def test_network_unstable_intermittent() -> None:
    assert transport.network_unstable(facts(_stats(3))) is not None


def test_network_unstable_near_miss_consistent_failure() -> None:
    assert transport.network_unstable(facts(_stats(20))) is None
    assert transport.network_unstable(facts(_stats(0))) is None
