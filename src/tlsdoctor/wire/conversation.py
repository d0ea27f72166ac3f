"""The client side of a TLS handshake as a sans-IO state machine, h11 style.

``receive_data(bytes)`` whatever the socket gave (``b""`` at EOF), then call
``next_event()`` until it returns :data:`NEED_DATA` (feed more) or :data:`DONE` (stop
reading). Parsing happens lazily in ``next_event``, one event at a time, like h11's
``_connection.py``. Bytes held are capped (``max_buffer``): a hostile or broken peer
ends the conversation with a :class:`ProtocolErrorEvent`, never with unbounded memory.

What is a terminal event: :class:`NotTlsEvent`, :class:`EncryptedEvent`,
:class:`SSLv2Event`, :class:`ProtocolErrorEvent`, :class:`ClosedEvent`, and in a conversation that
reads a TLS 1.3 server's encrypted flight (``flight_seed``, wire/flight13.py)
:class:`ServerFinishedEvent` and :class:`UnreadableFlightEvent`.
"""

from __future__ import annotations

from enum import Enum
from typing import Final, NamedTuple

from .codepoints import ContentType, ExtensionType, HandshakeType, ProtocolVersion
from .extensions import Extension, parse_extensions
from .flight13 import FlightReader, client_hellos, start
from .handshake import MAX_HANDSHAKE_MESSAGE, HandshakeReassembler, ServerHello, parse_server_hello
from .reader import DecodeError, Reader
from .records import (
    RECORD_HEADER_LEN,
    Alert,
    RecordBuffer,
    SSLv2ServerHello,
    detect_sslv2,
    looks_like_tls_record,
    parse_alert,
    parse_sslv2_server_hello,
)
from .sct import CertificateStatus, parse_certificate_status
from .server_messages import (
    CertificateRequest,
    ServerKeyExchange,
    parse_certificate,
    parse_certificate_request,
    parse_server_hello_done,
    parse_server_key_exchange,
)

__all__ = [
    "DONE",
    "MAX_BUFFER",
    "NEED_DATA",
    "AlertEvent",
    "CertificateRequestEvent",
    "CertificateStatusEvent",
    "CertificatesEvent",
    "ClientConversation",
    "ClosedEvent",
    "EncryptedEvent",
    "EncryptedExtensionsEvent",
    "Event",
    "HandshakeMessageEvent",
    "HelloRetryEvent",
    "NotTlsEvent",
    "ProtocolErrorEvent",
    "SSLv2Event",
    "ServerFinishedEvent",
    "ServerHelloDoneEvent",
    "ServerHelloEvent",
    "ServerKeyExchangeEvent",
    "UnreadableFlightEvent",
]

MAX_BUFFER = 256 * 1024
MAX_RECORDS = 4096  # far more than any handshake needs; stops endless tiny records
NOT_TLS_SAMPLE = 64  # bytes of a non-TLS answer kept for the report / sniffer


class _Sentinel(Enum):
    """h11-style sentinels: not events, instructions to the caller."""

    NEED_DATA = "NEED_DATA"
    DONE = "DONE"


NEED_DATA: Final = _Sentinel.NEED_DATA
DONE: Final = _Sentinel.DONE


class ServerHelloEvent(NamedTuple):
    hello: ServerHello
    record_version: ProtocolVersion


class HelloRetryEvent(NamedTuple):
    """RFC 8446 §4.1.4: the server wants another ClientHello (``hello.key_share_group``)."""

    hello: ServerHello


class CertificatesEvent(NamedTuple):
    certificates: tuple[bytes, ...]  # DER, in the order sent
    # TLS 1.3: each CertificateEntry's extensions (RFC 8446 §4.4.2), in step with ``certificates``
    entry_extensions: tuple[tuple[Extension, ...], ...] = ()


class ServerKeyExchangeEvent(NamedTuple):
    key_exchange: ServerKeyExchange


class CertificateRequestEvent(NamedTuple):
    request: CertificateRequest


class ServerHelloDoneEvent(NamedTuple):
    """RFC 5246 §7.4.5: the server's TLS <= 1.2 flight is complete."""


class CertificateStatusEvent(NamedTuple):
    """RFC 6066 §8: the server stapled an OCSP response (wire/sct.py parses the message)."""

    status: CertificateStatus


