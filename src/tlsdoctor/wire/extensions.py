"""Hello extensions: one small NamedTuple per extension we understand, build and parse.

An extension's syntax depends on the message carrying it (RFC 8446 §4.2: key_share is a
list in ClientHello, one entry in ServerHello, a bare group in HelloRetryRequest), so
parsing takes a :data:`Where`. Anything else, and any extension we do not model, stays a
:class:`RawExtension` with its bytes, printed by number if unknown (STYLE rule 3).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, NamedTuple

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


class RawExtension(NamedTuple):
    ext_type: ExtensionType
    data: bytes

    def body(self) -> bytes:
        return self.data


class ServerName(NamedTuple):
    """RFC 6066 §3. ``host_name`` None is the empty acknowledgement a server sends."""

    host_name: str | None

    @property
    def ext_type(self) -> ExtensionType:
        return ET.SERVER_NAME

    def body(self) -> bytes:
        if self.host_name is None:
            return b""
        w = Writer()
        with w.vector(2):
            w.u8(0).opaque(2, self.host_name.encode("ascii"))  # name_type host_name(0)
        return w.getvalue()


class SupportedGroups(NamedTuple):
    """RFC 8446 §4.2.7 (elliptic_curves in RFC 4492)."""

    groups: tuple[NamedGroup, ...]

    @property
    def ext_type(self) -> ExtensionType:
        return ET.SUPPORTED_GROUPS

    def body(self) -> bytes:
        w = Writer()
        with w.vector(2):
            w.u16s(self.groups)
        return w.getvalue()


class SignatureAlgorithms(NamedTuple):
    """RFC 8446 §4.2.3 / RFC 5246 §7.4.1.4.1."""

    schemes: tuple[SignatureScheme, ...]

    @property
    def ext_type(self) -> ExtensionType:
        return ET.SIGNATURE_ALGORITHMS

    def body(self) -> bytes:
        w = Writer()
        with w.vector(2):
            w.u16s(self.schemes)
        return w.getvalue()


class SignatureAlgorithmsCert(NamedTuple):
    """RFC 8446 §4.2.3."""

    schemes: tuple[SignatureScheme, ...]

    @property
    def ext_type(self) -> ExtensionType:
        return ET.SIGNATURE_ALGORITHMS_CERT

    def body(self) -> bytes:
        return SignatureAlgorithms(self.schemes).body()


class ALPN(NamedTuple):
    """RFC 7301 §3.1: a list from the client, exactly one protocol from the server."""

    protocols: tuple[bytes, ...]

    @property
    def ext_type(self) -> ExtensionType:
        return ET.APPLICATION_LAYER_PROTOCOL_NEGOTIATION

    def body(self) -> bytes:
        w = Writer()
        with w.vector(2):
            for p in self.protocols:
                w.opaque(1, p)
        return w.getvalue()


class SupportedVersions(NamedTuple):
    """RFC 8446 §4.2.1, ClientHello form."""

    versions: tuple[ProtocolVersion, ...]

    @property
    def ext_type(self) -> ExtensionType:
        return ET.SUPPORTED_VERSIONS

    def body(self) -> bytes:
        w = Writer()
        with w.vector(1):
            w.u16s(self.versions)
        return w.getvalue()


class SupportedVersionsServer(NamedTuple):
    """RFC 8446 §4.2.1, ServerHello/HRR form: the selected version."""

    version: ProtocolVersion

    @property
    def ext_type(self) -> ExtensionType:
        return ET.SUPPORTED_VERSIONS

    def body(self) -> bytes:
        return Writer().u16(self.version).getvalue()


class KeyShareEntry(NamedTuple):
    group: NamedGroup
    key_exchange: bytes

    def encode(self, w: Writer) -> None:
        w.u16(self.group).opaque(2, self.key_exchange)


class KeyShareClient(NamedTuple):
    """RFC 8446 §4.2.8 KeyShareClientHello."""

    entries: tuple[KeyShareEntry, ...]

    @property
    def ext_type(self) -> ExtensionType:
        return ET.KEY_SHARE

    def body(self) -> bytes:
        w = Writer()
        with w.vector(2):
            for e in self.entries:
                e.encode(w)
        return w.getvalue()


class KeyShareServer(NamedTuple):
    """RFC 8446 §4.2.8 KeyShareServerHello."""

    entry: KeyShareEntry

    @property
    def ext_type(self) -> ExtensionType:
        return ET.KEY_SHARE

    def body(self) -> bytes:
        w = Writer()
        self.entry.encode(w)
        return w.getvalue()


class KeyShareHRR(NamedTuple):
    """RFC 8446 §4.2.8 KeyShareHelloRetryRequest: the group the server wants."""

    selected_group: NamedGroup

    @property
    def ext_type(self) -> ExtensionType:
        return ET.KEY_SHARE

    def body(self) -> bytes:
        return Writer().u16(self.selected_group).getvalue()


class ECPointFormats(NamedTuple):
    """RFC 8422 §5.1.2 (0 = uncompressed)."""

    formats: tuple[int, ...] = (0,)

    @property
    def ext_type(self) -> ExtensionType:
        return ET.EC_POINT_FORMATS

    def body(self) -> bytes:
        return Writer().opaque(1, bytes(self.formats)).getvalue()


class Padding(NamedTuple):
    """RFC 7685: ``length`` zero bytes."""

    length: int

    @property
    def ext_type(self) -> ExtensionType:
        return ET.PADDING

    def body(self) -> bytes:
        return bytes(self.length)


class RenegotiationInfo(NamedTuple):
    """RFC 5746 §3.2: empty on an initial handshake."""

    renegotiated_connection: bytes = b""

    @property
    def ext_type(self) -> ExtensionType:
        return ET.RENEGOTIATION_INFO

    def body(self) -> bytes:
        return Writer().opaque(1, self.renegotiated_connection).getvalue()


class SessionTicket(NamedTuple):
    """RFC 5077 §3.2: empty asks for a ticket."""

    ticket: bytes = b""

    @property
    def ext_type(self) -> ExtensionType:
        return ET.SESSION_TICKET

    def body(self) -> bytes:
        return self.ticket


class StatusRequest(NamedTuple):
    """RFC 6066 §8. Client default: ocsp(1), no responder ids, no request extensions.
    A server acknowledges with an empty body."""

    data: bytes = b"\x01\x00\x00\x00\x00"

    @property
    def ext_type(self) -> ExtensionType:
        return ET.STATUS_REQUEST

    def body(self) -> bytes:
        return self.data


class ExtendedMasterSecret(NamedTuple):
    """RFC 7627: empty."""

    @property
    def ext_type(self) -> ExtensionType:
        return ET.EXTENDED_MASTER_SECRET

    def body(self) -> bytes:
        return b""


class EncryptThenMac(NamedTuple):
    """RFC 7366: empty."""

    @property
    def ext_type(self) -> ExtensionType:
        return ET.ENCRYPT_THEN_MAC

    def body(self) -> bytes:
        return b""


class Cookie(NamedTuple):
    """RFC 8446 §4.2.2."""

    cookie: bytes

    @property
    def ext_type(self) -> ExtensionType:
        return ET.COOKIE

    def body(self) -> bytes:
        return Writer().opaque(2, self.cookie).getvalue()


class PskKeyExchangeModes(NamedTuple):
    """RFC 8446 §4.2.9 (1 = psk_dhe_ke)."""

    modes: tuple[int, ...] = (1,)

    @property
    def ext_type(self) -> ExtensionType:
        return ET.PSK_KEY_EXCHANGE_MODES

    def body(self) -> bytes:
        return Writer().opaque(1, bytes(self.modes)).getvalue()


class RecordSizeLimit(NamedTuple):
    """RFC 8449 §4."""

    limit: int

    @property
    def ext_type(self) -> ExtensionType:
        return ET.RECORD_SIZE_LIMIT

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
            code = r.u16(field + ".extension_type")
            ext_type = ExtensionType(code)
            if code in seen:
                raise r.fail(field + ".extension_type", f"duplicate extension {ext_type} at offset {at}")
            seen.add(code)
            name = str(ext_type)
            label = f"{field}.{name}"
            length = r.u16(label + ".length")
            with r.restrict_to(length, label):
                parser = _PARSERS.get(code) if where != "other" else None
                out.append(parser(r, where) if parser else RawExtension(ext_type, r.rest(name)))
    return tuple(out)
