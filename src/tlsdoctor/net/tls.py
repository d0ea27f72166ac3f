"""Drive a standard-library TLS handshake over a Stream and say exactly how it ended.

``ssl.SSLObject`` over memory BIOs (not ``asyncio``'s TLS transport) so that we see every
byte: a FIN is told from an RST, an alert from a local refusal, and a server that answers
in another protocol is caught with its first bytes.
"""

from __future__ import annotations

import dataclasses
import ssl
import time
import weakref
from collections.abc import Callable

from tlsdoctor.net.stream import ReadEnd, Stream
from tlsdoctor.observations.tls import HandshakeAttempt, HandshakeOutcome
from tlsdoctor.wire.sniff import looks_like_tls, sniff

_ALERT_PREFIXES = ("SSLV3_ALERT_", "TLSV13_ALERT_", "TLSV1_ALERT_", "TLSV1_")
# OpenSSL reasons that name an alert without one of the usual prefixes.
_ALERT_REASONS = {
    "TLSV1_UNRECOGNIZED_NAME": "unrecognized_name",
    "TLSV1_BAD_CERTIFICATE_STATUS_RESPONSE": "bad_certificate_status_response",
    "TLSV1_CERTIFICATE_UNOBTAINABLE": "certificate_unobtainable",
    "TLSV1_UNSUPPORTED_EXTENSION": "unsupported_extension",
    "TLSV1_BAD_CERTIFICATE_HASH_VALUE": "bad_certificate_hash_value",
}
# Reasons meaning the bytes received were not TLS at all.
_NOT_TLS_REASONS = {
    "WRONG_VERSION_NUMBER",
    "PACKET_LENGTH_TOO_LONG",
    "HTTP_REQUEST",
    "HTTPS_PROXY_REQUEST",
    "RECORD_LAYER_FAILURE",
    "UNKNOWN_PROTOCOL",
    "WRONG_SSL_VERSION",
}
# How long to listen after a successful handshake for a post-handshake alert
# (TLS 1.3 servers reject a missing client certificate only after our Finished, RFC 8446 §4.4.2.4).
POST_HANDSHAKE_GRACE_S = 0.25


_HANDSHAKE = 22  # content type (RFC 8446 §5.1)
CERTIFICATE, CERTIFICATE_REQUEST = 11, 13  # handshake message types (RFC 8446 §4)
# Per connection (the SSLObject): the handshake message types received, TLS 1.3's encrypted ones too.
_RECEIVED: weakref.WeakKeyDictionary[object, set[int]] = weakref.WeakKeyDictionary()
CertificateHook = Callable[[bytes, bool], None]


def observe(context: ssl.SSLContext, on_certificate: CertificateHook | None = None) -> None:
    """Watch the handshake messages every connection of ``context`` receives, decrypted.

    TLS 1.3 encrypts the CertificateRequest and Certificate (RFC 8446 §4.3), so only the TLS
    library sees them; OpenSSL's message callback (``SSLContext._msg_callback``, the hook behind
    ``openssl s_client -msg``) reports each one before it is processed. It tells whether the server
    asked for a client certificate, and lets ``on_certificate(body, tls13)`` act on the server's
    chain before it is verified. Without the hook (another Python) nothing is observed.
    """
    if not hasattr(ssl.SSLContext, "_msg_callback"):
        return

    def received(
        conn: object, direction: str, version: int, content_type: int, msg_type: int, data: bytes
    ) -> None:
        if direction != "read" or content_type != _HANDSHAKE:
            return
        try:
            _RECEIVED.setdefault(conn, set()).add(int(msg_type))
            if on_certificate is not None and msg_type == CERTIFICATE:
                on_certificate(bytes(data[4:]), int(version) >= ssl.TLSVersion.TLSv1_3)
        except Exception:  # a callback inside OpenSSL must never raise
            return

    context._msg_callback = received  # type: ignore[attr-defined]


def received_types(obj: ssl.SSLObject) -> set[int] | None:
    """The handshake message types ``obj`` received (None when the context was not observed)."""
    return _RECEIVED.get(obj)


