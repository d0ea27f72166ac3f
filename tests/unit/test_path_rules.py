"""The path probes' evidence in the rules: a positive and a near miss for each use.

ResetOrigin (firewall-reset / server-closed), MssProbe (path-mtu-blackhole / firewall-drop), RampLevel
(server-overloaded), PathStats and Reproduction (network-unstable and the differential rules), PathMtu
(path-mtu-blackhole), PathTrace and the ICMP offender (tcp-timeout / host-unreachable), ProxyTunnel with
direct connects (proxy-required).
"""

from __future__ import annotations

from collections.abc import Callable

from helpers import every, facts, hs, tcp

from tlsdoctor.inference.causes import CauseId
from tlsdoctor.inference.facts import Facts
from tlsdoctor.inference.rules import Match, tls, transport
from tlsdoctor.observations.path import (
    MssProbe,
    PathMtu,
    PathStats,
    PathTrace,
    RampLevel,
    Reproduction,
    ResetOrigin,
    SynRetest,
    TraceHop,
)
from tlsdoctor.observations.tcp import ConnectOutcome as C
from tlsdoctor.observations.tcp import ProxyTunnel, TunnelOutcome
from tlsdoctor.observations.tls import HandshakeOutcome as H
from tlsdoctor.observations.tls import RepeatStats

ROUTER = "198.18.1.1"


def rule(cause: CauseId) -> Callable[[Facts], Match | None]:
    """The rule as the engine runs it (with its decorators: reproducible, supported_by_mtu)."""
    return next(r.match for r in tls.RULES + transport.RULES if r.cause is cause)


def origin(verdict: str) -> ResetOrigin:
    rst_ttl = 64 if verdict == "injected" else 63
    return ResetOrigin(
        address="198.18.2.2",
        port=443,
        verdict=verdict,
        method="capture",
        syn_ack_ttl=63,
        rst_ttl=rst_ttl,
        syn_ack_ip_id=0,
        rst_ip_id=0,
        rst_after_ms=1.0,
    )


def mss(size: int, outcome: str) -> MssProbe:
    return MssProbe(address="198.18.2.2", port=443, mss=size, outcome=outcome, bytes_received=5524)


def level(
    n: int, p50: float, *, minimum: float = 30.0, failures: int = 0, connect: float = 2.0, lost: int = 0
) -> RampLevel:
    return RampLevel(
        concurrency=n,
        failures=failures,
        connect_p50_ms=connect,
        handshake_p50_ms=p50,
        handshake_max_ms=p50 * 1.5,
        handshake_min_ms=minimum,
        retransmits=lost,
    )


def stats(retransmits: int = 0, slow: int = 0, failures: int = 0, ooo: int = 0) -> PathStats:
    return PathStats(
        attempts=8,
        failures=failures,
        retransmits=retransmits,
        slow_connects=slow,
        rtt_ms_min=0.1,
        rtt_ms_max=5.0,
        out_of_order=ooo,
    )


# ---- ResetOrigin
def test_firewall_reset_injected_rst_by_ttl() -> None:
    m = tls.firewall_reset(facts(origin("injected"), *every(H.RESET)))
    assert m is not None and m.confidence >= 0.85 and "TTL (64)" in m.summary


def test_firewall_reset_near_miss_servers_own_ttl() -> None:
    m = tls.firewall_reset(facts(origin("server"), *every(H.RESET)))
    assert m is not None and m.confidence < 0.5


def test_server_closed_reset_with_servers_ttl() -> None:
    m = tls.server_closed(facts(origin("server"), *every(H.RESET)))
    assert m is not None and m.confidence >= 0.75 and "server itself" in m.summary


def test_server_closed_near_miss_injected_reset() -> None:
    m = tls.server_closed(facts(origin("injected"), *every(H.RESET)))
    assert m is None or m.confidence < 0.5


# ---- MssProbe
def test_path_mtu_blackhole_default_stalls_small_mss_passes() -> None:
    m = tls.path_mtu_blackhole(facts(*every(H.TIMEOUT), mss(1200, "ok"), mss(536, "ok")))
    assert m is not None and m.confidence >= 0.9 and "MSS 1200" in m.summary


