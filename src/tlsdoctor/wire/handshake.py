"""Handshake layer: reassembly across records, and the hello messages (RFC 8446 §4).

Handshake messages may be split over records and records may hold several messages
(RFC 8446 §5.1), so :class:`HandshakeReassembler` joins fragments. It reads the 4-byte
header first and rejects a declared length above its cap at once: a peer claiming a
16 MB message costs 4 bytes, not 16 MB. The server's later messages (Certificate,
ServerKeyExchange, CertificateRequest) are in :mod:`tlsdoctor.wire.server_messages`.
"""

from __future__ import annotations

from typing import NamedTuple

from .codepoints import (
    CompressionMethod,
    ContentType,
    ExtensionType,
    HandshakeType,
    NamedGroup,
    ProtocolVersion,
)
from .extensions import (
    ALPN,
    Extension,
    KeyShareClient,
    KeyShareHRR,
    KeyShareServer,
    ServerName,
    SignatureAlgorithms,
    SupportedGroups,
    SupportedVersions,
    SupportedVersionsServer,
    Where,
    encode_extensions,
    parse_extensions,
)
from .reader import DecodeError, Reader
from .registry import CipherSuite
from .writer import Writer

__all__ = [
    "DOWNGRADE_TLS11",
    "DOWNGRADE_TLS12",
    "HRR_RANDOM",
    "MAX_HANDSHAKE_MESSAGE",
    "MAX_SERVER_HELLO",
    "ClientHello",
    "HandshakeMessage",
    "HandshakeReassembler",
    "ServerHello",
    "build_handshake",
    "encode_client_hello",
    "encode_server_hello",
    "huge_server_hello",
    "parse_client_hello",
    "parse_server_hello",
]

# RFC 8446 §4.1.3: a HelloRetryRequest is a ServerHello whose random is SHA-256("HelloRetryRequest").
HRR_RANDOM = bytes.fromhex("cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c")
# RFC 8446 §4.1.3: last 8 bytes of ServerHello.random when a TLS 1.3 server negotiates lower.
DOWNGRADE_TLS12 = b"DOWNGRD\x01"
DOWNGRADE_TLS11 = b"DOWNGRD\x00"
# A certificate chain is the largest message a client receives; 128 KiB covers real ones
# (RFC 8446 allows 2^24-1, which no probe should have to buffer).
MAX_HANDSHAKE_MESSAGE = 2**17
# A ServerHello is at most version, random, session id, suite, compression and a 2^16-1 byte
# extension block (RFC 8446 §4.1.3); anything claiming more is not a ServerHello.
MAX_SERVER_HELLO = 2 + 32 + 33 + 2 + 1 + 2 + 0xFFFF


def huge_server_hello(head: bytes) -> int:
    """The length a first handshake record's ServerHello header claims, when it is more than a
    ServerHello can be: 0 otherwise (RFC 8446 §5.1 record, §4 handshake header). Read from the
    first bytes, so a client stops waiting for 16 MB that cannot be a ServerHello."""
    if (
        len(head) < 9
        or head[0] != ContentType.HANDSHAKE
        or head[1] != 3
        or head[5] != HandshakeType.SERVER_HELLO
    ):
        return 0
    claimed = int.from_bytes(head[6:9], "big")
    return claimed if claimed > MAX_SERVER_HELLO else 0


class HandshakeMessage(NamedTuple):
    msg_type: HandshakeType
    body: bytes
    offset: int  # offset of the header in the handshake byte stream


