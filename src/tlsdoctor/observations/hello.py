"""What the hello matrix saw: one crafted ClientHello (or a plain HTTP request) and how the exchange ended.

The standard-library variants (observations/tls.py) can only send the hellos OpenSSL builds. The matrix
sends hellos of chosen shapes from the sans-IO codec (wire/hello.py): the pattern of which shapes are
answered and which die is the evidence for middlebox faults (size, SNI) that no single handshake shows.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable
from typing import ClassVar

from tlsdoctor.observations.base import Observation
from tlsdoctor.observations.tls import preview


class HelloEnd(enum.StrEnum):
    """How a probe's exchange ended: the first decisive thing the peer did, or the transport's end."""

    SERVER_HELLO = "server-hello"  # the hello was accepted (RFC 8446 §4.1.3, RFC 5246 §7.4.1.3)
    HELLO_RETRY = "hello-retry"  # accepted; the server asks for another key share (RFC 8446 §4.1.4)
    ALERT = "alert"  # a fatal TLS alert (RFC 8446 §6): the server read the hello and refused it
    SSLV2 = "sslv2"  # an SSL 2.0 answer: TLS-family, so the hello was read
    NOT_TLS = "not-tls"  # bytes of another protocol (HTTP, a banner...)
    BROKEN = "broken"  # TLS framing the codec cannot read, or more bytes than the cap
    EOF = "eof"  # FIN without an alert
    RESET = "reset"  # RST
    TIMEOUT = "timeout"  # silence until the deadline
    CONNECT_FAILED = "connect-failed"  # TCP (or the tunnel) never opened: the probe says nothing
    ERROR = "error"  # a local socket error other than the above


ANSWERED = frozenset({HelloEnd.SERVER_HELLO, HelloEnd.HELLO_RETRY, HelloEnd.ALERT, HelloEnd.SSLV2})
ACCEPTED = frozenset({HelloEnd.SERVER_HELLO, HelloEnd.HELLO_RETRY})
TRANSPORT_ENDS = frozenset({HelloEnd.EOF, HelloEnd.RESET, HelloEnd.TIMEOUT})
LEGACY_VERSIONS = frozenset({"SSLv3", "TLSv1.0", "TLSv1.1"})


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class HelloProbe(Observation):
    """One probe of the hello matrix (checks/hello.py names them and says why each exists).

    ``sni_role`` says how ``sni`` relates to the target: ``target`` (the name the client would send;
    None when the target is an IP address), ``none``, ``neutral`` (a reserved name unrelated to the
    target, RFC 2606) or ``random``. ``hello_bytes`` is what was written (record headers included).
    ``elapsed_ms`` runs from the hello sent to the end; ``connect_ms`` is the TCP connect before it.
    """

    kind: ClassVar[str] = "hello-probe"

    probe: str
    shape: str  # the wire variant sent (wire/variants.py), or "http"
    address: str
    port: int
    sni: str | None
    sni_role: str
    hello_bytes: int
    end: HelloEnd
    alert: str | None = None  # the alert's description, e.g. "protocol_version"
    version: str | None = None  # the version the ServerHello selected, e.g. "TLSv1.2"
    cipher: str | None = None  # IANA name of the suite the ServerHello selected
    group: str | None = None  # the group of the ServerHello's key share (TLS 1.3), e.g. "x25519"
    default_offers_cipher: bool | None = None  # whether the default client offers that suite too
    bytes_received: int = 0
    elapsed_ms: float = 0.0
    connect_ms: float = 0.0
    first_bytes: bytes = b""
    sniffed: str | None = None  # protocol recognised in first_bytes when not TLS
    error: str = ""
    retransmits: int = 0  # segments the kernel retransmitted on this connection (TCP_INFO): loss out
    reordered: int = 0  # segments received out of order (TCP_INFO): one of the server's was lost

    @property
    def is_tls(self) -> bool:
        """A ClientHello probe (not the plain HTTP request)."""
        return self.shape != "http"

    @property
    def answered(self) -> bool:
        """The peer read the hello and answered in TLS (accepted or refused by alert)."""
        return self.end in ANSWERED

    @property
    def accepted(self) -> bool:
        """The peer answered with a ServerHello or a HelloRetryRequest."""
        return self.end in ACCEPTED

    @property
    def died(self) -> bool:
        """The transport ended (RST, FIN, silence) before a single byte came back."""
        return self.end in TRANSPORT_ENDS and self.bytes_received == 0

    @property
    def ran(self) -> bool:
        """The probe reached the peer: a connect failure or a local error says nothing about the hello."""
        return self.end not in (HelloEnd.CONNECT_FAILED, HelloEnd.ERROR)

    def describe(self) -> str:
        sni = f"SNI {self.sni}" if self.sni else "no SNI"
        what = "plain HTTP HEAD" if not self.is_tls else f"{self.hello_bytes}-byte hello"
        head = f"[{self.probe}] {what} ({sni}) to {self.address}:{self.port}"
        t, n = f"{self.elapsed_ms:.0f} ms", self.bytes_received
        match self.end:
            case HelloEnd.SERVER_HELLO:
                return f"{head}: ServerHello {self.version} {self.cipher} after {t}"
            case HelloEnd.HELLO_RETRY:
                return f"{head}: HelloRetryRequest after {t}"
            case HelloEnd.ALERT:
                return f"{head}: alert {self.alert} after {t}"
            case HelloEnd.NOT_TLS:
                proto = f" ({self.sniffed})" if self.sniffed else ""
                return f"{head}: answered in another protocol{proto}: {preview(self.first_bytes)}"
            case HelloEnd.EOF:
                return f"{head}: closed (FIN, no alert) after {n} bytes, {t}"
            case HelloEnd.RESET:
                return f"{head}: reset (RST) after {n} bytes, {t}"
            case HelloEnd.TIMEOUT:
                return f"{head}: no answer within {t} ({n} bytes received)"
            case _:
                return f"{head}: {self.end.value} {self.error}".rstrip()


def reproduced(probes: Iterable[HelloProbe], dies: str, passes: str) -> bool:
    """Every run of probe ``dies`` died and every run of ``passes`` was answered (re-runs included).

    A size-dependent death is only trusted when it repeats: one lost segment on a lossy path
    must not read as a ClientHello size limit.
    """
    runs = [p for p in probes if p.ran]
    return all(p.died for p in runs if p.probe == dies) and all(p.answered for p in runs if p.probe == passes)