class HandshakeMessageEvent(NamedTuple):
    """A plaintext handshake message this client does not interpret (e.g. CertificateStatus)."""

    msg_type: HandshakeType
    length: int


class AlertEvent(NamedTuple):
    alert: Alert


class EncryptedExtensionsEvent(NamedTuple):
    """RFC 8446 §4.3.1, decrypted: what a TLS 1.3 server answered to the hello's extensions."""

    extensions: tuple[Extension, ...]


class ServerFinishedEvent(NamedTuple):
    """RFC 8446 §4.4.4, decrypted: the end of a TLS 1.3 server's first flight. ``verified``: its
    verify_data matches the transcript (every message read is the server's). Terminal."""

    verified: bool


class UnreadableFlightEvent(NamedTuple):
    """A TLS 1.3 flight this conversation was asked to read and cannot: why, in words. Terminal."""

    reason: str


class EncryptedEvent(NamedTuple):
    """The first record we cannot read: encrypted handshake after a TLS 1.3 ServerHello
    (RFC 8446 §5.2), or what follows a ChangeCipherSpec in TLS <= 1.2. Terminal."""

    content_type: ContentType
    length: int


class NotTlsEvent(NamedTuple):
    """The peer's first bytes are not TLS (HTTP, SSH, a banner...). Terminal."""

    first_bytes: bytes


class SSLv2Event(NamedTuple):
    """The server answered in SSL 2.0. Terminal."""

    msg_type: int
    server_hello: SSLv2ServerHello | None = None
    error_code: int | None = None


class ProtocolErrorEvent(NamedTuple):
    """Bytes that break TLS framing or the handshake, or a cap was hit. Terminal."""

    error: DecodeError


class ClosedEvent(NamedTuple):
    """EOF from the peer. ``pending`` bytes were held in an incomplete record/message."""

    pending: int


Event = (
    ServerHelloEvent | HelloRetryEvent | CertificatesEvent | ServerKeyExchangeEvent | CertificateRequestEvent
    | ServerHelloDoneEvent | CertificateStatusEvent | HandshakeMessageEvent | AlertEvent | EncryptedEvent
    | NotTlsEvent | SSLv2Event | ProtocolErrorEvent | ClosedEvent | EncryptedExtensionsEvent
    | ServerFinishedEvent | UnreadableFlightEvent
)  # fmt: skip


