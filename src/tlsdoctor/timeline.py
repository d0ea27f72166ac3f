"""A run's critical path: which chain of checks decided how long it took, in milliseconds and round trips.

The runner stamps each check with when it started (``started_ms``, from the run's start) and the check
whose end released it (``waited_for``: the playbook's declared dependency that finished last). Walking
back from the check that ended last along ``waited_for`` gives the chain that no concurrency could have
shortened; its round trips are what a long path multiplies. Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Sequence

from tlsdoctor.model import CheckResult, PathStep
from tlsdoctor.observations.cert import CertificateInfo, CertificateProblem, ChainValidation, TrustStoreInfo
from tlsdoctor.observations.hello import HelloProbe
from tlsdoctor.observations.path import LoopStall, SynSample, TcpCounters
from tlsdoctor.observations.tcp import ConnectOutcome, TcpConnect
from tlsdoctor.observations.tls import HandshakeAttempt, HandshakeOutcome, PeerChain

# A dependency counts as the releaser if it ended at most this long after the dependent started (the
# event loop hands over in well under a millisecond; rounding of the stamps is far below this).
_SLACK_MS = 1.0


def handshake_round_trips(attempt: HandshakeAttempt) -> int:
    """Round trips a handshake spent after its connect. A full TLS 1.2 (or older) handshake takes two
    (RFC 5246 §7.3). TLS 1.3 takes one (RFC 8446 §2), and one more while the client listens after its
    Finished for the server's answer to it (a session ticket, or the alert of a server that rejects it
    only then: net/tls.py). A failed handshake: the exchange that ended it. Plus one when a request went
    out afterwards and was answered (``after``)."""
    if attempt.outcome is HandshakeOutcome.OK:
        return 2 + (1 if attempt.after else 0)
    refused_late = attempt.outcome in (HandshakeOutcome.ALERT, HandshakeOutcome.EOF)
    if refused_late and attempt.version == "TLSv1.3":  # completed on our side, refused after our Finished
        return 2
    return 1


# What a check observed without a network exchange: its round trips are none.
# (A chain received and a connection's TCP_INFO counters come with the handshake that carried them.)
_LOCAL = (
    CertificateInfo,
    CertificateProblem,
    ChainValidation,
    TrustStoreInfo,
    LoopStall,
    PeerChain,
    TcpCounters,
)


def round_trips(result: CheckResult) -> int | None:
    """Round trips to the target one check spent in sequence, read from what it observed: its connect,
    then the longest exchange on one connection (its connections run side by side). None when it
    observed something these cannot be counted from (a repeat's totals, another server's answer): the
    path's sum is then unknown, not smaller. A check with nothing but local findings spent none."""
    connected = any(
        isinstance(o, TcpConnect) and o.role == "target" and o.outcome is ConnectOutcome.CONNECTED
        for o in result.observations
    )
    counted = (TcpConnect, HandshakeAttempt, HelloProbe, SynSample, *_LOCAL)
    if any(not isinstance(o, counted) for o in result.observations):
        return None
    exchanges = [handshake_round_trips(o) for o in result.observations if isinstance(o, HandshakeAttempt)]
    # A hello probe makes its own connect (connect_ms) and waits for one answer.
    probes = [1 + (1 if o.connect_ms else 0) for o in result.observations if isinstance(o, HelloProbe)]
    # A burst of bare connects side by side: one round trip.
    bursts = [1 for o in result.observations if isinstance(o, SynSample)]
    return max([(1 if connected else 0) + max(exchanges, default=0), *probes, *bursts])


def critical_path(results: Sequence[CheckResult]) -> tuple[PathStep, ...]:
    """The chain of checks, each released by the one before, that ends with the last check to end."""
    timed = [r for r in results if r.started_ms is not None]
    if not timed:
        return ()

    def end(r: CheckResult) -> float:
        assert r.started_ms is not None
        return r.started_ms + r.duration_ms

    # The last to end (of several, the last to start: a skip decided when its releaser ended).
    step: CheckResult | None = max(timed, key=lambda r: (end(r), r.started_ms or 0.0))
    chain: list[CheckResult] = []
    while step is not None and step not in chain:
        chain.append(step)
        start = step.started_ms or 0.0
        released = [r for r in timed if r.id == step.waited_for and end(r) <= start + _SLACK_MS]
        step = max(released, key=end) if released else None
    return tuple(
        PathStep(
            check=r.id,
            started_ms=r.started_ms or 0.0,
            duration_ms=r.duration_ms,
            waited_for=r.waited_for,
            round_trips=round_trips(r),
        )
        for r in reversed(chain)
    )
