"""Builders of hand-made observations for rule tests."""

from __future__ import annotations

from typing import Any

from tlsdoctor.inference.facts import Facts
from tlsdoctor.model import CheckResult, Status
from tlsdoctor.observations.base import Observation
from tlsdoctor.observations.tcp import ConnectOutcome, TcpConnect
from tlsdoctor.observations.tls import HandshakeAttempt, HandshakeOutcome

ALL_VARIANTS = (
    "default",
    "no-verify",
    "no-sni",
    "tls1.3",
    "tls1.2",
    "tls1.1",
    "tls1.0",
    "unrelated-name",
    "all-ciphers",
    "seclevel-0",
    "legacy",
)


def hs(variant: str, outcome: HandshakeOutcome, **fields: Any) -> HandshakeAttempt:
    """A handshake attempt; SNI 'example.test' unless the variant is no-sni."""
    fields.setdefault("servername", None if variant == "no-sni" else "example.test")
    fields.setdefault("bytes_sent", 517)
    fields.setdefault(
        "bytes_received",
        0 if outcome in (HandshakeOutcome.RESET, HandshakeOutcome.EOF, HandshakeOutcome.TIMEOUT) else 1200,
    )
    return HandshakeAttempt(variant=variant, address="198.18.0.10", port=443, outcome=outcome, **fields)


def tcp(outcome: ConnectOutcome, address: str = "198.18.0.10", **fields: Any) -> TcpConnect:
    return TcpConnect(address=address, port=443, family="ipv4", outcome=outcome, **fields)


def facts(*observations: Observation) -> Facts:
    """Facts with each observation in a check of its own kind."""
    results = [
        CheckResult(id=f"{o.kind}.{i}", status=Status.PASS, summary="", observations=(o,))
        for i, o in enumerate(observations)
    ]
    return Facts(results)


def every(outcome: HandshakeOutcome, **fields: Any) -> list[HandshakeAttempt]:
    """All variants ending the same way."""
    return [hs(v, outcome, **fields) for v in ALL_VARIANTS]