class HandshakeReassembler:
    """Join handshake fragments into messages (RFC 8446 §5.1), with a per-message cap."""

    __slots__ = ("_buf", "_max", "_offset")

    def __init__(self, max_message: int = MAX_HANDSHAKE_MESSAGE) -> None:
        self._buf = bytearray()
        self._offset = 0
        self._max = max_message

    @property
    def pending(self) -> int:
        """Bytes of an incomplete message held."""
        return len(self._buf)

    def feed(self, fragment: bytes) -> None:
        self._buf += fragment

    def next_message(self) -> HandshakeMessage | None:
        if len(self._buf) < 4:
            return None
        msg_type = self._buf[0]
        length = int.from_bytes(self._buf[1:4], "big")
        if length > self._max:
            raise DecodeError(
                self._offset + 1, "handshake.length", f"{length} exceeds the cap of {self._max}"
            )
        if len(self._buf) < 4 + length:
            return None
        msg = HandshakeMessage(HandshakeType(msg_type), bytes(self._buf[4 : 4 + length]), self._offset)
        del self._buf[: 4 + length]
        self._offset += 4 + length
        return msg


def build_handshake(msg_type: int, body: bytes) -> bytes:
    """``Handshake`` struct: type, uint24 length, body (RFC 8446 §4)."""
    return Writer().u8(msg_type).u24(len(body)).bytes(body).getvalue()


def _find(extensions: tuple[Extension, ...] | None, ext_type: int) -> Extension | None:
    for ext in extensions or ():
        if ext.ext_type == ext_type:
            return ext
    return None


# -- ServerHello (RFC 8446 §4.1.3, RFC 5246 §7.4.1.3) -----------------------------------
class ServerHello(NamedTuple):
    legacy_version: ProtocolVersion
    random: bytes
    session_id: bytes
    cipher_suite: CipherSuite
    compression: CompressionMethod
    extensions: tuple[Extension, ...] | None  # None: no extensions block (SSL 3.0 style)

    @property
    def is_hrr(self) -> bool:
        return self.random == HRR_RANDOM

    def extension(self, ext_type: int) -> Extension | None:
        return _find(self.extensions, ext_type)

    @property
    def selected_version(self) -> ProtocolVersion:
        """supported_versions wins over legacy_version (RFC 8446 §4.2.1)."""
        ext = self.extension(ExtensionType.SUPPORTED_VERSIONS)
        return ext.version if isinstance(ext, SupportedVersionsServer) else self.legacy_version

    @property
    def key_share_group(self) -> NamedGroup | None:
        """The group of the server's share, or the group an HRR asks for."""
        ext = self.extension(ExtensionType.KEY_SHARE)
        if isinstance(ext, KeyShareServer):
            return ext.entry.group
        if isinstance(ext, KeyShareHRR):
            return ext.selected_group
        return None

    @property
    def alpn(self) -> bytes | None:
        ext = self.extension(ExtensionType.APPLICATION_LAYER_PROTOCOL_NEGOTIATION)
        return ext.protocols[0] if isinstance(ext, ALPN) and ext.protocols else None

    @property
    def downgrade_sentinel(self) -> ProtocolVersion | None:
        """RFC 8446 §4.1.3: a TLS 1.3 server that chose TLS 1.2 (or below) says so here."""
        tail = self.random[-8:]
        if tail == DOWNGRADE_TLS12:
            return ProtocolVersion.TLS1_2
        if tail == DOWNGRADE_TLS11:
            return ProtocolVersion.TLS1_1
        return None


def parse_server_hello(body: bytes, offset: int = 0) -> ServerHello:
    r = Reader(body, base=offset)
    version = ProtocolVersion(r.u16("ServerHello.legacy_version"))
    random = r.bytes(32, "ServerHello.random")
    session_id = r.vector(1, "ServerHello.legacy_session_id_echo", max_len=32)
    suite = CipherSuite(r.u16("ServerHello.cipher_suite"))
    compression = CompressionMethod(r.u8("ServerHello.legacy_compression_method"))
    extensions = None
    if not r.at_end():
        where: Where = "hello_retry_request" if random == HRR_RANDOM else "server_hello"
        extensions = parse_extensions(r, where, "ServerHello.extensions")
    r.expect_end("ServerHello")
    return ServerHello(version, random, session_id, suite, compression, extensions)


