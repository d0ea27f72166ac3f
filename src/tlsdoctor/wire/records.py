"""TLS record framing (RFC 8446 §5.1, RFC 5246 §6.2) and SSLv2 header detection.

:class:`RecordBuffer` takes bytes as they arrive and hands back whole records, asking for
more when short. It checks the header before buffering the body, so a peer that claims an
oversized record is rejected after 5 bytes rather than after 16 MB.
"""

from __future__ import annotations

from typing import NamedTuple

from .codepoints import AlertDescription, AlertLevel, ContentType, ProtocolVersion
from .reader import DecodeError, Reader
from .writer import Writer

__all__ = [
    "MAX_FRAGMENT",
    "MAX_PLAINTEXT",
    "RECORD_HEADER_LEN",
    "Alert",
    "Record",
    "RecordBuffer",
    "SSLv2Header",
    "SSLv2ServerHello",
    "build_alert",
    "build_records",
    "detect_sslv2",
    "looks_like_tls_record",
    "parse_alert",
    "parse_sslv2_server_hello",
]

RECORD_HEADER_LEN = 5
MAX_PLAINTEXT = 2**14  # RFC 8446 §5.1 TLSPlaintext.length
# RFC 8446 §5.2 caps TLSCiphertext at 2^14 + 256; RFC 5246 §6.2.3 allowed 2^14 + 2048 for
# TLS 1.2 ciphertext. We accept the larger so that no legitimate peer is called broken.
MAX_FRAGMENT = 2**14 + 2048


class Record(NamedTuple):
    content_type: ContentType
    version: ProtocolVersion  # legacy_record_version: not the negotiated version
    fragment: bytes
    offset: int  # stream offset of the record header


class Alert(NamedTuple):
    """RFC 8446 §6 / RFC 5246 §7.2."""

    level: AlertLevel
    description: AlertDescription

    def __str__(self) -> str:
        return f"{str(self.level).lower()} alert {str(self.description).lower()}"


def looks_like_tls_record(head: bytes) -> bool | None:
    """Whether the first bytes can start a TLS record; None if fewer than 3 bytes.

    Checks the content type (20..26) and the major version byte (3), which is what tells
    TLS from HTTP, SSH or a banner.
    """
    if len(head) < 3:
        return None
    return 20 <= head[0] <= 26 and head[1] == 3


class RecordBuffer:
    """Incremental record parser with a fragment cap.

    ``feed()`` bytes, then call ``next_record()`` until it returns None (need more data).
    A malformed header raises :class:`DecodeError`; the buffer is then unusable, as a TLS
    stream cannot be resynchronised.
    """

    __slots__ = ("_buf", "_max_fragment", "_offset")

    def __init__(self, max_fragment: int = MAX_FRAGMENT) -> None:
        self._buf = bytearray()
        self._offset = 0  # stream offset of _buf[0]
        self._max_fragment = max_fragment

    @property
    def buffered(self) -> int:
        return len(self._buf)

    @property
    def offset(self) -> int:
        """Stream offset of the next unparsed byte."""
        return self._offset

    def feed(self, data: bytes) -> None:
        self._buf += data

    def peek(self, n: int) -> bytes:
        """Up to ``n`` buffered bytes, without consuming them."""
        return bytes(self._buf[:n])

    def take_buffered(self) -> bytes:
        """Remove and return what is buffered (e.g. to report the bytes that did not parse)."""
        data = bytes(self._buf)
        self._offset += len(self._buf)
        self._buf.clear()
        return data

    def next_record(self) -> Record | None:
        buf = self._buf
        if len(buf) < RECORD_HEADER_LEN:
            if len(buf) >= 3 and not looks_like_tls_record(bytes(buf[:3])):
                raise DecodeError(
                    self._offset, "record.header", f"not a TLS record header: {bytes(buf[:3]).hex()}"
                )
            return None
        r = Reader(bytes(buf[:RECORD_HEADER_LEN]), base=self._offset)
        ctype = r.u8("record.content_type")
        version = r.u16("record.legacy_record_version")
        length = r.u16("record.length")
        if not 20 <= ctype <= 26 or version >> 8 != 3:
            raise DecodeError(
                self._offset, "record.header", f"not a TLS record header: {bytes(buf[:5]).hex()}"
            )
        if length > self._max_fragment:
            # RFC 8446 §5.2: record_overflow. Fail on the header, never buffer the body.
            raise DecodeError(
                self._offset + 3, "record.length", f"{length} exceeds the cap of {self._max_fragment}"
            )
        if len(buf) < RECORD_HEADER_LEN + length:
            return None
        fragment = bytes(buf[RECORD_HEADER_LEN : RECORD_HEADER_LEN + length])
        record = Record(ContentType(ctype), ProtocolVersion(version), fragment, self._offset)
        del buf[: RECORD_HEADER_LEN + length]
        self._offset += RECORD_HEADER_LEN + length
        return record


