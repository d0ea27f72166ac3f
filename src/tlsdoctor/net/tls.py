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

from tlsdoctor.net.http import AnswerEnd, read_answer
from tlsdoctor.net.stream import ReadEnd, Stream
from tlsdoctor.observations.tls import HandshakeAttempt, HandshakeOutcome
from tlsdoctor.wire.handshake import huge_server_hello
from tlsdoctor.wire.http import build_request
from tlsdoctor.wire.reader import DecodeError
from tlsdoctor.wire.records import parse_alert
from tlsdoctor.wire.registry import group_name
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


_HANDSHAKE, _ALERT = 22, 21  # content types (RFC 8446 §5.1)
SERVER_HELLO, CERTIFICATE, CERTIFICATE_REQUEST = 2, 11, 13  # handshake message types (RFC 8446 §4)
NEW_SESSION_TICKET = 4
SERVER_KEY_EXCHANGE = 12
HELLO_RETRY = -2  # recorded for a ServerHello carrying the HelloRetryRequest random
# RFC 8446 §4.1.3: SHA-256("HelloRetryRequest"), the random of a HelloRetryRequest.
_HRR_RANDOM = bytes.fromhex("cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c")
# Per connection (the SSLObject): the handshake message types received, TLS 1.3's encrypted ones too.
_RECEIVED: weakref.WeakKeyDictionary[object, list[int]] = weakref.WeakKeyDictionary()
# Per connection: the key exchange group the server chose (Python's ssl does not say which).
_GROUPS: weakref.WeakKeyDictionary[object, int] = weakref.WeakKeyDictionary()
CertificateHook = Callable[[bytes, bool], None]
TicketHook = Callable[[bytes], None]
# OpenSSL reasons that mean the server broke the protocol (RFC 8446 §4.1.3, §4.4.2; RFC 5246 §7.4).
_VIOLATIONS = {
    "WRONG_CIPHER_RETURNED": "the server chose a cipher suite the client never offered",
    "UNKNOWN_CIPHER_RETURNED": "the server chose a cipher suite the client never offered",
    "WRONG_CURVE": "the server chose a group the client never offered",
    "BAD_KEY_SHARE": "the server sent a key share for a group the client never offered",
    "UNSUPPORTED_ELLIPTIC_CURVE": "the server chose a group the client never offered",
    "CERT_LENGTH_MISMATCH": "the server's Certificate message has inconsistent lengths",
    "LENGTH_MISMATCH": "a handshake message from the server has inconsistent lengths",
    "BAD_PACKET": "a handshake message from the server is malformed",
    "EXCESSIVE_MESSAGE_SIZE": "a handshake message from the server is larger than any valid one",
    "UNEXPECTED_MESSAGE": "the server sent a handshake message out of order",
    "BAD_HANDSHAKE_STATE": "the server sent a handshake message out of order",
}


def observe(
    context: ssl.SSLContext,
    on_certificate: CertificateHook | None = None,
    on_ticket: TicketHook | None = None,
) -> None:
    """Watch the handshake messages every connection of ``context`` receives, decrypted.

    TLS 1.3 encrypts the CertificateRequest and Certificate (RFC 8446 §4.3), so only the TLS
    library sees them; OpenSSL's message callback (``SSLContext._msg_callback``, the hook behind
    ``openssl s_client -msg``) reports each one before it is processed. It tells whether the server
    asked for a client certificate, and lets ``on_certificate(body, tls13)`` act on the server's
    chain before it is verified; ``on_ticket(body)`` gets each TLS 1.3 NewSessionTicket (its
    early_data extension is how a server offers 0-RTT). Without the hook (another Python) nothing
    is observed.
    """
    if not hasattr(ssl.SSLContext, "_msg_callback"):
        return

    def received(
        conn: object, direction: str, version: int, content_type: int, msg_type: int, data: bytes
    ) -> None:
        if direction != "read" or content_type != _HANDSHAKE:
            return
        try:
            hrr = msg_type == SERVER_HELLO and bytes(data[6:38]) == _HRR_RANDOM
            _RECEIVED.setdefault(conn, []).append(HELLO_RETRY if hrr else int(msg_type))
            if msg_type in (SERVER_HELLO, SERVER_KEY_EXCHANGE) and not hrr:
                group = chosen_group(int(msg_type), bytes(data[4:]))
                if group is not None:
                    _GROUPS[conn] = group
            if on_certificate is not None and msg_type == CERTIFICATE:
                on_certificate(bytes(data[4:]), int(version) >= ssl.TLSVersion.TLSv1_3)
            if on_ticket is not None and msg_type == NEW_SESSION_TICKET:
                on_ticket(bytes(data[4:]))
        except Exception:  # a callback inside OpenSSL must never raise
            return

    context._msg_callback = received  # type: ignore[attr-defined]


