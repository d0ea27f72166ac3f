"""What a packet capture shows about one TCP flow that no live probe's observation says.

The rest of a flow is told in the common vocabulary (TcpConnect, HandshakeAttempt, ResetOrigin), so
the rules that judge diagnose's probes judge a captured connection the same way; these add what only
the wire shows: the alert the client sent, a client that hung up after the server's flight, a flight
retransmitted into silence, an ICMP error tied to the flow, and the flow's own summary line.
"""

from __future__ import annotations

import dataclasses
import enum
from typing import ClassVar

from tlsdoctor.observations.base import Observation


class FlowOutcome(enum.StrEnum):
    """How a captured TCP flow ended, from the handshake's point of view."""

    COMPLETED = "completed"  # both sides went encrypted: the handshake finished (or resumed)
    SERVER_ALERT = "server-alert"  # the server sent a fatal alert
    CLIENT_ALERT = "client-alert"  # the client sent a fatal alert (it refused the server's answer)
    CLIENT_ABORT = "client-abort"  # the client hung up after the server's flight, no alert visible
    RESET = "reset"  # an RST "from the server" ended the handshake
    SERVER_CLOSED = "server-closed"  # the server closed (FIN) without an alert during the handshake
    NOT_TLS = "not-tls"  # the server answered in another protocol
    STALLED = "stalled"  # the server's flight began, then stopped arriving
    NO_ANSWER = "no-answer"  # the ClientHello got no byte back
    REFUSED = "refused"  # the SYN was answered by an RST
    SYN_TIMEOUT = "syn-timeout"  # the SYN was never answered
    UNREACHABLE = "unreachable"  # an ICMP unreachable answered the connection
    CLIENT_CLOSED = "client-closed"  # the client closed before sending a ClientHello
    INCOMPLETE = "incomplete"  # the capture ends (or began) before anything decisive