def cert_requested(obj: ssl.SSLObject) -> bool | None:
    """Whether the server sent a CertificateRequest (None: could not tell)."""
    seen = received_types(obj)
    return None if seen is None else CERTIFICATE_REQUEST in seen


@dataclasses.dataclass(slots=True)
class HandshakeResult:
    """The observation plus what only a live connection can give: the chain and the session."""

    attempt: HandshakeAttempt
    chain: tuple[bytes, ...] = ()
    tls: ssl.SSLObject | None = None


def alert_name(reason: str | None) -> str | None:
    """The alert description from an OpenSSL reason like ``SSLV3_ALERT_HANDSHAKE_FAILURE``."""
    if not reason:
        return None
    if reason in _ALERT_REASONS:
        return _ALERT_REASONS[reason]
    for prefix in _ALERT_PREFIXES[:3]:
        if reason.startswith(prefix):
            return reason[len(prefix) :].lower()
    return None


def peer_chain(obj: ssl.SSLObject) -> tuple[bytes, ...]:
    """The chain exactly as the server sent it (DER), leaf first."""
    public = getattr(obj, "get_unverified_chain", None)  # Python >= 3.13
    if public is not None:
        return tuple(public())
    inner = getattr(obj, "_sslobj", None)
    getter = getattr(inner, "get_unverified_chain", None)  # Python 3.10-3.12: private
    if getter is not None:
        certs = getter() or []
        return tuple(c.public_bytes(ssl._ssl.ENCODING_DER) for c in certs)  # type: ignore[attr-defined]
    leaf = obj.getpeercert(binary_form=True)
    return (leaf,) if leaf else ()


@dataclasses.dataclass(slots=True)
class _Recorder:
    """Builds the HandshakeAttempt for one handshake from what the stream saw."""

    stream: Stream
    variant: str
    address: str
    port: int
    servername: str | None
    client_cert_sent: bool
    obj: ssl.SSLObject | None = None
    start: float = dataclasses.field(default_factory=time.monotonic)

    @property
    def not_tls(self) -> bool:
        head = bytes(self.stream.head)
        return bool(head) and not looks_like_tls(head)

    def attempt(
        self,
        outcome: HandshakeOutcome,
        *,
        alert: str | None = None,
        error: str = "",
        version: str | None = None,
        cipher: str | None = None,
        verify_code: int | None = None,
        verify_message: str | None = None,
    ) -> HandshakeAttempt:
        head = bytes(self.stream.head)
        return HandshakeAttempt(
            variant=self.variant,
            address=self.address,
            port=self.port,
            servername=self.servername,
            outcome=outcome,
            elapsed_ms=(time.monotonic() - self.start) * 1000,
            version=version,
            cipher=cipher,
            alert=alert,
            verify_code=verify_code,
            verify_message=verify_message,
            error=error,
            bytes_sent=self.stream.sent,
            bytes_received=self.stream.received,
            first_bytes=head[:64],
            sniffed=sniff(head).protocol if outcome is HandshakeOutcome.NOT_TLS else None,
            client_cert_sent=self.client_cert_sent,
            cert_requested=cert_requested(self.obj) if self.obj is not None else None,
        )

    def from_error(self, exc: ssl.SSLError) -> HandshakeAttempt:
        """Classify a TLS library error: not TLS, an alert received, a FIN, or our own refusal."""
        reason = exc.reason or ""
        text = str(exc)
        if self.not_tls:
            return self.attempt(HandshakeOutcome.NOT_TLS, error=text)
        alert = alert_name(reason)
        if alert:
            return self.attempt(HandshakeOutcome.ALERT, alert=alert, error=text)
        if isinstance(exc, ssl.SSLEOFError) or reason == "UNEXPECTED_EOF_WHILE_READING":
            return self.attempt(HandshakeOutcome.EOF, error=text)
        if reason in _NOT_TLS_REASONS:
            return self.attempt(HandshakeOutcome.NOT_TLS, error=text)
        return self.attempt(HandshakeOutcome.LOCAL_REJECT, error=text)

    def from_transport(self, end: ReadEnd) -> HandshakeAttempt:
        """Classify a transport end (RST, FIN, silence, byte cap) during the handshake."""
        if self.not_tls and end in (ReadEnd.TIMEOUT, ReadEnd.CAP, ReadEnd.EOF):
            return self.attempt(HandshakeOutcome.NOT_TLS, error="the server answered in another protocol")
        outcome = {
            ReadEnd.RESET: HandshakeOutcome.RESET,
            ReadEnd.TIMEOUT: HandshakeOutcome.TIMEOUT,
            ReadEnd.EOF: HandshakeOutcome.EOF,
        }.get(end, HandshakeOutcome.ERROR)
        default = {
            ReadEnd.TIMEOUT: "no answer before the deadline",
            ReadEnd.EOF: "connection closed (FIN)",
            ReadEnd.CAP: "the server sent more than the byte cap",
        }.get(end, end.value)
        return self.attempt(outcome, error=self.stream.error or default)


