"""Queries over handshake and connect observations that several rules share."""

from __future__ import annotations

from collections.abc import Iterable

from tlsdoctor.inference.facts import Facts
from tlsdoctor.model import Evidence
from tlsdoctor.observations.tcp import ConnectOutcome, TcpConnect
from tlsdoctor.observations.tls import HandshakeAttempt, HandshakeOutcome

OK = HandshakeOutcome.OK
# Outcomes where the peer never answered the hello in TLS: the transport itself ended.
SILENT_ENDS = (HandshakeOutcome.RESET, HandshakeOutcome.EOF, HandshakeOutcome.TIMEOUT)
PINNED_LEGACY = ("tls1.0", "tls1.1")
PINNED_MODERN = ("tls1.2", "tls1.3")


def attempts(facts: Facts) -> dict[str, HandshakeAttempt]:
    """variant name -> its handshake attempt (the first, if a variant ran twice)."""
    out: dict[str, HandshakeAttempt] = {}
    for obs in facts.all(HandshakeAttempt):
        out.setdefault(obs.variant, obs)
    return out


def default_attempt(facts: Facts) -> HandshakeAttempt | None:
    """The default client's handshake."""
    return attempts(facts).get("default")


def any_ok(facts: Facts) -> bool:
    """Whether any handshake variant completed."""
    return any(a.outcome is OK for a in facts.all(HandshakeAttempt))


def default_ok(facts: Facts) -> bool:
    """Whether the default client's handshake completed."""
    d = default_attempt(facts)
    return d is not None and d.outcome is OK


def variants_failed(facts: Facts) -> list[HandshakeAttempt]:
    """Every variant attempt that did not complete (default excluded)."""
    return [a for v, a in attempts(facts).items() if v != "default" and a.outcome is not OK]


def cite(facts: Facts, observations: Iterable[object]) -> list[Evidence]:
    """Evidence for several observations, each naming its check."""
    from tlsdoctor.observations.base import Observation

    return [facts.evidence(o) for o in observations if isinstance(o, Observation)]


def connects(facts: Facts) -> list[TcpConnect]:
    """TCP connects to the target itself (not to a proxy)."""
    return [c for c in facts.all(TcpConnect) if c.role == "target"]


def any_connected(facts: Facts) -> bool:
    """Whether any TCP connect (direct or to a proxy) succeeded."""
    return any(c.outcome is ConnectOutcome.CONNECTED for c in facts.all(TcpConnect))