def test_path_mtu_blackhole_near_miss_small_mss_also_stalls() -> None:
    m = tls.path_mtu_blackhole(facts(*every(H.TIMEOUT), mss(1200, "timeout"), mss(536, "timeout")))
    assert m is None or m.confidence < 0.6


def test_firewall_drop_small_mss_stalls_too() -> None:
    m = tls.firewall_drop(facts(*every(H.TIMEOUT), mss(1200, "timeout")))
    assert m is not None and m.confidence >= 0.8 and "small MSS" in m.summary


def test_firewall_drop_near_miss_small_mss_passes() -> None:
    assert tls.firewall_drop(facts(*every(H.TIMEOUT), mss(1200, "ok"))) is None


# ---- RampLevel
def test_server_overloaded_latency_grows_with_load() -> None:
    m = tls.server_overloaded(facts(level(1, 40), level(4, 150), level(16, 600)))
    assert m is not None and m.confidence >= 0.8


def test_server_overloaded_near_miss_flat_latency() -> None:
    assert tls.server_overloaded(facts(level(1, 40), level(4, 42), level(16, 45))) is None


def test_server_overloaded_near_miss_slow_connects_are_the_network() -> None:
    assert tls.server_overloaded(facts(level(1, 40, connect=300), level(16, 600, connect=300))) is None


def test_server_overloaded_downgraded_when_the_path_lost_segments_unloaded() -> None:
    m = tls.server_overloaded(facts(level(1, 40, lost=1), level(4, 150, lost=2), level(16, 600)))
    assert m is not None and m.confidence < 0.5 and "lost" in m.summary


# ---- accepted connects, then unanswered SYNs (a full listen backlog), SynRetest
def backlog(*extra: object) -> Facts:
    """Two connects accepted and never answered, then three SYNs unanswered: one address, five tries."""
    held = [tcp(C.CONNECTED, elapsed_ms=0.3) for _ in range(2)]
    dropped = [tcp(C.TIMEOUT, elapsed_ms=5000.0) for _ in range(3)]
    return facts(*held, *dropped, hs("default", H.TIMEOUT), *extra)  # type: ignore[arg-type]


def test_server_overloaded_backlog_full_after_release() -> None:
    retest = SynRetest(address="198.18.0.10", port=443, answered=False, elapsed_ms=2000.0)
    m = tls.server_overloaded(backlog(retest))
    assert m is not None and m.confidence >= 0.9 and "listen backlog is full" in m.summary
    assert "accepted 2 TCP connections" in m.summary and "3 later SYNs" in m.summary
    # It outranks the firewall-drop reading of the same silence (TCP connected, no hello answered).
    drop = tls.firewall_drop(backlog(retest))
    assert drop is None or drop.confidence < m.confidence


def test_server_overloaded_near_miss_every_syn_answered_is_a_firewall() -> None:
    """A firewall dropping ClientHellos: every connect completes, every hello is unanswered."""
    answered = [tcp(C.CONNECTED, elapsed_ms=0.3) for _ in range(5)]
    assert tls.server_overloaded(facts(*answered, hs("default", H.TIMEOUT))) is None


def test_server_overloaded_near_miss_an_answer_came_back() -> None:
    assert tls.server_overloaded(backlog(hs("no-verify", H.OK))) is None


def test_connect_counts_name_attempts_to_one_address_not_addresses() -> None:
    m = transport.tcp_timeout(backlog())
    assert m is not None and "3 of 5 connects to 198.18.0.10" in m.summary and "addresses" not in m.summary


def test_connect_counts_with_several_addresses() -> None:
    tries = [tcp(C.TIMEOUT, "198.18.0.10"), tcp(C.TIMEOUT, "198.18.0.10"), tcp(C.CONNECTED, "198.18.0.11")]
    m = transport.tcp_timeout(facts(*tries))
    assert m is not None and "2 of 3 connects, to 1 of 2 addresses" in m.summary


