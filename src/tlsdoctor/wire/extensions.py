"""Hello extensions: one small dataclass per extension we understand, build and parse.

An extension's syntax depends on the message carrying it (RFC 8446 §4.2: key_share is a
list in ClientHello, one entry in ServerHello, a bare group in HelloRetryRequest), so
parsing takes a :data:`Where`. Anything else, and any extension we do not model, stays a
:class:`RawExtension` with its bytes, printed by number if unknown (STYLE rule 3).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, Literal

from .codepoints import ExtensionType, NamedGroup, ProtocolVersion, SignatureScheme
from .reader import Reader
from .writer import Writer

__all__ = [
    "ALPN",
    "Cookie",
    "ECPointFormats",
    "EncryptThenMac",
    "ExtendedMasterSecret",
    "Extension",
    "KeyShareClient",
    "KeyShareEntry",
    "KeyShareHRR",
    "KeyShareServer",
    "Padding",
    "PskKeyExchangeModes",
    "RawExtension",
    "RecordSizeLimit",
    "RenegotiationInfo",
    "ServerName",
    "SessionTicket",
    "SignatureAlgorithms",
    "SignatureAlgorithmsCert",
    "StatusRequest",
    "SupportedGroups",
    "SupportedVersions",
    "SupportedVersionsServer",
    "Where",
    "encode_extensions",
    "parse_extensions",
]

ET = ExtensionType
Where = Literal["client_hello", "server_hello", "hello_retry_request", "other"]


def _u16_list(r: Reader, prefix: int, field: str, min_len: int) -> list[int]:
    data = r.vector(prefix, field, min_len=min_len)
    if len(data) % 2:
        raise r.fail(field, f"odd length {len(data)} for a list of 16-bit values")
    return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]


@dataclass(frozen=True, slots=True)
class RawExtension:
    ext_type: ExtensionType
    data: bytes

    def body(self) -> bytes:
        return self.data


@dataclass(frozen=True, slots=True)
class ServerName:
    """RFC 6066 §3. ``host_name`` None is the empty acknowledgement a server sends."""

    ext_type: ClassVar[ExtensionType] = ET.SERVER_NAME
    host_name: str | None

    def body(self) -> bytes:
        if self.host_name is None:
            return b""
        w = Writer()
        with w.vector(2):
            w.u8(0).opaque(2, self.host_name.encode("ascii"))  # name_type host_name(0)
        return w.getvalue()


@dataclass(frozen=True, slots=True)
class SupportedGroups:
    """RFC 8446 §4.2.7 (elliptic_curves in RFC 4492)."""

    ext_type: ClassVar[ExtensionType] = ET.SUPPORTED_GROUPS
    groups: tuple[NamedGroup, ...]

    def body(self) -> bytes:
        w = Writer()
        with w.vector(2):
            w.u16s(self.groups)
        return w.getvalue()


@dataclass(frozen=True, slots=True)
class SignatureAlgorithms:
    """RFC 8446 §4.2.3 / RFC 5246 §7.4.1.4.1."""

    ext_type: ClassVar[ExtensionType] = ET.SIGNATURE_ALGORITHMS
    schemes: tuple[SignatureScheme, ...]

    def body(self) -> bytes:
        w = Writer()
        with w.vector(2):
            w.u16s(self.schemes)
        return w.getvalue()


@dataclass(frozen=True, slots=True)
class SignatureAlgorithmsCert:
    """RFC 8446 §4.2.3."""

    ext_type: ClassVar[ExtensionType] = ET.SIGNATURE_ALGORITHMS_CERT
    schemes: tuple[SignatureScheme, ...]

    def body(self) -> bytes:
        return SignatureAlgorithms(self.schemes).body()


@dataclass(frozen=True, slots=True)
class ALPN:
    """RFC 7301 §3.1: a list from the client, exactly one protocol from the server."""

    ext_type: ClassVar[ExtensionType] = ET.APPLICATION_LAYER_PROTOCOL_NEGOTIATION
    protocols: tuple[bytes, ...]

    def body(self) -> bytes:
        w = Writer()
        with w.vector(2):
            for p in self.protocols:
                w.opaque(1, p)
        return w.getvalue()


@dataclass(frozen=True, slots=True)
class SupportedVersions:
    """RFC 8446 §4.2.1, ClientHello form."""

    ext_type: ClassVar[ExtensionType] = ET.SUPPORTED_VERSIONS
    versions: tuple[ProtocolVersion, ...]

    def body(self) -> bytes:
        w = Writer()
        with w.vector(1):
            w.u16s(self.versions)
        return w.getvalue()


@dataclass(frozen=True, slots=True)
class SupportedVersionsServer:
    """RFC 8446 §4.2.1, ServerHello/HRR form: the selected version."""

    ext_type: ClassVar[ExtensionType] = ET.SUPPORTED_VERSIONS
    version: ProtocolVersion

    def body(self) -> bytes:
        return Writer().u16(self.version).getvalue()


@dataclass(frozen=True, slots=True)
class KeyShareEntry:
    group: NamedGroup
    key_exchange: bytes

    def encode(self, w: Writer) -> None:
        w.u16(self.group).opaque(2, self.key_exchange)


@dataclass(frozen=True, slots=True)
class KeyShareClient:
    """RFC 8446 §4.2.8 KeyShareClientHello."""

    ext_type: ClassVar[ExtensionType] = ET.KEY_SHARE
    entries: tuple[KeyShareEntry, ...]

    def body(self) -> bytes:
        w = Writer()
        with w.vector(2):
            for e in self.entries:
                e.encode(w)
        return w.getvalue()


@dataclass(frozen=True, slots=True)
class KeyShareServer:
    """RFC 8446 §4.2.8 KeyShareServerHello."""

    ext_type: ClassVar[ExtensionType] = ET.KEY_SHARE
    entry: KeyShareEntry

    def body(self) -> bytes:
        w = Writer()
        self.entry.encode(w)
        return w.getvalue()


@dataclass(frozen=True, slots=True)
class KeyShareHRR:
    """RFC 8446 §4.2.8 KeyShareHelloRetryRequest: the group the server wants."""

    ext_type: ClassVar[ExtensionType] = ET.KEY_SHARE
    selected_group: NamedGroup

    def body(self) -> bytes:
        return Writer().u16(self.selected_group).getvalue()


@dataclass(frozen=True, slots=True)
class ECPointFormats:
    """RFC 8422 §5.1.2 (0 = uncompressed)."""

    ext_type: ClassVar[ExtensionType] = ET.EC_POINT_FORMATS
    formats: tuple[int, ...] = (0,)

    def body(self) -> bytes:
        return Writer().opaque(1, bytes(self.formats)).getvalue()


@dataclass(frozen=True, slots=True)
class Padding:
    """RFC 7685: ``length`` zero bytes."""

    ext_type: ClassVar[ExtensionType] = ET.PADDING
    length: int

    def body(self) -> bytes:
        return bytes(self.length)


@dataclass(frozen=True, slots=True)
class RenegotiationInfo:
    """RFC 5746 §3.2: empty on an initial handshake."""

    ext_type: ClassVar[ExtensionType] = ET.RENEGOTIATION_INFO
    renegotiated_connection: bytes = b""

    def body(self) -> bytes:
        return Writer().opaque(1, self.renegotiated_connection).getvalue()


@dataclass(frozen=True, slots=True)
class SessionTicket:
    """RFC 5077 §3.2: empty asks for a ticket."""

    ext_type: ClassVar[ExtensionType] = ET.SESSION_TICKET
    ticket: bytes = b""

    def body(self) -> bytes:
        return self.ticket


@dataclass(frozen=True, slots=True)
class StatusRequest:
    """RFC 6066 §8. Client default: ocsp(1), no responder ids, no request extensions.
    A server acknowledges with an empty body."""

    ext_type: ClassVar[ExtensionType] = ET.STATUS_REQUEST
    data: bytes = b"\x01\x00\x00\x00\x00"

    def body(self) -> bytes:
        return self.data


@dataclass(frozen=True, slots=True)
class ExtendedMasterSecret:
    """RFC 7627: empty."""

    ext_type: ClassVar[ExtensionType] = ET.EXTENDED_MASTER_SECRET

    def body(self) -> bytes:
        return b""


@dataclass(frozen=True, slots=True)
class EncryptThenMac:
    """RFC 7366: empty."""

    ext_type: ClassVar[ExtensionType] = ET.ENCRYPT_THEN_MAC

    def body(self) -> bytes:
        return b""


@dataclass(frozen=True, slots=True)
class Cookie:
    """RFC 8446 §4.2.2."""

    ext_type: ClassVar[ExtensionType] = ET.COOKIE
    cookie: bytes

    def body(self) -> bytes:
        return Writer().opaque(2, self.cookie).getvalue()


@dataclass(frozen=True, slots=True)
class PskKeyExchangeModes:
    """RFC 8446 §4.2.9 (1 = psk_dhe_ke)."""

    ext_type: ClassVar[ExtensionType] = ET.PSK_KEY_EXCHANGE_MODES
    modes: tuple[int, ...] = (1,)

    def body(self) -> bytes:
        return Writer().opaque(1, bytes(self.modes)).getvalue()


@dataclass(frozen=True, slots=True)
class RecordSizeLimit:
    """RFC 8449 §4."""

    ext_type: ClassVar[ExtensionType] = ET.RECORD_SIZE_LIMIT
    limit: int

    def body(self) -> bytes:
        return Writer().u16(self.limit).getvalue()


Extension = (
    RawExtension | ServerName | SupportedGroups | SignatureAlgorithms | SignatureAlgorithmsCert | ALPN
    | SupportedVersions | SupportedVersionsServer | KeyShareClient | KeyShareServer | KeyShareHRR
    | ECPointFormats | Padding | RenegotiationInfo | SessionTicket | StatusRequest | ExtendedMasterSecret
    | EncryptThenMac | Cookie | PskKeyExchangeModes | RecordSizeLimit
)  # fmt: skip


def encode_extensions(extensions: tuple[Extension, ...] | list[Extension]) -> bytes:
    """``Extension extensions<0..2^16-1>`` (RFC 8446 §4.2)."""
    w = Writer()
    with w.vector(2):
        for ext in extensions:
            w.u16(ext.ext_type).opaque(2, ext.body())
    return w.getvalue()


# -- parsing ---------------------------------------------------------------------------
def _server_name(r: Reader, where: Where) -> Extension:
    if r.at_end():
        return ServerName(None)
    host: str | None = None
    with r.sub_vector(2, "server_name.server_name_list", min_len=1):
        while not r.at_end():
            name_type = r.u8("server_name.name_type")
            name = r.vector(2, "server_name.host_name", min_len=1)
            if name_type == 0 and host is None:  # RFC 6066 §3: at most one host_name
                host = name.decode("ascii", errors="backslashreplace")
    return ServerName(host)


def _key_share(r: Reader, where: Where) -> Extension:
    def entry() -> KeyShareEntry:
        group = NamedGroup(r.u16("key_share.group"))
        return KeyShareEntry(group, r.vector(2, "key_share.key_exchange", min_len=1))

    if where == "hello_retry_request":
        return KeyShareHRR(NamedGroup(r.u16("key_share.selected_group")))
    if where == "server_hello":
        return KeyShareServer(entry())
    entries = []
    with r.sub_vector(2, "key_share.client_shares"):
        while not r.at_end():
            entries.append(entry())
    return KeyShareClient(tuple(entries))


def _supported_versions(r: Reader, where: Where) -> Extension:
    if where in ("server_hello", "hello_retry_request"):
        return SupportedVersionsServer(ProtocolVersion(r.u16("supported_versions.selected_version")))
    versions = _u16_list(r, 1, "supported_versions.versions", 2)
    return SupportedVersions(tuple(ProtocolVersion(v) for v in versions))


def _alpn(r: Reader, where: Where) -> Extension:
    protocols = []
    with r.sub_vector(2, "alpn.protocol_name_list", min_len=2):
        while not r.at_end():
            protocols.append(r.vector(1, "alpn.protocol_name", min_len=1))
    if where != "client_hello" and len(protocols) != 1:
        raise r.fail(
            "alpn.protocol_name_list", f"server selected {len(protocols)} protocols, RFC 7301 §3.1 says 1"
        )
    return ALPN(tuple(protocols))


def _empty(cls: type[ExtendedMasterSecret] | type[EncryptThenMac]) -> Callable[[Reader, Where], Extension]:
    def parse(r: Reader, where: Where) -> Extension:
        r.expect_end(str(cls.ext_type))
        return cls()

    return parse


_PARSERS: dict[int, Callable[[Reader, Where], Extension]] = {
    ET.SERVER_NAME: _server_name,
    ET.SUPPORTED_GROUPS: lambda r, w: SupportedGroups(
        tuple(NamedGroup(g) for g in _u16_list(r, 2, "supported_groups", 2))
    ),
    ET.SIGNATURE_ALGORITHMS: lambda r, w: SignatureAlgorithms(
        tuple(SignatureScheme(s) for s in _u16_list(r, 2, "signature_algorithms", 2))
    ),
    ET.SIGNATURE_ALGORITHMS_CERT: lambda r, w: SignatureAlgorithmsCert(
        tuple(SignatureScheme(s) for s in _u16_list(r, 2, "signature_algorithms_cert", 2))
    ),
    ET.APPLICATION_LAYER_PROTOCOL_NEGOTIATION: _alpn,
    ET.SUPPORTED_VERSIONS: _supported_versions,
    ET.KEY_SHARE: _key_share,
    ET.EC_POINT_FORMATS: lambda r, w: ECPointFormats(tuple(r.vector(1, "ec_point_formats", min_len=1))),
    ET.PADDING: lambda r, w: Padding(len(r.rest("padding"))),
    ET.RENEGOTIATION_INFO: lambda r, w: RenegotiationInfo(r.vector(1, "renegotiation_info")),
    ET.SESSION_TICKET: lambda r, w: SessionTicket(r.rest("session_ticket")),
    ET.STATUS_REQUEST: lambda r, w: StatusRequest(r.rest("status_request")),
    ET.EXTENDED_MASTER_SECRET: _empty(ExtendedMasterSecret),
    ET.ENCRYPT_THEN_MAC: _empty(EncryptThenMac),
    ET.COOKIE: lambda r, w: Cookie(r.vector(2, "cookie", min_len=1)),
    ET.PSK_KEY_EXCHANGE_MODES: lambda r, w: PskKeyExchangeModes(
        tuple(r.vector(1, "psk_key_exchange_modes", min_len=1))
    ),
    ET.RECORD_SIZE_LIMIT: lambda r, w: RecordSizeLimit(r.u16("record_size_limit")),
}


def parse_extensions(r: Reader, where: Where, field: str = "extensions") -> tuple[Extension, ...]:
    """Read ``extensions<0..2^16-1>`` at the cursor.

    Each body must be consumed exactly (``restrict_to``), and a type may appear once
    (RFC 8446 §4.2); both failures are DecodeError, which is what a real client would
    answer with decode_error / illegal_parameter.
    """
    out: list[Extension] = []
    seen: set[int] = set()
    with r.sub_vector(2, field):
        while not r.at_end():
            at = r.offset
            ext_type = ExtensionType(r.u16(f"{field}.extension_type"))
            if int(ext_type) in seen:
                raise r.fail(f"{field}.extension_type", f"duplicate extension {ext_type} at offset {at}")
            seen.add(int(ext_type))
            length = r.u16(f"{field}.{ext_type}.length")
            with r.restrict_to(length, f"{field}.{ext_type}"):
                parser = _PARSERS.get(int(ext_type)) if where != "other" else None
                out.append(parser(r, where) if parser else RawExtension(ext_type, r.rest(str(ext_type))))
    return tuple(out)
