"""What the playbook's predicates read: the route, the default handshake's outcome, and the results each
later step is decided on (never those of steps running beside it)."""

from __future__ import annotations

from collections.abc import Sequence

from tlsdoctor.checks.handshake import (
    handshake_outcomes,
)
from tlsdoctor.graph import DROP, Reason, State
from tlsdoctor.inference.rules.helpers import SILENT_ENDS
from tlsdoctor.model import CheckResult
from tlsdoctor.net.route import Route
from tlsdoctor.observations.tcp import ConnectOutcome, TcpConnect
from tlsdoctor.observations.tls import HandshakeAttempt, HandshakeOutcome, PeerChain

NO_ROUTE = "no route to the target: TCP never connected"
FETCHES = ("handshake.no-verify", "handshake.unrelated-name")  # the certificate fetches (playbook.FETCH)
HANDSHAKES = ("handshake.default", *FETCHES, "variants")
HEALTHY = "not needed: the default handshake succeeded"
HEAD_START_S = 0.15  # the default handshake's head start before the variants start beside it


# -- what the predicates read ------------------------------------------------------------------------


def route(st: State) -> Route | None:
    found: Route | None = st.values.get("route")
    return found


def direct(st: State) -> bool:
    r = route(st)
    return r is not None and r.proxy is None


def no_route(st: State) -> Reason:
    """TCP has finished and reached nothing: what started beside it is moot."""
    if st.finished("route") and route(st) is None:
        return NO_ROUTE
    if st.finished("tcp") and st.values.get("tcp_route") is None:
        return NO_ROUTE
    return None


def default(st: State) -> HandshakeAttempt | None:
    return handshake_outcomes(st.results("handshake.default")).get("default")


def default_ok(st: State) -> bool:
    return any(
        isinstance(o, HandshakeAttempt) and o.outcome is HandshakeOutcome.OK
        for r in st.results("handshake.default")
        for o in r.observations
    )


def default_stalled(st: State) -> bool:
    return any(
        isinstance(o, HandshakeAttempt) and o.outcome is HandshakeOutcome.TIMEOUT
        for r in st.results("handshake.default")
        for o in r.observations
    )


def dropped_without_route(st: State) -> Reason:
    return DROP if no_route(st) else None


no_tcp = dropped_without_route  # (the name the table reads best with)


def unreached(results: Sequence[CheckResult], address: str) -> bool:
    """A probe's own connect to ``address`` failed (a TCP connect, a raw hello's, a small-MSS one's):
    the guessed first address did not answer it."""
    from tlsdoctor.observations.hello import HelloEnd, HelloProbe
    from tlsdoctor.observations.path import MssProbe

    def failed(o: object) -> bool:
        if isinstance(o, TcpConnect):
            return o.outcome is not ConnectOutcome.CONNECTED
        if isinstance(o, HelloProbe):
            return o.end is HelloEnd.CONNECT_FAILED
        return isinstance(o, MssProbe) and o.outcome == "connect-failed"

    return any(getattr(o, "address", None) == address and failed(o) for r in results for o in r.observations)


def target_route(st: State) -> Route:
    found = route(st)
    assert found is not None  # every node that calls this skips without a route
    return found


# -- the path probes the default handshake's ending calls for (checks/path.py, checks/ramp.py) ------


# What each later step decides on: the results the steps before it produced (and hello.size, if it has
# already ended), never those of steps running beside it (the certificate, the clock).
BEFORE_PATH = (*HANDSHAKES, "accepts", "mss", "syn-sample")
PATH = ("path.reset-origin", "server.ramp", "path.syn-retest", "path.stability", "path.repeat", "path.pmtu")


def seen(st: State) -> list[CheckResult]:
    """What the path probes are decided on."""
    return st.results("dns", "tcp", *BEFORE_PATH, "hello.size")


def seen_after_path(st: State) -> list[CheckResult]:
    return st.results("dns", "tcp", *BEFORE_PATH, *PATH, "path.reproduce", "hello.size")


def runs(st: State) -> dict[str, HandshakeAttempt]:
    return handshake_outcomes(seen(st))


def first_pair(st: State) -> tuple[list[HandshakeAttempt], list[HandshakeAttempt]]:
    """The first attempts (the default and its no-verify twin): which stayed silent, which answered."""
    got = runs(st)
    pair = [a for a in (got.get("default"), got.get("no-verify")) if a is not None]
    silent = [a for a in pair if a.outcome in SILENT_ENDS and a.bytes_received == 0]
    answered = [a for a in pair if a.bytes_received > 0]
    return silent, answered


def handshakes(st: State) -> list[CheckResult]:
    return st.results(*HANDSHAKES)


def chains(st: State) -> list[PeerChain]:
    return [o for r in handshakes(st) for o in r.observations if isinstance(o, PeerChain)]
