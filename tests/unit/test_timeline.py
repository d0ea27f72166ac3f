"""The critical path (tlsdoctor.timeline): the chain of checks each released by the one before it, ending
with the last check to end; round trips read from what each check observed; and how the JSON shows it."""

from __future__ import annotations

from tlsdoctor.model import CheckResult, PathStep, Report, Status, Verdict
from tlsdoctor.observations.hello import HelloEnd, HelloProbe
from tlsdoctor.observations.path import PathStats
from tlsdoctor.observations.tcp import ConnectOutcome, TcpConnect
from tlsdoctor.observations.tls import HandshakeAttempt, HandshakeOutcome
from tlsdoctor.report.envelope import envelope
from tlsdoctor.timeline import critical_path, handshake_round_trips, round_trips


def check(id: str, started: float, took: float, waited_for: str | None = None, *obs: object) -> CheckResult:
    return CheckResult(
        id=id,
        status=Status.PASS,
        summary="",
        started_ms=started,
        duration_ms=took,
        waited_for=waited_for,
        observations=tuple(obs),  # type: ignore[arg-type]
    )


def attempt(
    outcome: HandshakeOutcome, version: str | None = None, after: str | None = None
) -> HandshakeAttempt:
    return HandshakeAttempt(
        variant="default",
        address="198.18.0.10",
        port=443,
        servername="example.test",
        outcome=outcome,
        version=version,
        after=after,
    )


CONNECTED = TcpConnect(address="198.18.0.10", port=443, family="ipv4", outcome=ConnectOutcome.CONNECTED)


def test_path_follows_what_released_each_check_back_from_the_last_to_end() -> None:
    results = [
        check("dns", 0, 10),
        check("tcp", 10, 100, "dns"),
        check("handshake.default", 10, 300, "dns"),
        check("hello.size", 12, 150, "dns"),  # beside the default, ended earlier: not on the path
        check("certificate", 310, 20, "handshake.default"),
        check("clock", 330, 0, "certificate"),
    ]
    path = critical_path(results)
    assert [s.check for s in path] == ["dns", "handshake.default", "certificate", "clock"]
    assert path[0].waited_for is None and path[-1].waited_for == "certificate"


def test_a_releaser_that_ended_after_the_check_started_is_not_its_releaser() -> None:
    # Same id twice (one per address): the one that had ended when the dependent started released it.
    results = [
        check("tcp.x", 0, 50),
        check("tcp.x", 0, 400),
        check("handshake.default", 51, 449, "tcp.x"),
    ]
    path = critical_path(results)
    assert [(s.check, s.duration_ms) for s in path] == [("tcp.x", 50), ("handshake.default", 449)]


def test_no_timed_checks_no_path() -> None:
    assert critical_path([CheckResult(id="a", status=Status.PASS, summary="")]) == ()


def test_round_trips_read_from_the_observations() -> None:
    assert handshake_round_trips(attempt(HandshakeOutcome.OK, "TLSv1.3")) == 2  # flight, then the ticket
    assert handshake_round_trips(attempt(HandshakeOutcome.OK, "TLSv1.2")) == 2
    assert handshake_round_trips(attempt(HandshakeOutcome.OK, "TLSv1.3", after="http 200")) == 3
    assert handshake_round_trips(attempt(HandshakeOutcome.ALERT)) == 1
    assert handshake_round_trips(attempt(HandshakeOutcome.ALERT, "TLSv1.3")) == 2  # refused after Finished
    # connect, then the handshake on that connection
    assert round_trips(check("h", 0, 1, None, CONNECTED, attempt(HandshakeOutcome.OK, "TLSv1.2"))) == 3
    # two hello probes side by side, each its own connect and one answer
    probe = HelloProbe(
        probe="modern",
        shape="modern",
        address="198.18.0.10",
        port=443,
        sni=None,
        sni_role="target",
        hello_bytes=517,
        end=HelloEnd.SERVER_HELLO,
        connect_ms=3.0,
    )
    assert round_trips(check("hello.size", 0, 1, None, probe, probe)) == 2
    assert round_trips(check("certificate", 0, 1)) == 0
    # A repeat's totals say nothing of how its round trips were spent: unknown, not zero.
    stats = PathStats(attempts=4, failures=0, retransmits=0, slow_connects=0, rtt_ms_min=1.0, rtt_ms_max=2.0)
    assert round_trips(check("path.stability", 0, 1, None, stats)) is None
    assert critical_path([check("path.stability", 0, 1, None, stats)])[0].round_trips is None


def test_json_shows_started_ms_and_the_critical_path() -> None:
    results = [check("dns", 0, 10), check("handshake.default", 10, 200, "dns", CONNECTED)]
    report = Report(
        command="diagnose",
        target=None,
        verdict=Verdict.HEALTHY,
        causes=(),
        checks=tuple(results),
        duration_ms=215,
        critical_path=critical_path(results),
    )
    data = envelope(report)
    assert [c["started_ms"] for c in data["checks"]] == [0, 10]
    assert data["critical_path"] == {
        "steps": [
            {"check": "dns", "started_ms": 0, "duration_ms": 10, "waited_for": None, "round_trips": 0},
            {"check": "handshake.default", "started_ms": 10, "duration_ms": 200, "waited_for": "dns",
             "round_trips": 1},
        ],
        "round_trips": 1,
    }  # fmt: skip
    untimed = Report(
        command="explain", target=None, verdict=Verdict.HEALTHY, causes=(), checks=(), duration_ms=1
    )
    assert "critical_path" not in envelope(untimed)
    assert isinstance(PathStep(check="a", started_ms=0, duration_ms=0, waited_for=None), PathStep)