# ---- PathStats, Reproduction, RepeatStats
def test_network_unstable_retransmissions() -> None:
    m = transport.network_unstable(facts(stats(retransmits=3, slow=1, ooo=1)))
    assert m is not None and m.confidence >= 0.6


def test_network_unstable_near_miss_clean_counters() -> None:
    assert transport.network_unstable(facts(stats())) is None


def test_network_unstable_near_miss_stalled_handshakes_are_a_slow_server() -> None:
    """A slow server: handshakes that timed out on loss-free connections are not the path's failures."""
    slow = PathStats(
        attempts=8, failures=0, retransmits=0, slow_connects=0, rtt_ms_min=0.1, rtt_ms_max=0.2, stalled=4
    )
    assert transport.network_unstable(facts(slow)) is None


def test_network_unstable_near_miss_every_connection_failed() -> None:
    """Every handshake failed (a firewall dropping them): the retransmissions are the failure itself."""
    dropped = PathStats(
        attempts=8, failures=8, retransmits=24, slow_connects=0, rtt_ms_min=0.1, rtt_ms_max=0.2, lossy=8
    )
    assert transport.network_unstable(facts(dropped)) is None


def test_network_unstable_syn_retransmissions_seen_by_repeats() -> None:
    repeats = RepeatStats(
        attempts=20, failures=0, outcomes=(("ok", 20),), p50_ms=30, p90_ms=230, max_ms=900, slow_connects=4
    )
    m = transport.network_unstable(facts(stats(), repeats))
    assert m is not None and "4 SYN retransmissions" in m.summary


def test_network_unstable_failure_that_did_not_reproduce() -> None:
    flaky = Reproduction(probe="default", first="timeout", outcomes=("ok", "ok", "timeout"))
    m = transport.network_unstable(facts(flaky))
    assert m is not None and m.confidence >= 0.8 and "2 of 3" in m.summary


def test_network_unstable_near_miss_failure_reproduced() -> None:
    held = Reproduction(probe="default", first="timeout", outcomes=("timeout",) * 3)
    assert transport.network_unstable(facts(held)) is None


def test_differential_rule_capped_when_not_reproduced() -> None:
    blackhole = rule(CauseId.PATH_MTU_BLACKHOLE)
    base = [*every(H.TIMEOUT), mss(1200, "ok")]
    held = Reproduction(probe="default", first="timeout", outcomes=("timeout",) * 3)
    flaky = Reproduction(probe="default", first="timeout", outcomes=("ok", "timeout", "ok"))
    sure, capped = blackhole(facts(*base, held)), blackhole(facts(*base, flaky))
    assert sure is not None and sure.confidence >= 0.9
    assert capped is not None and capped.confidence <= 0.3 and "did not reproduce" in capped.summary


def test_sni_filtered_capped_when_the_answer_does_not_reproduce() -> None:
    flaky = Reproduction(probe="no-sni", first="ok", outcomes=("ok", "timeout", "ok"))
    m = rule(CauseId.SNI_FILTERED)(facts(hs("default", H.RESET), hs("no-sni", H.OK), flaky))
    assert m is not None and m.confidence <= 0.3


# ---- PathMtu
def _mtu(*sizes: tuple[int, str, str], icmp_mtu: int | None = None) -> PathMtu:
    return PathMtu(
        address="198.18.2.2",
        route_mtu=1500,
        sizes=sizes,
        icmp_mtu=icmp_mtu,
        icmp_from=ROUTER if icmp_mtu else None,
    )


def test_path_mtu_blackhole_supported_by_udp_probe() -> None:
    hole = _mtu((1500, "no answer", ""), (1280, "reached", "198.18.2.2"))
    m = rule(CauseId.PATH_MTU_BLACKHOLE)(facts(*every(H.TIMEOUT), mss(1200, "ok"), hole))
    assert m is not None and m.confidence >= 0.94 and "vanish with no ICMP" in m.summary
    assert any(e.observation.startswith("UDP packets of 1500+ bytes") for e in m.evidence)


