"""What connecting showed: TCP connects and proxy tunnels."""

from __future__ import annotations

import dataclasses
import enum
from typing import ClassVar

from tlsdoctor.observations.base import PEER_DECIDES_WITHIN_S, Observation

SLOW_CONNECT_MS = 900.0  # the first SYN retransmission comes after 1 s (RFC 6298 §2.1)


class ConnectOutcome(enum.StrEnum):
    """How a TCP connect ended; the errno table in net/tcp.py is the only producer."""

    CONNECTED = "connected"
    REFUSED = "refused"
    TIMEOUT = "timeout"
    HOST_UNREACHABLE = "host-unreachable"
    NET_UNREACHABLE = "net-unreachable"
    PORT_EXHAUSTED = "port-exhausted"
    FD_EXHAUSTED = "fd-exhausted"
    RESET = "reset"
    ERROR = "error"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class TcpConnect(Observation):
    """One TCP connect to one address."""

    kind: ClassVar[str] = "tcp-connect"

    address: str
    port: int
    family: str  # "ipv4" | "ipv6"
    outcome: ConnectOutcome
    errno: int | None = None
    errno_name: str | None = None
    elapsed_ms: float = 0.0
    role: str = "target"  # "target", or "proxy" for the connect to the proxy itself
    icmp: str = ""  # the ICMP error that ended the connect ("host unreachable"), read with IP_RECVERR
    icmp_from: str | None = None  # the router (or host) that sent it

    def stall_proof(self, stalled_s: float) -> bool:
        """Connected without a stall's worth of delay, or refused or reset by the peer within a
        stall too short to matter; a connect that timed out, or took long (the rules read a
        second-long connect as a retransmitted SYN), may be ours."""
        if self.outcome is ConnectOutcome.CONNECTED:  # slow with or without the stall: the path's
            return self.elapsed_ms < SLOW_CONNECT_MS or self.elapsed_ms - 1000 * stalled_s >= SLOW_CONNECT_MS
        peer = self.outcome in (ConnectOutcome.REFUSED, ConnectOutcome.RESET)
        return peer and stalled_s < PEER_DECIDES_WITHIN_S

    def describe(self) -> str:
        dest = f"[{self.address}]:{self.port}" if ":" in self.address else f"{self.address}:{self.port}"
        via = " (the proxy)" if self.role == "proxy" else ""
        if self.outcome is ConnectOutcome.CONNECTED:
            return f"TCP connect to {dest}{via} succeeded in {self.elapsed_ms:.0f} ms"
        err = f" ({self.errno_name})" if self.errno_name else ""
        said = f": ICMP {self.icmp} from {self.icmp_from}" if self.icmp and self.icmp_from else ""
        return f"TCP connect to {dest}{via}: {self.outcome.value}{err} after {self.elapsed_ms:.0f} ms{said}"


class TunnelOutcome(enum.StrEnum):
    """How an HTTP CONNECT through a proxy ended."""

    ESTABLISHED = "established"
    AUTH_REQUIRED = "auth-required"  # 407
    DENIED = "denied"  # 403 and other 4xx
    UPSTREAM_FAILED = "upstream-failed"  # 502/503/504: the proxy could not reach the target
    CLOSED = "closed"  # the proxy closed without an answer
    NOT_HTTP = "not-http"  # the proxy answered something that is not HTTP (e.g. TLS to an https:// URL)
    PLAIN_PROXY = "plain-proxy"  # an https:// proxy URL, but the proxy speaks plain HTTP
    PROXY_TLS_FAILED = "proxy-tls-failed"  # TLS to an https:// proxy failed (its certificate, versions...)
    TIMEOUT = "timeout"
    CONNECT_FAILED = "connect-failed"  # could not reach the proxy itself


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ProxyTunnel(Observation):
    """One HTTP CONNECT through a proxy."""

    kind: ClassVar[str] = "proxy-tunnel"

    proxy: str
    target: str
    outcome: TunnelOutcome
    status: int | None = None
    reason: str = ""
    elapsed_ms: float = 0.0

    def describe(self) -> str:
        code = f" {self.status} {self.reason}".rstrip() if self.status else ""
        if not self.status and self.reason:
            code = f" ({self.reason})"
        return f"CONNECT {self.target} via {self.proxy}: {self.outcome.value}{code}"
