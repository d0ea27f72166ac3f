"""THE vocabulary: every observation type, importable from one place.

The names load lazily (PEP 562): importing one observation module must not import them all,
since every command's start-up pays for what it imports (``tlsdoctor --help`` above all).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tlsdoctor.observations.base import Observation, plain
    from tlsdoctor.observations.cert import (
        CertificateInfo,
        CertificateProblem,
        ChainValidation,
        ClockOffset,
        FetchOutcome,
        IssuerFetch,
        NtpFailure,
        ProblemKind,
        RevocationCheck,
        RevocationState,
        TrustStoreInfo,
    )
    from tlsdoctor.observations.clientsim import ClientSimulation
    from tlsdoctor.observations.clock import HttpDateOffset
    from tlsdoctor.observations.dns import AddressNote, DnsLookup, DnsOutcome, ResolverDisagreement
    from tlsdoctor.observations.hello import HelloEnd, HelloProbe
    from tlsdoctor.observations.idle import IdleEnd, IdleHold
    from tlsdoctor.observations.starttls import StarttlsOutcome, StarttlsResult
    from tlsdoctor.observations.tcp import ConnectOutcome, ProxyTunnel, TcpConnect, TunnelOutcome
    from tlsdoctor.observations.tls import HandshakeAttempt, HandshakeOutcome, PeerChain, RepeatStats, preview

_HOME: dict[str, str] = {
    "AddressNote": "dns",
    "CertificateInfo": "cert",
    "CertificateProblem": "cert",
    "ChainValidation": "cert",
    "ClientSimulation": "clientsim",
    "ClockOffset": "cert",
    "ConnectOutcome": "tcp",
    "DnsLookup": "dns",
    "DnsOutcome": "dns",
    "FetchOutcome": "cert",
    "HandshakeAttempt": "tls",
    "HandshakeOutcome": "tls",
    "HelloEnd": "hello",
    "HelloProbe": "hello",
    "HttpDateOffset": "clock",
    "IdleEnd": "idle",
    "IdleHold": "idle",
    "IssuerFetch": "cert",
    "NtpFailure": "cert",
    "Observation": "base",
    "PeerChain": "tls",
    "ProblemKind": "cert",
    "ProxyTunnel": "tcp",
    "RepeatStats": "tls",
    "ResolverDisagreement": "dns",
    "RevocationCheck": "cert",
    "RevocationState": "cert",
    "StarttlsOutcome": "starttls",
    "StarttlsResult": "starttls",
    "TcpConnect": "tcp",
    "TrustStoreInfo": "cert",
    "TunnelOutcome": "tcp",
    "plain": "base",
    "preview": "tls",
}


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module 'tlsdoctor.observations' has no attribute {name!r}")
    return getattr(importlib.import_module(f"tlsdoctor.observations.{module}"), name)


__all__ = [
    "AddressNote",
    "CertificateInfo",
    "CertificateProblem",
    "ChainValidation",
    "ClientSimulation",
    "ClockOffset",
    "ConnectOutcome",
    "DnsLookup",
    "DnsOutcome",
    "FetchOutcome",
    "HandshakeAttempt",
    "HandshakeOutcome",
    "HelloEnd",
    "HelloProbe",
    "HttpDateOffset",
    "IdleEnd",
    "IdleHold",
    "IssuerFetch",
    "NtpFailure",
    "Observation",
    "PeerChain",
    "ProblemKind",
    "ProxyTunnel",
    "RepeatStats",
    "ResolverDisagreement",
    "RevocationCheck",
    "RevocationState",
    "StarttlsOutcome",
    "StarttlsResult",
    "TcpConnect",
    "TrustStoreInfo",
    "TunnelOutcome",
    "plain",
    "preview",
]
