"""THE vocabulary: every observation type, importable from one place."""

from tlsdoctor.observations.base import Observation, plain
from tlsdoctor.observations.dns import AddressNote, DnsLookup, DnsOutcome, ResolverDisagreement
from tlsdoctor.observations.tcp import ConnectOutcome, ProxyTunnel, TcpConnect, TunnelOutcome
from tlsdoctor.observations.tls import HandshakeAttempt, HandshakeOutcome, PeerChain, RepeatStats, preview

__all__ = [
    "AddressNote",
    "ConnectOutcome",
    "DnsLookup",
    "DnsOutcome",
    "HandshakeAttempt",
    "HandshakeOutcome",
    "Observation",
    "PeerChain",
    "ProxyTunnel",
    "RepeatStats",
    "ResolverDisagreement",
    "TcpConnect",
    "TunnelOutcome",
    "plain",
    "preview",
]
