"""The client side of a TLS handshake as a sans-IO state machine, h11 style.

``receive_data(bytes)`` whatever the socket gave (``b""`` at EOF), then call
``next_event()`` until it returns :data:`NEED_DATA` (feed more) or :data:`DONE` (stop
reading). Parsing happens lazily in ``next_event``, one event at a time, like h11's
``_connection.py``. Bytes held are capped (``max_buffer``): a hostile or broken peer
ends the conversation with a :class:`ProtocolErrorEvent`, never with unbounded memory.

What is a terminal event: :class:`NotTlsEvent`, :class:`EncryptedEvent`,
:class:`SSLv2Event`, :class:`ProtocolErrorEvent`, :class:`ClosedEvent`.
"""

from __future__ import annotations

from enum import Enum
from typing import Final, NamedTuple

from .codepoints import ContentType, HandshakeType, ProtocolVersion
from .handshake import MAX_HANDSHAKE_MESSAGE, HandshakeReassembler, ServerHello, parse_server_hello
from .reader import DecodeError
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
    "Event",
    "HandshakeMessageEvent",
    "HelloRetryEvent",
    "NotTlsEvent",
    "ProtocolErrorEvent",
    "SSLv2Event",
    "ServerHelloDoneEvent",
    "ServerHelloEvent",
    "ServerKeyExchangeEvent",
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
    | NotTlsEvent | SSLv2Event | ProtocolErrorEvent | ClosedEvent
)  # fmt: skip


class ClientConversation:
    """Reads the server's side of a handshake started by a ClientHello we sent."""

    def __init__(self, max_buffer: int = MAX_BUFFER, max_message: int = MAX_HANDSHAKE_MESSAGE) -> None:
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

    @property
    def done(self) -> bool:
        return self._done

    @property
    def bytes_received(self) -> int:
        return self._bytes_received

    @property
    def server_hello(self) -> ServerHello | None:
        return self._server_hello

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
            return self._finish(EncryptedEvent(content_type=ctype, length=len(record.fragment)))
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

    def _on_handshake(self, msg_type: HandshakeType, body: bytes, offset: int) -> Event:
        sh = self._server_hello
        if msg_type == HandshakeType.SERVER_HELLO:
            hello = parse_server_hello(body, offset)
            if hello.is_hrr:
                self._hrr_seen = True
                return HelloRetryEvent(hello=hello)
            self._server_hello = hello
            return ServerHelloEvent(hello=hello, record_version=self._message_record_version)
        if sh is None:
            raise DecodeError(offset, "handshake", f"{msg_type} before ServerHello")
        version = sh.selected_version
        if msg_type == HandshakeType.CERTIFICATE:
            certs = parse_certificate(body, version >= ProtocolVersion.TLS1_3, offset)
            return CertificatesEvent(certificates=certs.certificates)
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