def test_path_mtu_near_miss_icmp_gets_through() -> None:
    told = _mtu((1500, "too big", ROUTER), (1280, "reached", "198.18.2.2"), icmp_mtu=1280)
    assert not told.lost_silently and "is 1280" in told.describe()
    m = rule(CauseId.PATH_MTU_BLACKHOLE)(facts(*every(H.TIMEOUT), mss(1200, "ok"), told))
    assert m is not None and m.confidence == 0.92


# ---- PathTrace and the ICMP offender
def _trace(*hops: TraceHop) -> PathTrace:
    return PathTrace(address="198.18.2.2", port=443, hops=hops)


def test_tcp_timeout_names_the_last_hop_that_answers() -> None:
    trace = _trace(
        TraceHop(ttl=1, answer="time exceeded", address=ROUTER), TraceHop(ttl=2, answer="no answer")
    )
    m = transport.tcp_timeout(facts(tcp(C.TIMEOUT), trace))
    assert m is not None and f"last hop that answers is {ROUTER} (hop 1" in m.summary
    assert any("traceroute" in e.observation for e in m.evidence)


def test_tcp_timeout_near_miss_trace_reached_the_target() -> None:
    trace = _trace(
        TraceHop(ttl=1, answer="time exceeded", address=ROUTER),
        TraceHop(ttl=2, answer="syn-ack", address="198.18.2.2"),
    )
    m = transport.tcp_timeout(facts(tcp(C.TIMEOUT), trace))
    assert m is not None and "last hop" not in m.summary


def test_host_unreachable_names_the_router() -> None:
    said = tcp(C.HOST_UNREACHABLE, errno_name="EHOSTUNREACH", icmp="host unreachable", icmp_from=ROUTER)
    m = transport.host_unreachable(facts(said))
    assert m is not None and f"{ROUTER} answered ICMP host unreachable" in m.summary
    assert f"ICMP host unreachable from {ROUTER}" in m.evidence[0].observation


def test_host_unreachable_near_miss_no_icmp_read() -> None:
    m = transport.host_unreachable(facts(tcp(C.HOST_UNREACHABLE)))
    assert m is not None and "answered ICMP" not in m.summary


# ---- proxy-required
def _tunnel(outcome: TunnelOutcome) -> ProxyTunnel:
    return ProxyTunnel(proxy="http://198.18.1.1:3128", target="198.18.2.2:443", outcome=outcome, status=200)


def test_proxy_required_direct_refused_proxy_and_handshake_work() -> None:
    tunnel = _tunnel(TunnelOutcome.ESTABLISHED)
    m = transport.proxy_required(facts(tcp(C.REFUSED), tunnel, hs("default", H.OK)))
    assert m is not None and m.confidence >= 0.85


def test_proxy_required_near_miss_tunnel_refused() -> None:
    assert transport.proxy_required(facts(tcp(C.REFUSED), _tunnel(TunnelOutcome.DENIED))) is None


# ---- the verdict never says healthy beside failed handshakes of its own probes
def test_no_healthy_verdict_beside_a_ramp_with_failures() -> None:
    from tlsdoctor.inference import engine
    from tlsdoctor.model import CheckResult, Status, Verdict

    ok = CheckResult(
        id="handshake.default", status=Status.PASS, summary="ok", observations=(hs("default", H.OK),)
    )
    flat = (
        level(1, 40),
        level(4, 41),
        level(16, 42, failures=2),
    )  # failures, but no growth: no rule names it
    ramp = CheckResult(id="server.ramp", status=Status.WARN, summary="", observations=flat)
    verdict, causes = engine.diagnose([ok, ramp])
    assert verdict is not Verdict.HEALTHY and (not causes or causes[0].id != "healthy")


def test_healthy_near_miss_a_ramp_without_failures() -> None:
    from tlsdoctor.inference import engine
    from tlsdoctor.model import CheckResult, Status, Verdict

    ok = CheckResult(
        id="handshake.default", status=Status.PASS, summary="ok", observations=(hs("default", H.OK),)
    )
    ramp = CheckResult(
        id="server.ramp", status=Status.PASS, summary="", observations=(level(1, 40), level(4, 41))
    )
    assert engine.diagnose([ok, ramp])[0] is Verdict.HEALTHY