async def handshake(
    stream: Stream,
    context: ssl.SSLContext,
    *,
    variant: str,
    address: str,
    port: int,
    servername: str | None,
    client_cert_sent: bool = False,
    grace: float = POST_HANDSHAKE_GRACE_S,
) -> HandshakeResult:
    """Run one handshake on a connected stream; never raises for network or TLS failures."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = context.wrap_bio(incoming, outgoing, server_side=False, server_hostname=servername)
    rec = _Recorder(stream, variant, address, port, servername, client_cert_sent, obj)
    while True:
        try:
            obj.do_handshake()
            break
        except ssl.SSLWantReadError:
            pass
        except ssl.SSLCertVerificationError as exc:
            await stream.send(outgoing.read())  # let the server see our alert, as a real client would
            return HandshakeResult(
                rec.attempt(
                    HandshakeOutcome.VERIFY_FAILED,
                    verify_code=exc.verify_code,
                    verify_message=exc.verify_message,
                    error=exc.reason or str(exc),
                )
            )
        except ssl.SSLError as exc:
            return HandshakeResult(rec.from_error(exc))
        end = await stream.send(outgoing.read())
        if end is not ReadEnd.DATA:
            return HandshakeResult(rec.from_transport(end))
        end, data = await stream.recv()
        if end is ReadEnd.DATA:
            incoming.write(data)
        elif end is ReadEnd.EOF and not rec.not_tls:
            incoming.write_eof()  # OpenSSL then reports the EOF in its own words
        else:
            return HandshakeResult(rec.from_transport(end))

    # Complete on our side: flush our Finished and listen briefly for a rejection.
    await stream.send(outgoing.read())
    version, cipher = obj.version(), (obj.cipher() or ("", "", 0))[0]
    chain = peer_chain(obj)
    # Only TLS 1.3 servers reject after our Finished; before 1.3 the rejection is in the handshake.
    late = None
    if version == "TLSv1.3":
        late = await _late_alert(stream, obj, incoming, min(grace, stream.remaining()))
    if late is not None:
        return HandshakeResult(
            rec.attempt(
                HandshakeOutcome.ALERT,
                alert=late,
                version=version,
                cipher=cipher,
                error=f"alert {late} right after the handshake",
            ),
            chain,
        )
    return HandshakeResult(rec.attempt(HandshakeOutcome.OK, version=version, cipher=cipher), chain, obj)


async def _late_alert(stream: Stream, obj: ssl.SSLObject, incoming: ssl.MemoryBIO, wait: float) -> str | None:
    """An alert the server sends right after the handshake (certificate_required), if any."""
    if wait <= 0:
        return None
    deadline = time.monotonic() + wait
    while (left := deadline - time.monotonic()) > 0:
        end, data = await stream.recv(limit=left)
        if end is not ReadEnd.DATA:
            return None
        incoming.write(data)
        try:
            obj.read(1)
            return None  # application data: the server is happy
        except ssl.SSLWantReadError:
            # Something decoded cleanly (a NewSessionTicket): the server accepted our Finished,
            # since a server that rejects us sends its alert instead of tickets.
            return None
        except ssl.SSLError as exc:
            return alert_name(exc.reason)
    return None