def chosen_group(msg_type: int, body: bytes) -> int | None:
    """The group in a ServerHello's key_share (TLS 1.3, RFC 8446 §4.2.8) or an ECDHE
    ServerKeyExchange's named curve (TLS 1.2, RFC 8422 §5.4: curve_type 3, then the group)."""
    if msg_type == SERVER_KEY_EXCHANGE:
        return int.from_bytes(body[1:3], "big") if len(body) >= 3 and body[0] == 3 else None
    from tlsdoctor.wire.handshake import parse_server_hello

    try:
        group = parse_server_hello(body).key_share_group
    except (DecodeError, ValueError):
        return None
    return None if group is None else int(group)


def negotiated_group(obj: ssl.SSLObject) -> str | None:
    """The name of the key exchange group the server chose on ``obj`` (None: not seen)."""
    code = _GROUPS.get(obj)
    if code is None:
        return None
    return group_name(code)


def received_types(obj: ssl.SSLObject) -> list[int] | None:
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
    bios: tuple[ssl.MemoryBIO, ssl.MemoryBIO] | None = None  # (incoming, outgoing): to use the session on


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
    alpn_offered: tuple[str, ...] = ()
    start: float = dataclasses.field(default_factory=time.monotonic)
    timed: tuple[tuple[float, ...], float] | None = None  # (turns, gap) frozen at the handshake's end
    first_turn: int = 0

    def __post_init__(self) -> None:
        self.first_turn = self.stream.timing_mark()

    def freeze_timing(self, then: tuple[int, float] | None = None) -> None:
        """Keep the handshake's own round trips, before an HTTP request adds the server's think time.
        ``then``: (turns, gap) counted when a request went out with our Finished; of what came after,
        only the first round trip (Finished -> the server's first records) is the handshake's."""
        upto, gap = then if then is not None else (len(self.stream.turns_ms), self.stream.gap_ms)
        turns = self.stream.turns_ms[self.first_turn : upto + (1 if then is not None else 0)]
        self.timed = (tuple(round(t, 1) for t in turns), round(gap, 1))

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
        violation: str | None = None,
        after: str | None = None,
        after_bytes: bytes = b"",
    ) -> HandshakeAttempt:
        head = bytes(self.stream.head)
        if self.timed is None:
            self.freeze_timing()
        turns, gap = self.timed or ((), 0.0)
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
            violation=violation,
            after=after,
            after_bytes=after_bytes,
            alpn_offered=self.alpn_offered,
            alpn=self.obj.selected_alpn_protocol() if self.obj is not None and self.alpn_offered else None,
            group=negotiated_group(self.obj) if self.obj is not None else None,
            turns_ms=turns,
            gap_ms=gap,
        )

    def violation(self, reason: str, text: str) -> str | None:
        """What the server did against the protocol, from OpenSSL's reason and what was received."""
        seen = received_types(self.obj) if self.obj is not None else None
        seen = seen or []
        if seen.count(HELLO_RETRY) >= 2:
            return "the server sent a second HelloRetryRequest (RFC 8446 §4.1.4 allows one)"
        if reason in _VIOLATIONS:
            return _VIOLATIONS[reason]
        if "ASN1" in text or reason.startswith(("ASN1_", "X509_")) or "BAD_CERTIFICATE" in reason:
            if CERTIFICATE in seen:
                return "the server's Certificate message holds something that is not a DER certificate"
            return "the server sent a message the TLS library cannot decode"
        return None

    def head_alert(self) -> str | None:
        """The alert the server answered with, read from its bytes: OpenSSL names only the
        descriptions it knows; an unassigned code is the server's fault, not an 'unknown error'."""
        head = bytes(self.stream.head)
        if len(head) < 7 or head[0] != _ALERT:
            return None
        try:
            alert = parse_alert(head[5:7])
        except DecodeError:
            return None
        return str(alert.description).lower() if alert.description.known else f"unassigned({head[6]})"

    def from_error(self, exc: ssl.SSLError) -> HandshakeAttempt:
        """Classify a TLS library error: not TLS, an alert received, a FIN, or our own refusal."""
        reason = exc.reason or ""
        text = str(exc)
        if self.not_tls:
            return self.attempt(HandshakeOutcome.NOT_TLS, error=text)
        alert = alert_name(reason)
        if alert:
            return self.attempt(HandshakeOutcome.ALERT, alert=alert, error=text)
        raw = self.head_alert()
        if raw is not None and not raw.startswith("unassigned"):
            # An alert Python's error table does not name (3.11 has no no_application_protocol):
            # the server's first record says which it was.
            return self.attempt(HandshakeOutcome.ALERT, alert=raw, error=text)
        if raw is not None:
            return self.attempt(
                HandshakeOutcome.ALERT,
                alert=raw,
                error=text,
                violation=f"the server sent a fatal alert with a code no RFC assigns ({raw[11:-1]})",
            )
        violation = self.violation(reason, text)
        if violation is not None:
            return self.attempt(HandshakeOutcome.LOCAL_REJECT, error=text, violation=violation)
        if isinstance(exc, ssl.SSLEOFError) or reason == "UNEXPECTED_EOF_WHILE_READING":
            return self.attempt(HandshakeOutcome.EOF, error=text, violation=self.abandoned_retry())
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
        violation = self.abandoned_retry() if outcome is not HandshakeOutcome.TIMEOUT else None
        return self.attempt(outcome, error=self.stream.error or default, violation=violation)

    def abandoned_retry(self) -> str | None:
        """A HelloRetryRequest came, then the server hung up on the ClientHello that answered it."""
        seen = (received_types(self.obj) if self.obj is not None else None) or []
        if seen.count(HELLO_RETRY) >= 2:
            return "the server sent a second HelloRetryRequest (RFC 8446 §4.1.4 allows one)"
        if HELLO_RETRY in seen:
            return (
                "the server asked for another key share (HelloRetryRequest), then ended the handshake "
                "on the ClientHello that carried it"
            )
        return None

    def oversized(self) -> HandshakeAttempt | None:
        """The server's first handshake message claims a length no ServerHello has: stop waiting."""
        claimed = huge_server_hello(bytes(self.stream.head))
        if not claimed:
            return None
        return self.attempt(
            HandshakeOutcome.ERROR,
            error=f"ServerHello claims {claimed} bytes",
            violation=f"the server's ServerHello claims {claimed:,} bytes (a real one is a few hundred)",
        )


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
    http: bool = False,
    alpn: tuple[str, ...] = (),
    session: ssl.SSLSession | None = None,
) -> HandshakeResult:
    """Run one handshake on a connected stream; never raises for network or TLS failures.

    ``alpn`` is what ``context`` offers (an SSLContext cannot be asked), recorded with the answer;
    ``session``: a session of an earlier connection to offer for resumption (scan/sessions.py)."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = context.wrap_bio(incoming, outgoing, server_side=False, server_hostname=servername, session=session)
    rec = _Recorder(stream, variant, address, port, servername, client_cert_sent, obj, alpn)
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
        if end is ReadEnd.DATA and (huge := rec.oversized()) is not None:
            return HandshakeResult(huge)
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
    # A server that asked for a certificate we did not send is watched a little longer, and asked
    # one HTTP request: some enforce client authentication only afterwards (nginx's 400 page).
    asked = bool(cert_requested(obj)) and not client_cert_sent
    # The request is HTTP/1.1: not on a connection where the server chose h2 (RFC 9113 §3.4 wants
    # the HTTP/2 preface there; a line of HTTP/1.1 would be answered as a protocol error).
    h2 = obj.selected_alpn_protocol() == "h2"
    late: str | None = None
    after, first = (None, b"")
    requested = False
    if version == "TLSv1.3" and asked and http and not h2:
        # Asked for a certificate we did not send: the request goes out right behind our Finished, as
        # a browser's would, and the first of the rejection (alert, hang-up) and the answer settles it,
        # without first sitting out the grace period for an alert that a lenient server never sends.
        then = (len(stream.turns_ms), stream.gap_ms)
        after, first = await http_answer(stream, obj, incoming, outgoing, servername or address)
        rec.freeze_timing(then)
        requested = True
        if after is not None and after.startswith("alert "):
            late, after, first = after.removeprefix("alert "), None, b""
    elif version == "TLSv1.3":
        late = await _late_alert(stream, obj, incoming, min(grace, stream.remaining()), keep_listening=asked)
    if late is not None and late != CLOSED:
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
    if not requested:
        rec.freeze_timing()
    if not requested and late is None and http and not h2 and (asked or port in HTTPS_PORTS):
        after, first = await http_answer(stream, obj, incoming, outgoing, servername or address)
    # A hang-up after a CertificateRequest we left unanswered, whether within the grace period or
    # on our request (a loaded server takes longer than the grace), is the late rejection itself.
    if late == CLOSED or (asked and after == CLOSED):
        return HandshakeResult(
            rec.attempt(
                HandshakeOutcome.EOF,
                version=version,
                cipher=cipher,
                error="the server closed the connection right after the handshake, without an alert",
                after="closed",
            ),
            chain,
        )
    return HandshakeResult(
        rec.attempt(HandshakeOutcome.OK, version=version, cipher=cipher, after=after, after_bytes=first),
        chain,
        obj,
        (incoming, outgoing),
    )


CLOSED = "closed"  # _late_alert's word for a hang-up without an alert
HTTPS_PORTS = frozenset({443, 4443, 8443, 9443, 10443})
HTTP_ANSWER_S = 1.0  # the most one request may add to a handshake that already succeeded
HTTP_ANSWER_BYTES = 16 * 1024


class TlsChannel:
    """A finished handshake's session as a channel of plaintext (net/http.py's ``Channel``): what the
    HTTP answer reader reads after a handshake. A close_notify reads as EOF; a TLS-level failure as
    ERROR, said in ``tls_end`` ("alert <name>", or CLOSED for one that is not an alert)."""

    def __init__(
        self, stream: Stream, obj: ssl.SSLObject, incoming: ssl.MemoryBIO, outgoing: ssl.MemoryBIO
    ) -> None:
        self.stream, self.obj, self.incoming, self.outgoing = stream, obj, incoming, outgoing
        self.error = ""
        self.tls_end: str | None = None

    async def send(self, data: bytes) -> ReadEnd | None:
        """Encrypt and send ``data``: the stream's end, or None when the session refuses to write."""
        try:
            self.obj.write(data)
        except ssl.SSLError:
            return None
        return await self.stream.send(self.outgoing.read())

    async def recv(self, limit: float | None = None) -> tuple[ReadEnd, bytes]:
        """The plaintext the session has, reading the stream for at most ``limit`` seconds (and until
        its deadline) when it has none: records without application data (tickets) are waited past."""
        deadline = time.monotonic() + (self.stream.remaining() if limit is None else limit)
        while True:
            try:
                data = self.obj.read(HTTP_ANSWER_BYTES)
                return (ReadEnd.DATA, data) if data else (ReadEnd.EOF, b"")
            except ssl.SSLWantReadError:
                pass
            except ssl.SSLZeroReturnError:
                return ReadEnd.EOF, b""
            except ssl.SSLError as exc:
                alert = alert_name(exc.reason)
                self.tls_end = f"alert {alert}" if alert else CLOSED
                self.error = self.tls_end if alert else exc.reason or str(exc)
                return ReadEnd.ERROR, b""
            left = deadline - time.monotonic()
            if left <= 0:
                return ReadEnd.TIMEOUT, b""
            end, raw = await self.stream.recv(limit=left)
            if end is not ReadEnd.DATA:
                self.error = self.stream.error
                return end, b""
            self.incoming.write(raw)


