"""What TLS handshakes showed."""

from __future__ import annotations

import dataclasses
import enum
from typing import ClassVar

from tlsdoctor.observations.base import PEER_DECIDES_WITHIN_S, Observation


class HandshakeOutcome(enum.StrEnum):
    """How a handshake ended, from the wire's point of view."""

    OK = "ok"
    ALERT = "alert"  # the server sent a TLS alert
    VERIFY_FAILED = "verify-failed"  # our side rejected the certificate
    LOCAL_REJECT = "local-reject"  # our side's policy refused what the server offered (no alert received)
    EOF = "eof"  # the server closed (FIN) without an alert
    RESET = "reset"  # ECONNRESET during the handshake
    TIMEOUT = "timeout"  # no answer before the deadline
    NOT_TLS = "not-tls"  # the server answered in another protocol
    CONNECT_FAILED = "connect-failed"  # TCP never connected
    ERROR = "error"


# How the peer ends a handshake it will not complete; a stall of ours cannot cause any of them.
_PEER_ENDINGS = frozenset(
    {
        HandshakeOutcome.ALERT,
        HandshakeOutcome.EOF,
        HandshakeOutcome.RESET,
        HandshakeOutcome.NOT_TLS,
        HandshakeOutcome.VERIFY_FAILED,
        HandshakeOutcome.LOCAL_REJECT,
    }
)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class HandshakeAttempt(Observation):
    """One handshake variant against one address.

    ``variant`` names what was changed from the default client (see checks/handshake.py);
    comparing variants is how transport faults are told from policy and certificate faults.
    """

    kind: ClassVar[str] = "handshake"

    variant: str
    address: str
    port: int
    servername: str | None
    outcome: HandshakeOutcome
    elapsed_ms: float = 0.0
    version: str | None = None
    cipher: str | None = None
    alert: str | None = None  # alert description name, e.g. "handshake_failure"
    verify_code: int | None = None
    verify_message: str | None = None
    error: str = ""  # the TLS library's reason text
    bytes_sent: int = 0
    bytes_received: int = 0
    first_bytes: bytes = b""  # what the server sent first, when it was not TLS or for evidence
    sniffed: str | None = None  # protocol recognised in first_bytes ("http", "ssh", "smtp", ...)
    cert_requested: bool | None = None  # a CertificateRequest was seen (None: could not tell)
    client_cert_sent: bool = False
    # What the server did against the protocol (a suite never offered, a second HelloRetryRequest,
    # an alert code no RFC assigns, a malformed message): its fault, never the client's policy.
    violation: str | None = None
    # After a completed handshake: how the server answered (or ended) right after it, and its first
    # bytes ("http 400 ..." when one HTTP request was sent; "closed" when it hung up without an alert).
    after: str | None = None
    after_bytes: bytes = b""
    # ALPN (RFC 7301): what we offered (empty: no extension sent) and what the server selected.
    alpn_offered: tuple[str, ...] = ()
    alpn: str | None = None
    group: str | None = None  # the key exchange group the server chose (net/tls.py: chosen_group)
    # The handshake's round trips (our flight sent -> the server's next bytes, in ms; the wait for a
    # TLS 1.3 ticket included) and the longest pause inside one server flight: a lost segment shows
    # as one of them far longer than the shortest round trip, whatever the TCP connect cost.
    turns_ms: tuple[float, ...] = ()
    gap_ms: float = 0.0
    # How long our own event loop stalled during the handshake (runner.stalled_since): a round trip
    # can look that much longer without any help from the network.
    stalled_ms: float = 0.0

    def stall_proof(self, stalled_s: float) -> bool:
        """Completed, or ended by the peer (an alert, a reset, a hang-up, another protocol, the
        certificate it sent) within a stall too short to outlast its patience; a timeout never."""
        if self.outcome is HandshakeOutcome.OK:
            return True
        return self.outcome in _PEER_ENDINGS and stalled_s < PEER_DECIDES_WITHIN_S

    def describe(self) -> str:
        sni = f"SNI {self.servername}" if self.servername else "no SNI"
        head = f"handshake [{self.variant}] to {self.address}:{self.port} ({sni})"
        t = f"{self.elapsed_ms:.0f} ms"
        match self.outcome:
            case HandshakeOutcome.OK:
                then = f"; then {self.after}" if self.after else ""
                return f"{head}: ok, {self.version} {self.cipher}, {t}{then}"
            case HandshakeOutcome.ALERT if self.alert == "no_application_protocol" and self.alpn_offered:
                offered = ", ".join(self.alpn_offered)
                return (
                    f"{head}: server sent alert no_application_protocol after {t}: it speaks none of the "
                    f"ALPN protocols offered ({offered}; RFC 7301 §3.2)"
                )
            case HandshakeOutcome.ALERT:
                return f"{head}: server sent alert {self.alert} after {t}"
            case HandshakeOutcome.VERIFY_FAILED:
                return f"{head}: certificate rejected: {self.verify_message or self.error}"
            case HandshakeOutcome.LOCAL_REJECT if self.violation:
                return f"{head}: the server broke the protocol: {self.violation} ({self.error})"
            case HandshakeOutcome.LOCAL_REJECT:
                return f"{head}: refused by the client's own policy: {self.error}"
            case HandshakeOutcome.EOF if self.version:
                return f"{head}: {self.version} handshake completed, then the server closed (no alert), {t}"
            case HandshakeOutcome.EOF:
                got = self.bytes_received
                return f"{head}: server closed the connection (FIN, no alert) after {got} bytes, {t}"
            case HandshakeOutcome.RESET:
                return f"{head}: connection reset (RST) after {self.bytes_received} bytes, {t}"
            case HandshakeOutcome.TIMEOUT:
                return f"{head}: no answer within {t} ({self.bytes_received} bytes received)"
            case HandshakeOutcome.NOT_TLS:
                proto = f" ({self.sniffed})" if self.sniffed else ""
                return f"{head}: server answered in another protocol{proto}: {preview(self.first_bytes)}"
            case HandshakeOutcome.CONNECT_FAILED:
                return f"{head}: TCP connect failed: {self.error}"
            case _:
                return f"{head}: {self.outcome.value}: {self.violation or self.error}"


