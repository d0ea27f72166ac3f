"""THE vocabulary: every observation type, importable from one place."""

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
from tlsdoctor.observations.dns import AddressNote, DnsLookup, DnsOutcome, ResolverDisagreement
from tlsdoctor.observations.hello import HelloEnd, HelloProbe
from tlsdoctor.observations.starttls import StarttlsOutcome, StarttlsResult
from tlsdoctor.observations.tcp import ConnectOutcome, ProxyTunnel, TcpConnect, TunnelOutcome
from tlsdoctor.observations.tls import HandshakeAttempt, HandshakeOutcome, PeerChain, RepeatStats, preview

__all__ = [
    "AddressNote",
    "CertificateInfo",
    "CertificateProblem",
    "ChainValidation",
    "ClockOffset",
    "ConnectOutcome",
    "DnsLookup",
    "DnsOutcome",
    "FetchOutcome",
    "HandshakeAttempt",
    "HandshakeOutcome",
    "HelloEnd",
    "HelloProbe",
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