def parse_alert(fragment: bytes, offset: int = 0) -> Alert:
    """Parse a plaintext alert record body: exactly level + description (RFC 8446 §6:
    alerts MUST NOT be fragmented or coalesced)."""
    r = Reader(fragment, base=offset)
    with r.restrict_to(len(fragment), "alert"):
        if len(fragment) != 2:
            raise r.fail("alert", f"alert record of {len(fragment)} bytes, expected 2")
        level = AlertLevel(r.u8("alert.level"))
        description = AlertDescription(r.u8("alert.description"))
    return Alert(level, description)


def build_records(
    content_type: int, version: int, payload: bytes, max_fragment: int = MAX_PLAINTEXT
) -> bytes:
    """Frame ``payload`` as one or more records of at most ``max_fragment`` bytes."""
    if max_fragment < 1:
        raise ValueError("max_fragment must be positive")
    w = Writer()
    chunks = [payload[i : i + max_fragment] for i in range(0, len(payload), max_fragment)] or [b""]
    for chunk in chunks:
        w.u8(content_type).u16(version).opaque(2, chunk)
    return w.getvalue()


def build_alert(
    description: int, level: int = AlertLevel.FATAL, version: int = ProtocolVersion.TLS1_2
) -> bytes:
    return build_records(ContentType.ALERT, version, bytes([level, description]))


# -- SSL 2.0 (draft-hickman-netscape-ssl-00; RFC 6176 prohibits it) ---------------------
SSL2_MT_ERROR = 0
SSL2_MT_CLIENT_HELLO = 1
SSL2_MT_SERVER_HELLO = 4


class SSLv2Header(NamedTuple):
    """An SSLv2 record header in its 2-byte form (high bit set, no padding)."""

    length: int  # record body length
    msg_type: int  # first body byte


def detect_sslv2(head: bytes) -> SSLv2Header | None:
    """Recognise an SSLv2 record carrying a CLIENT-HELLO, SERVER-HELLO or ERROR.

    Needs 3 bytes (2-byte header + message type); returns None if it is not SSLv2 or too
    few bytes are here to tell. A TLS record never starts with a byte >= 0x80. Only the
    2-byte header is recognised: hellos are never padded, and the 3-byte form would make
    arbitrary bytes look like SSLv2.
    """
    if len(head) < 3 or not head[0] & 0x80:
        return None
    length = ((head[0] & 0x7F) << 8) | head[1]
    msg_type = head[2]
    if msg_type not in (SSL2_MT_ERROR, SSL2_MT_CLIENT_HELLO, SSL2_MT_SERVER_HELLO) or length < 1:
        return None
    # SERVER-HELLO: type, session-id-hit, certificate-type, server-version (0x0002)
    if msg_type == SSL2_MT_SERVER_HELLO and len(head) >= 7 and head[5:7] != b"\x00\x02":
        return None
    return SSLv2Header(length, msg_type)


class SSLv2ServerHello(NamedTuple):
    version: int
    certificate: bytes  # X.509 DER when certificate_type is 1
    cipher_specs: tuple[int, ...]  # 3-byte SSLv2 cipher kinds, e.g. 0x0700C0 DES-CBC3-MD5


def parse_sslv2_server_hello(body: bytes, offset: int = 2) -> SSLv2ServerHello:
    """Parse an SSLv2 SERVER-HELLO body (after the 2-byte header), which proves the server
    speaks SSLv2 (draft-hickman-netscape-ssl-00 §"SERVER-HELLO")."""
    r = Reader(body, base=offset)
    if r.u8("sslv2.msg_type") != SSL2_MT_SERVER_HELLO:
        raise DecodeError(offset, "sslv2.msg_type", "not a SERVER-HELLO")
    r.u8("sslv2.session_id_hit")
    r.u8("sslv2.certificate_type")
    version = r.u16("sslv2.server_version")
    cert_len = r.u16("sslv2.certificate_length")
    specs_len = r.u16("sslv2.cipher_specs_length")
    conn_id_len = r.u16("sslv2.connection_id_length")
    if specs_len % 3:
        raise r.fail("sslv2.cipher_specs", f"length {specs_len} not a multiple of 3")
    certificate = r.bytes(cert_len, "sslv2.certificate")
    specs = r.bytes(specs_len, "sslv2.cipher_specs")
    r.bytes(conn_id_len, "sslv2.connection_id")
    r.expect_end("sslv2.server_hello")
    return SSLv2ServerHello(
        version, certificate, tuple(int.from_bytes(specs[i : i + 3], "big") for i in range(0, len(specs), 3))
    )
