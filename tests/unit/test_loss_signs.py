"""The default handshake's timing as a sign of loss (commands/evidence.py): a round trip far longer than
the handshake's shortest, not a handshake slower than a TCP connect that a local proxy, tunnel or relay
may have answered at once."""

from __future__ import annotations

from helpers import hs, tcp

from tlsdoctor.commands.evidence import loss_signs, slow_round_trip
from tlsdoctor.model import CheckResult, Status
from tlsdoctor.observations.tcp import ConnectOutcome
from tlsdoctor.observations.tls import HandshakeAttempt
from tlsdoctor.observations.tls import HandshakeOutcome as H


def default_run(attempt: HandshakeAttempt, connect_ms: float) -> list[CheckResult]:
    connect = tcp(ConnectOutcome.CONNECTED, elapsed_ms=connect_ms, role="target")
    found = (connect, attempt)
    return [CheckResult(id="handshake.default", status=Status.PASS, summary="", observations=found)]


def test_distance_behind_a_locally_answered_connect_is_not_loss() -> None:
    """Two 100 ms round trips behind a relay whose kernel answered the SYN in 0.2 ms: the old sign (a
    handshake over 4 x connect + 150 ms) fired here and cost every healthy run a stability repeat."""
    attempt = hs("default", H.OK, elapsed_ms=218.0, turns_ms=(110.0, 104.0))
    assert slow_round_trip(attempt) is None
    assert loss_signs(default_run(attempt, connect_ms=0.2)) == ()


def test_a_retransmitted_flight_shows_whatever_the_connect_cost() -> None:
    # A lost ClientHello: the first round trip waited for the retransmission timer (200 ms at least).
    lost_hello = hs("default", H.OK, elapsed_ms=420.0, turns_ms=(312.0, 104.0))
    (sign,) = loss_signs(default_run(lost_hello, connect_ms=0.2))
    assert "one round trip" in sign and "312 ms" in sign and "104 ms" in sign
    # A segment lost inside the server's flight: the pause between its chunks, not a round trip.
    lost_segment = hs("default", H.OK, elapsed_ms=430.0, turns_ms=(105.0, 101.0), gap_ms=215.0)
    assert "pause inside the server's flight" in str(slow_round_trip(lost_segment))
    # Our own loop stalled 250 ms during that handshake: it may have made the long round trip itself.
    stalled = hs("default", H.OK, elapsed_ms=420.0, turns_ms=(312.0, 104.0), stalled_ms=250.0)
    assert loss_signs(default_run(stalled, connect_ms=0.2)) == ()
    # Near miss: a server that thinks 120 ms longer on one leg than the other is within the allowance.
    assert slow_round_trip(hs("default", H.OK, turns_ms=(224.0, 104.0))) is None


def test_with_one_round_trip_the_connect_is_the_yardstick() -> None:
    """No second round trip to compare with (a TLS 1.3 server that sends no ticket): the connect."""
    slow = hs("default", H.OK, elapsed_ms=400.0, turns_ms=(400.0,))
    assert loss_signs(default_run(slow, connect_ms=10.0)) == (
        "the default handshake took 400 ms after a 10 ms connect",
    )
    assert loss_signs(default_run(hs("default", H.OK, elapsed_ms=150.0, turns_ms=(150.0,)), 10.0)) == ()