FAILED = frozenset(FlowOutcome) - {FlowOutcome.COMPLETED, FlowOutcome.INCOMPLETE, FlowOutcome.CLIENT_CLOSED}


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class CapturedFlow(Observation):
    """One TCP flow of a capture, summed up: who, how it ended, and the transport's health."""

    kind: ClassVar[str] = "captured-flow"

    client: str
    server: str
    sni: str | None
    outcome: FlowOutcome
    version: str | None = None
    cipher: str | None = None
    hello_bytes: int = 0
    offered_versions: tuple[str, ...] = ()  # the versions the ClientHello offered
    post_quantum: tuple[str, ...] = ()  # post-quantum groups the ClientHello offered
    rtt_ms: float | None = None  # SYN to SYN-ACK, as seen where the capture was taken
    duration_ms: float = 0.0
    closed_by: str = ""  # "client" | "server" | "" (FIN or RST first)
    after: str = ""  # after which handshake message it ended
    after_ms: float | None = None  # ... and how long after that message
    retransmits_client: int = 0
    retransmits_server: int = 0
    dup_acks: int = 0
    zero_windows: int = 0
    mss_client: int = 0
    mss_server: int = 0
    gaps: int = 0  # holes the capture itself missed (bytes it never saw)
    partial_record: tuple[int, int] | None = None  # the server's last record: (bytes arrived, announced)
    lost_server_bytes: int = 0  # holes in the server's stream the client never acknowledged
    icmp_frag_needed: int = 0  # ICMP fragmentation-needed / packet-too-big tied to the flow

    def describe(self) -> str:
        what = {
            FlowOutcome.COMPLETED: f"handshake completed ({self.version}, {self.cipher})",
            FlowOutcome.SERVER_ALERT: "the server refused the handshake with an alert",
            FlowOutcome.CLIENT_ALERT: "the client refused the server's answer with an alert",
            FlowOutcome.CLIENT_ABORT: "the client hung up after the server's flight",
            FlowOutcome.RESET: "reset during the handshake",
            FlowOutcome.SERVER_CLOSED: "the server closed during the handshake without an alert",
            FlowOutcome.NOT_TLS: "the server answered in another protocol",
            FlowOutcome.STALLED: "the server's flight stalled",
            FlowOutcome.NO_ANSWER: "the ClientHello got no answer",
            FlowOutcome.REFUSED: "the SYN was refused (RST)",
            FlowOutcome.SYN_TIMEOUT: "the SYN was never answered",
            FlowOutcome.UNREACHABLE: "ICMP unreachable",
            FlowOutcome.CLIENT_CLOSED: "the client closed before any ClientHello",
            FlowOutcome.INCOMPLETE: "the capture holds no end of the handshake",
        }[self.outcome]
        sni = f" (SNI {self.sni})" if self.sni else ""
        after = f" after {self.after}" if self.after and self.outcome is not FlowOutcome.COMPLETED else ""
        ms = f" (+{self.after_ms:.0f} ms)" if after and self.after_ms is not None else ""
        loss = ""
        if self.retransmits_client or self.retransmits_server:
            loss = f"; retransmissions: client {self.retransmits_client}, server {self.retransmits_server}"
        return f"captured flow {self.client} -> {self.server}{sni}: {what}{after}{ms}{loss}"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ClientAlert(Observation):
    """The client refused what the server sent, with a TLS alert (RFC 8446 §6.2): the alert names why
    (bad_certificate 42 ... unknown_ca 48 are its verdict on the server's certificate)."""

    kind: ClassVar[str] = "client-alert"

    client: str
    server: str
    alert: str  # description name, e.g. "unknown_ca"
    code: int
    after: str  # the message it answered
    chain: tuple[str, ...] = ()  # the server's certificates as sent (subject, issuer) when in clear
    chain_issues: tuple[str, ...] = ()  # what the clear chain shows (self-signed, leaf only, expired at ...)

    def describe(self) -> str:
        issues = f"; the chain it saw: {'; '.join(self.chain_issues)}" if self.chain_issues else ""
        return f"the client {self.client} sent alert {self.alert} ({self.code}) after {self.after}{issues}"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ClientAbort(Observation):
    """The client closed (FIN or RST) right after the server's flight without a visible alert.

    In TLS 1.3 the certificate and the client's alert travel encrypted (RFC 8446 §2), so a capture
    cannot say why; an abort at this point is how a client refusing the certificate looks.
    """

    kind: ClassVar[str] = "client-abort"

    client: str
    server: str
    how: str  # "FIN" | "RST" | "encrypted alert"
    after: str
    after_ms: float
    tls13: bool

    def describe(self) -> str:
        hidden = " (TLS 1.3: the certificate and any alert are encrypted)" if self.tls13 else ""
        return (
            f"the client {self.client} ended the handshake with {self.how} {self.after_ms:.0f} ms after "
            f"{self.after}{hidden}"
        )


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class FlightStall(Observation):
    """The server's flight: full-size segments retransmitted with no ACK ever covering them.

    The signature of a path-MTU black hole (RFC 2923 §2.1) when no ICMP "fragmentation needed" came
    back while smaller segments did get through.
    """

    kind: ClassVar[str] = "flight-stall"

    sender: str  # "server" | "client"
    segment_size: int  # the largest segment size that was lost
    lost_segments: int  # distinct segments retransmitted and never acknowledged
    retransmissions: int
    smaller_acked: bool  # smaller segments of the same side were acknowledged
    icmp_frag_needed: int  # ICMP frag-needed seen for the flow (0: none came back)
    mss: int  # the MSS the peer announced

    def describe(self) -> str:
        icmp = (
            "no ICMP fragmentation-needed came back"
            if not self.icmp_frag_needed
            else f"{self.icmp_frag_needed} ICMP fragmentation-needed came back"
        )
        small = "; smaller segments got through" if self.smaller_acked else ""
        return (
            f"{self.lost_segments} {self.segment_size}-byte segment(s) of the {self.sender} retransmitted "
            f"{self.retransmissions} times and never acknowledged (MSS {self.mss}){small}; {icmp}"
        )


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class FlowIcmp(Observation):
    """An ICMP error that quotes one of the flow's packets (RFC 792, RFC 4443)."""

    kind: ClassVar[str] = "flow-icmp"

    kind_of: str  # "frag-needed" | "unreachable" | "ttl-exceeded"
    code: int
    mtu: int
    sender: str
    about: str  # whose packet it quotes

    def describe(self) -> str:
        detail = f"next-hop MTU {self.mtu}" if self.kind_of == "frag-needed" else f"code {self.code}"
        return f"ICMP {self.kind_of} ({detail}) from {self.sender} about the {self.about}'s packet"