async def http_answer(
    stream: Stream,
    obj: ssl.SSLObject,
    incoming: ssl.MemoryBIO,
    outgoing: ssl.MemoryBIO,
    host: str,
    method: str = "GET",
    keep: int = 2048,
) -> tuple[str | None, bytes]:
    """One ``GET /`` (or ``HEAD /``) inside the session and the start of the answer: ("http 400 ...",
    bytes), ("closed", b"") when the server hangs up, (None, b"") when it stays silent within the bound.
    ``keep``: how many bytes of the answer to return (at most HTTP_ANSWER_BYTES are read, by
    net/http.read_answer, for at most HTTP_ANSWER_S)."""
    channel = TlsChannel(stream, obj, incoming, outgoing)
    sent = await channel.send(build_request(method, "/", host))
    if sent is None:
        return None, b""
    if sent is not ReadEnd.DATA:
        return CLOSED, b""
    within = min(HTTP_ANSWER_S, stream.remaining())
    answer = await read_answer(channel, within=within, cap=HTTP_ANSWER_BYTES, head_only=method == "HEAD")
    got = answer.data
    if channel.tls_end is not None:
        return channel.tls_end, got
    if not got:
        return (CLOSED if answer.end in (AnswerEnd.CLOSED, AnswerEnd.RESET) else None), b""
    status = got.split(b"\r\n", 1)[0][:80].decode("latin-1")
    return (f"http {status[9:]}" if status.startswith("HTTP/") else "non-http answer"), got[:keep]


async def _late_alert(
    stream: Stream, obj: ssl.SSLObject, incoming: ssl.MemoryBIO, wait: float, *, keep_listening: bool = False
) -> str | None:
    """An alert the server sends right after the handshake (certificate_required), or CLOSED when
    it hangs up without one. ``keep_listening``: a ticket does not end the wait (the server asked
    for a certificate we did not send, and may reject it after issuing tickets)."""
    if wait <= 0:
        return None
    deadline = time.monotonic() + wait
    while (left := deadline - time.monotonic()) > 0:
        end, data = await stream.recv(limit=left)
        if end in (ReadEnd.EOF, ReadEnd.RESET):
            return CLOSED
        if end is not ReadEnd.DATA:
            return None
        incoming.write(data)
        try:
            obj.read(1)
            return None  # application data: the server is happy
        except ssl.SSLWantReadError:
            # Something decoded cleanly (a NewSessionTicket): the server accepted our Finished,
            # since a server that rejects us sends its alert instead of tickets.
            if not keep_listening:
                return None
        except ssl.SSLZeroReturnError:
            return CLOSED
        except ssl.SSLError as exc:
            return alert_name(exc.reason) or CLOSED
    return None