#: The handshake variant that sends an unrelated name as SNI (checks/handshake.py); its chain
#: tells a certificate minted for any name (certs/mint.py).
UNRELATED_VARIANT = "unrelated-name"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class PeerChain(Observation):
    """The certificate chain exactly as the server sent it (DER), from one handshake."""

    kind: ClassVar[str] = "peer-chain"

    variant: str
    servername: str | None
    chain: tuple[bytes, ...]

    def stall_proof(self, stalled_s: float) -> bool:
        return True  # what the server sent, whenever we read it

    def describe(self) -> str:
        return f"server sent {len(self.chain)} certificate(s) [{self.variant}]"

    def to_data(self) -> dict[str, object]:
        # DER is long; the certificate check renders the parsed chain, here only sizes and count.
        return {
            "kind": self.kind,
            "variant": self.variant,
            "servername": self.servername,
            "certificates": len(self.chain),
            "sizes": [len(c) for c in self.chain],
        }


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RepeatStats(Observation):
    """The default handshake repeated N times: failure rate and latency percentiles."""

    kind: ClassVar[str] = "repeat-stats"

    attempts: int
    failures: int
    outcomes: tuple[tuple[str, int], ...]  # (outcome, count)
    p50_ms: float
    p90_ms: float
    max_ms: float
    slow_connects: int = 0  # connects of >= 0.9 s: a SYN or SYN-ACK was lost and retransmitted

    def describe(self) -> str:
        counts = ", ".join(f"{o} x{n}" for o, n in self.outcomes)
        syn = f", {self.slow_connects} connects needed a SYN retransmission" if self.slow_connects else ""
        return (
            f"{self.failures}/{self.attempts} repeated handshakes failed ({counts}); "
            f"latency p50 {self.p50_ms:.0f} ms, p90 {self.p90_ms:.0f} ms, max {self.max_ms:.0f} ms{syn}"
        )


def preview(data: bytes, limit: int = 60) -> str:
    """The first bytes as a person would want to see them: text if printable, else hex."""
    head = data[:limit]
    try:
        text = head.decode("ascii")
    except UnicodeDecodeError:
        return head.hex(" ")
    if all(c.isprintable() or c in "\r\n\t" for c in text):
        return repr(text)
    return head.hex(" ")


# What web servers answer when client authentication is enforced after the handshake: nginx's 400
# page ("No required SSL certificate was sent"; "The SSL certificate error" for a bad one), and
# the 403/495/496 family (nginx's own codes 495 and 496, Apache's 403 "client certificate").
_CERT_WORDS = (
    b"no required ssl certificate",
    b"ssl certificate error",
    b"client certificate",
    b"certificate required",
)


def client_cert_refusal(a: HandshakeAttempt) -> str | None:
    """The post-handshake answer, when it says a client certificate is missing or refused."""
    if not a.after:
        return None
    if a.after.startswith("alert ") and "certificate" in a.after:
        return a.after
    if not a.after.startswith("http 4"):
        return None
    text = a.after_bytes.lower()
    code = a.after[5:8]
    if code in ("495", "496") or any(w in text for w in _CERT_WORDS):
        line = next((w.decode() for w in _CERT_WORDS if w in text), "")
        return f"HTTP {a.after[5:]}" + (f" saying '{line}'" if line else "")
    return None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class AcceptScan(Observation):
    """What the server accepts (a bounded scan) next to what the default client offers.

    Run when every handshake variant failed the same way: the variants change the client's policy,
    this asks the server directly, version by version, suite by suite, group by group. Names are
    IANA's. ``complete`` is False when the scan's deadline cut it short.
    """

    kind: ClassVar[str] = "accept-scan"

    versions: tuple[str, ...]
    suites13: tuple[str, ...]
    suites12: tuple[str, ...]
    groups: tuple[str, ...]
    schemes: tuple[str, ...]
    client_versions: tuple[str, ...]
    client_suites: tuple[str, ...]
    client_groups: tuple[str, ...]
    client_schemes: tuple[str, ...]
    version_ends: tuple[tuple[str, str], ...] = ()  # (version, how its probe ended) when refused
    handshakes: int = 0
    complete: bool = True

    def describe(self) -> str:
        if not self.versions:
            ends = ", ".join(f"{v}: {e}" for v, e in self.version_ends)
            return f"the server accepted no version offering every suite, group and scheme ({ends})"
        parts = [f"versions {', '.join(self.versions)}"]
        if self.suites13:
            parts.append(f"TLS 1.3 suites {', '.join(self.suites13)}")
        if self.suites12:
            parts.append(
                f"TLS 1.2 suites {', '.join(self.suites12[:6])}{'...' if len(self.suites12) > 6 else ''}"
            )
        if self.groups:
            parts.append(f"groups {', '.join(self.groups)}")
        if self.schemes:
            parts.append(f"signature schemes {', '.join(self.schemes[:6])}")
        cut = "" if self.complete else " (cut short by the deadline)"
        return f"the server accepts {'; '.join(parts)}{cut} [{self.handshakes} probes]"