class ClientConversation:
    """Reads the server's side of a handshake started by a ClientHello we sent. ``flight_seed``: the
    seed our TLS 1.3 key shares were derived from (wire/keyshares.py); with it, a TLS 1.3 server's
    encrypted flight is decrypted and read up to its Finished (wire/flight13.py), else it ends the
    conversation as an :class:`EncryptedEvent`. Tell it what was sent (:meth:`sent`)."""

    def __init__(
        self,
        max_buffer: int = MAX_BUFFER,
        max_message: int = MAX_HANDSHAKE_MESSAGE,
        *,
        flight_seed: bytes | None = None,
    ) -> None:
        self._records = RecordBuffer()
        self._handshake = HandshakeReassembler(max_message)
        self._max_buffer = max_buffer
        self._mode: str = "sniff"  # sniff -> tls | sslv2; done
        self._eof = False
        self._done = False
        self._record_count = 0
        self._server_hello: ServerHello | None = None
        self._bytes_received = 0
        self._hrr_seen = False
        self._message_record_version = ProtocolVersion.TLS1_2
        self._seed = flight_seed
        self._sent: list[bytes] = []  # the ClientHello messages sent (flight_seed only)
        self._hrr: bytes | None = None
        self._flight: FlightReader | str | None = None  # str: why the flight cannot be read
        self._queued: list[Event] = []

    @property
    def done(self) -> bool:
        return self._done

    @property
    def bytes_received(self) -> int:
        return self._bytes_received

    @property
    def server_hello(self) -> ServerHello | None:
        return self._server_hello

    def sent(self, data: bytes) -> None:
        """Bytes we sent: the ClientHellos in them join the transcript a TLS 1.3 flight is keyed by."""
        if self._seed is not None:
            self._sent += client_hellos(data)

    def receive_data(self, data: bytes) -> None:
        """Bytes from the peer; ``b""`` means EOF."""
        if self._eof:
            raise RuntimeError("receive_data after EOF")  # caller bug
        if not data:
            self._eof = True
            return
        self._bytes_received += len(data)
        if self._done:
            return  # nothing more will be parsed; do not hold it
        self._records.feed(data)

    def next_event(self) -> Event | _Sentinel:
        if self._queued:
            return self._queued.pop(0)
        if self._done:
            return DONE
        try:
            while (event := self._step()) is None:  # None: progress made, no event yet
                pass
        except DecodeError as exc:
            return self._finish(ProtocolErrorEvent(error=exc))
        if event is NEED_DATA:
            held = self._records.buffered + self._handshake.pending
            if held > self._max_buffer:
                err = DecodeError(
                    self._records.offset, "buffer", f"{held} bytes held, cap {self._max_buffer}"
                )
                return self._finish(ProtocolErrorEvent(error=err))
            if self._eof:
                return self._finish(ClosedEvent(pending=held))
        return event

    def _finish(self, event: Event) -> Event:
        self._done = True
        self._records.take_buffered()
        return event

    # -- one parsing step -------------------------------------------------------------
    def _step(self) -> Event | _Sentinel | None:
        if self._mode == "sniff":
            return self._sniff()
        if self._mode == "sslv2":
            return self._sslv2()
        message = self._handshake.next_message()
        if message is not None:
            return self._on_handshake(message.msg_type, message.body, message.offset)
        record = self._records.next_record()
        if record is None:
            return NEED_DATA
        self._record_count += 1
        if self._record_count > MAX_RECORDS:
            raise DecodeError(record.offset, "records", f"more than {MAX_RECORDS} records")
        ctype = record.content_type
        tls13 = (
            self._server_hello is not None and self._server_hello.selected_version >= ProtocolVersion.TLS1_3
        )
        if ctype == ContentType.HANDSHAKE:
            if self._handshake.pending == 0:
                self._message_record_version = record.version
            self._handshake.feed(record.fragment)
            return None
        if ctype == ContentType.ALERT:
            return AlertEvent(alert=parse_alert(record.fragment, record.offset + RECORD_HEADER_LEN))
        if ctype == ContentType.CHANGE_CIPHER_SPEC:
            if record.fragment != b"\x01":
                raise DecodeError(record.offset, "change_cipher_spec", f"body {record.fragment.hex()}")
            if tls13 or self._hrr_seen:  # RFC 8446 §5, §D.4: middlebox-compatibility CCS, ignored
                return None
            return self._finish(EncryptedEvent(content_type=ctype, length=len(record.fragment)))
        if ctype == ContentType.APPLICATION_DATA and self._server_hello is not None and tls13:
            if self._flight is None:
                return self._finish(EncryptedEvent(content_type=ctype, length=len(record.fragment)))
            return self._decrypt(record.version, record.fragment, record.offset)
        raise DecodeError(
            record.offset, "record.content_type", f"unexpected {ctype} record during the handshake"
        )

    def _sniff(self) -> Event | _Sentinel | None:
        first = self._records.peek(NOT_TLS_SAMPLE)
        if len(first) < 3 and not self._eof:
            return NEED_DATA
        tls_prefix = len(first) >= 1 and 20 <= first[0] <= 26 and (len(first) < 2 or first[1] == 3)
        if looks_like_tls_record(first) or (self._eof and tls_prefix):  # a cut TLS header is not "not TLS"
            self._mode = "tls"
            return None
        if detect_sslv2(first) is not None:
            self._mode = "sslv2"
            return None
        if not first:
            return NEED_DATA  # EOF with nothing: next_event turns this into ClosedEvent
        return self._finish(NotTlsEvent(first_bytes=first))

    def _sslv2(self) -> Event | _Sentinel:
        header = detect_sslv2(self._records.peek(3))
        if header is None:
            raise DecodeError(0, "sslv2.header", "not an SSLv2 record")
        if self._records.buffered < 2 + header.length:
            return NEED_DATA
        body = self._records.peek(2 + header.length)[2:]
        if header.msg_type == 4:
            return self._finish(SSLv2Event(msg_type=4, server_hello=parse_sslv2_server_hello(body)))
        code = int.from_bytes(body[1:3], "big") if len(body) >= 3 else None
        return self._finish(SSLv2Event(msg_type=header.msg_type, error_code=code))

    def _decrypt(self, version: int, fragment: bytes, offset: int) -> Event | None:
        """One protected record of a TLS 1.3 flight (RFC 8446 §5.2): its handshake bytes join the
        plaintext ones' reassembler, so the messages are parsed like a TLS 1.2 flight's."""
        flight = self._flight
        if isinstance(flight, str):
            return self._finish(UnreadableFlightEvent(reason=flight))
        assert flight is not None
        opened = flight.open(ContentType.APPLICATION_DATA, version, fragment)
        if opened is None:
            reason = (
                f"a {len(fragment)}-byte encrypted record does not decrypt with the server handshake key "
                f"({flight.cipher_name}, {flight.group}): not the key the hellos give, or a corrupt record"
            )
            return self._finish(UnreadableFlightEvent(reason=reason))
        ctype, content = opened
        if ctype == ContentType.HANDSHAKE:
            self._handshake.feed(content)
            return None
        if ctype == ContentType.ALERT:
            return AlertEvent(alert=parse_alert(content, offset))
        return self._finish(UnreadableFlightEvent(reason=f"a {ContentType(ctype)} record inside the flight"))

    def _tls13_message(self, msg_type: HandshakeType, body: bytes, offset: int) -> Event | None:
        """A decrypted message of the flight (None: not one with an event of its own)."""
        flight = self._flight
        assert isinstance(flight, FlightReader)
        if msg_type == HandshakeType.FINISHED:
            return self._finish(ServerFinishedEvent(verified=flight.finished(body)))
        flight.add(msg_type, body)
        if msg_type == HandshakeType.ENCRYPTED_EXTENSIONS:
            r = Reader(body, base=offset)
            extensions = parse_extensions(r, "other", "EncryptedExtensions.extensions")
            r.expect_end("EncryptedExtensions")
            return EncryptedExtensionsEvent(extensions=extensions)
        if msg_type == HandshakeType.CERTIFICATE:
            certs = parse_certificate(body, True, offset)
            leaf = certs.entry_extensions[0] if certs.entry_extensions else ()
            status = next((e for e in leaf if e.ext_type == ExtensionType.STATUS_REQUEST), None)
            if status is not None:  # §4.4.2.1: the leaf's stapled OCSP response, a CertificateStatus
                parsed = parse_certificate_status(status.body(), offset)
                self._queued.append(CertificateStatusEvent(status=parsed))
            return CertificatesEvent(certificates=certs.certificates, entry_extensions=certs.entry_extensions)
        return None

    def _on_handshake(self, msg_type: HandshakeType, body: bytes, offset: int) -> Event:
        sh = self._server_hello
        if msg_type == HandshakeType.SERVER_HELLO:
            hello = parse_server_hello(body, offset)
            if hello.is_hrr:
                self._hrr_seen = True
                self._hrr = bytes([msg_type]) + len(body).to_bytes(3, "big") + body
                return HelloRetryEvent(hello=hello)
            self._server_hello = hello
            if self._seed is not None and hello.selected_version >= ProtocolVersion.TLS1_3:
                message = bytes([msg_type]) + len(body).to_bytes(3, "big") + body
                self._flight = start(self._sent, self._hrr, message, hello, self._seed)
            return ServerHelloEvent(hello=hello, record_version=self._message_record_version)
        if sh is None:
            raise DecodeError(offset, "handshake", f"{msg_type} before ServerHello")
        version = sh.selected_version
        if isinstance(self._flight, FlightReader):
            event = self._tls13_message(msg_type, body, offset)
            if event is not None:
                return event
        if msg_type == HandshakeType.CERTIFICATE:
            certs = parse_certificate(body, version >= ProtocolVersion.TLS1_3, offset)
            return CertificatesEvent(certificates=certs.certificates, entry_extensions=certs.entry_extensions)
        if msg_type == HandshakeType.SERVER_KEY_EXCHANGE:
            ske = parse_server_key_exchange(body, sh.cipher_suite, version, offset)
            return ServerKeyExchangeEvent(key_exchange=ske)
        if msg_type == HandshakeType.CERTIFICATE_REQUEST:
            return CertificateRequestEvent(request=parse_certificate_request(body, version, offset))
        if msg_type == HandshakeType.CERTIFICATE_STATUS:
            return CertificateStatusEvent(status=parse_certificate_status(body, offset))
        if msg_type == HandshakeType.SERVER_HELLO_DONE:
            parse_server_hello_done(body, offset)
            return ServerHelloDoneEvent()
        return HandshakeMessageEvent(msg_type=msg_type, length=len(body))