def encode_server_hello(sh: ServerHello) -> bytes:
    """Handshake body of a ServerHello (for test servers and round-trip tests)."""
    w = Writer().u16(sh.legacy_version).bytes(sh.random).opaque(1, sh.session_id)
    w.u16(sh.cipher_suite).u8(sh.compression)
    if sh.extensions is not None:
        w.bytes(encode_extensions(sh.extensions))
    return w.getvalue()


# -- ClientHello (RFC 8446 §4.1.2, RFC 5246 §7.4.1.2) -----------------------------------
class ClientHello(NamedTuple):
    legacy_version: ProtocolVersion
    random: bytes
    session_id: bytes
    cipher_suites: tuple[CipherSuite, ...]
    compression_methods: tuple[CompressionMethod, ...]
    extensions: tuple[Extension, ...] | None  # None: no extensions block

    def extension(self, ext_type: int) -> Extension | None:
        return _find(self.extensions, ext_type)

    @property
    def server_name(self) -> str | None:
        ext = self.extension(ExtensionType.SERVER_NAME)
        return ext.host_name if isinstance(ext, ServerName) else None

    @property
    def supported_groups(self) -> tuple[NamedGroup, ...]:
        ext = self.extension(ExtensionType.SUPPORTED_GROUPS)
        return ext.groups if isinstance(ext, SupportedGroups) else ()

    @property
    def key_share_groups(self) -> tuple[NamedGroup, ...]:
        ext = self.extension(ExtensionType.KEY_SHARE)
        return tuple(e.group for e in ext.entries) if isinstance(ext, KeyShareClient) else ()

    @property
    def signature_schemes(self) -> tuple[int, ...]:
        ext = self.extension(ExtensionType.SIGNATURE_ALGORITHMS)
        return ext.schemes if isinstance(ext, SignatureAlgorithms) else ()

    @property
    def alpn(self) -> tuple[bytes, ...]:
        ext = self.extension(ExtensionType.APPLICATION_LAYER_PROTOCOL_NEGOTIATION)
        return ext.protocols if isinstance(ext, ALPN) else ()

    @property
    def supported_versions(self) -> tuple[ProtocolVersion, ...]:
        ext = self.extension(ExtensionType.SUPPORTED_VERSIONS)
        return ext.versions if isinstance(ext, SupportedVersions) else ()


def parse_client_hello(body: bytes, offset: int = 0) -> ClientHello:
    r = Reader(body, base=offset)
    version = ProtocolVersion(r.u16("ClientHello.legacy_version"))
    random = r.bytes(32, "ClientHello.random")
    session_id = r.vector(1, "ClientHello.legacy_session_id", max_len=32)
    suites = r.vector(2, "ClientHello.cipher_suites", min_len=2)
    if len(suites) % 2:
        raise DecodeError(r.offset, "ClientHello.cipher_suites", f"odd length {len(suites)}")
    compression = r.vector(1, "ClientHello.legacy_compression_methods", min_len=1)
    extensions = None if r.at_end() else parse_extensions(r, "client_hello", "ClientHello.extensions")
    r.expect_end("ClientHello")
    return ClientHello(
        version,
        random,
        session_id,
        tuple(CipherSuite(int.from_bytes(suites[i : i + 2], "big")) for i in range(0, len(suites), 2)),
        tuple(CompressionMethod(c) for c in compression),
        extensions,
    )


def encode_client_hello(ch: ClientHello) -> bytes:
    """Handshake body of a ClientHello."""
    w = Writer().u16(ch.legacy_version).bytes(ch.random).opaque(1, ch.session_id)
    with w.vector(2):
        w.u16s(ch.cipher_suites)
    w.opaque(1, bytes(ch.compression_methods))
    if ch.extensions is not None:
        w.bytes(encode_extensions(ch.extensions))
    return w.getvalue()
