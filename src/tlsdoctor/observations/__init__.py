"""THE vocabulary: every observation type, importable from one place.

The names load lazily (PEP 562): importing one observation module must not import them all,
since every command's start-up pays for what it imports (``tlsdoctor --help`` above all).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tlsdoctor.observations.base import Observation, plain
    from tlsdoctor.observations.capture import DecryptedHandshake, ProbeCapture
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
    from tlsdoctor.observations.host import (
        FdUsage,
        HostFiles,
        InterfaceInfo,
        LibraryVersion,
        PortUsage,
        ProxySetting,
        SocketStates,
        TimeSync,
        TlsPolicy,
        TrustBundle,
        TrustStoreDiff,
    )
    from tlsdoctor.observations.idle import IdleEnd, IdleHold
    from tlsdoctor.observations.path import (
        LoopStall,
        MssProbe,
        PathMtu,
        PathStats,
        PathTrace,
        RampLevel,
        Reproduction,
        ResetOrigin,
        SynRetest,
        SynSample,
        TcpCounters,
        TraceHop,
    )
    from tlsdoctor.observations.pcap import (
        CapturedFlow,
        ClientAbort,
        ClientAlert,
        FlightStall,
        FlowIcmp,
        FlowOutcome,
    )
    from tlsdoctor.observations.starttls import StarttlsOutcome, StarttlsResult
    from tlsdoctor.observations.tcp import ConnectOutcome, ProxyTunnel, TcpConnect, TunnelOutcome
    from tlsdoctor.observations.text import TextClue
    from tlsdoctor.observations.tls import (
        AcceptScan,
        HandshakeAttempt,
        HandshakeOutcome,
        PeerChain,
        RepeatStats,
        preview,
    )

# name -> the module under tlsdoctor/observations/ that defines it: every Observation subclass and every
# enum of their fields (tests/unit/test_observations_registry.py fails when one is missing).
_HOME: dict[str, str] = {
    "AcceptScan": "tls",
    "AddressNote": "dns",
    "CapturedFlow": "pcap",
    "CertificateInfo": "cert",
    "CertificateProblem": "cert",
    "ChainValidation": "cert",
    "ClientAbort": "pcap",
    "ClientAlert": "pcap",
    "ClientSimulation": "clientsim",
    "ClockOffset": "cert",
    "ConnectOutcome": "tcp",
    "DecryptedHandshake": "capture",
    "DnsLookup": "dns",
    "DnsOutcome": "dns",
    "FdUsage": "host",
    "FetchOutcome": "cert",
    "FlightStall": "pcap",
    "FlowIcmp": "pcap",
    "FlowOutcome": "pcap",
    "HandshakeAttempt": "tls",
    "HandshakeOutcome": "tls",
    "HelloEnd": "hello",
    "HelloProbe": "hello",
    "HostFiles": "host",
    "HttpDateOffset": "clock",
    "IdleEnd": "idle",
    "IdleHold": "idle",
    "InterfaceInfo": "host",
    "IssuerFetch": "cert",
    "LibraryVersion": "host",
    "LoopStall": "path",
    "MssProbe": "path",
    "NtpFailure": "cert",
    "Observation": "base",
    "PathMtu": "path",
    "PathStats": "path",
    "PathTrace": "path",
    "PeerChain": "tls",
    "PortUsage": "host",
    "ProbeCapture": "capture",
    "ProblemKind": "cert",
    "ProxySetting": "host",
    "ProxyTunnel": "tcp",
    "RampLevel": "path",
    "RepeatStats": "tls",
    "Reproduction": "path",
    "ResetOrigin": "path",
    "ResolverDisagreement": "dns",
    "RevocationCheck": "cert",
    "RevocationState": "cert",
    "SocketStates": "host",
    "StarttlsOutcome": "starttls",
    "StarttlsResult": "starttls",
    "SynRetest": "path",
    "SynSample": "path",
    "TcpConnect": "tcp",
    "TcpCounters": "path",
    "TextClue": "text",
    "TimeSync": "host",
    "TlsPolicy": "host",
    "TraceHop": "path",
    "TrustBundle": "host",
    "TrustStoreDiff": "host",
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
    "AcceptScan",
    "AddressNote",
    "CapturedFlow",
    "CertificateInfo",
    "CertificateProblem",
    "ChainValidation",
    "ClientAbort",
    "ClientAlert",
    "ClientSimulation",
    "ClockOffset",
    "ConnectOutcome",
    "DecryptedHandshake",
    "DnsLookup",
    "DnsOutcome",
    "FdUsage",
    "FetchOutcome",
    "FlightStall",
    "FlowIcmp",
    "FlowOutcome",
    "HandshakeAttempt",
    "HandshakeOutcome",
    "HelloEnd",
    "HelloProbe",
    "HostFiles",
    "HttpDateOffset",
    "IdleEnd",
    "IdleHold",
    "InterfaceInfo",
    "IssuerFetch",
    "LibraryVersion",
    "LoopStall",
    "MssProbe",
    "NtpFailure",
    "Observation",
    "PathMtu",
    "PathStats",
    "PathTrace",
    "PeerChain",
    "PortUsage",
    "ProbeCapture",
    "ProblemKind",
    "ProxySetting",
    "ProxyTunnel",
    "RampLevel",
    "RepeatStats",
    "Reproduction",
    "ResetOrigin",
    "ResolverDisagreement",
    "RevocationCheck",
    "RevocationState",
    "SocketStates",
    "StarttlsOutcome",
    "StarttlsResult",
    "SynRetest",
    "SynSample",
    "TcpConnect",
    "TcpCounters",
    "TextClue",
    "TimeSync",
    "TlsPolicy",
    "TraceHop",
    "TrustBundle",
    "TrustStoreDiff",
    "TrustStoreInfo",
    "TunnelOutcome",
    "plain",
    "preview",
]
