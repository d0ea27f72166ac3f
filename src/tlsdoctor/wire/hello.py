"""ClientHello construction: a :class:`HelloSpec` says *what* to offer, and
:func:`build_client_hello` turns it into the exact record bytes to send.

Probing a server with differently shaped hellos is how tlsdoctor tells "the server
does not support X" from "something on the path drops hellos shaped like Y" (large
post-quantum hellos, hellos in the 256-511 byte range that hang some F5 load balancers,
SSLv3, ...). The specs are data; the named ones live in :mod:`tlsdoctor.wire.variants`.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from .codepoints import (
    CompressionMethod,
    ContentType,
    ExtensionType,
    HandshakeType,
    NamedGroup,
    ProtocolVersion,
    SignatureScheme,
)
from .extensions import (
    ALPN,
    ECPointFormats,
    EncryptThenMac,
    ExtendedMasterSecret,
    Extension,
    KeyShareClient,
    KeyShareEntry,
    Padding,
    PskKeyExchangeModes,
    RawExtension,
    RenegotiationInfo,
    ServerName,
    SessionTicket,
    SignatureAlgorithms,
    StatusRequest,
    SupportedGroups,
    SupportedVersions,
)
from .handshake import ClientHello, build_handshake, encode_client_hello
from .keyshares import expand, key_share_for
from .records import MAX_PLAINTEXT, build_records
from .registry import CipherSuite
from .writer import Writer

__all__ = [
    "EMPTY_RENEGOTIATION_INFO_SCSV",
    "FALLBACK_SCSV",
    "HelloSpec",
    "build_client_hello",
    "build_sslv2_client_hello",
    "client_hello_for",
    "grease_values",
]

FALLBACK_SCSV = 0x5600  # RFC 7507 §6
EMPTY_RENEGOTIATION_INFO_SCSV = 0x00FF  # RFC 5746 §3.3
# BoringSSL's rule, after the F5 bug RFC 7685 §1 alludes to: a ClientHello handshake
# message of 256..511 bytes is padded up to 512.
F5_RANGE = range(256, 512)


@dataclass(frozen=True, slots=True, kw_only=True)
class HelloSpec:
    """What a ClientHello offers. Integer code points, so a spec can carry values that no
    enum knows (probing a server with an unassigned group is a legitimate test)."""

    name: str = "custom"
    record_version: int = ProtocolVersion.TLS1_0  # RFC 8446 §5.1: 0x0301 for compatibility
    client_version: int = ProtocolVersion.TLS1_2  # ClientHello.legacy_version
    cipher_suites: tuple[int, ...] = ()
    groups: tuple[int, ...] = ()  # supported_groups; omitted when empty
    key_share_groups: tuple[int, ...] = ()  # key_share entries; omitted when supported_versions is
    signature_schemes: tuple[int, ...] = ()  # omitted when empty
    sni: str | None = None
    alpn: tuple[bytes, ...] = ()
    supported_versions: tuple[int, ...] = ()  # non-empty: TLS 1.3 style hello
    padding_target: int | None = None  # exact handshake message size (= record length field)
    pad_f5_range: bool = False  # pad to 512 if the hello falls in 256..511 bytes
    grease: bool = False  # RFC 8701
    compression: tuple[int, ...] = (CompressionMethod.NULL,)
    extra_extensions: tuple[RawExtension, ...] = ()  # placed before padding
    fallback_scsv: bool = False  # RFC 7507
    renegotiation: Literal["extension", "scsv", "none"] = "extension"  # RFC 5746
    session_ticket: bool = False  # RFC 5077
    status_request: bool = False  # RFC 6066 §8 (OCSP stapling)
    extended_master_secret: bool = True  # RFC 7627
    encrypt_then_mac: bool = False  # RFC 7366
    session_id_len: int = 32  # RFC 8446 §D.4 middlebox compatibility mode
    extensions: bool = True  # False: no extensions block at all (SSL 3.0 hellos)
    record_format: Literal["tls", "sslv2"] = "tls"
    sslv2_cipher_kinds: tuple[int, ...] = ()  # 3-byte SSLv2 kinds, for record_format="sslv2"


def grease_values(random: bytes) -> list[int]:
    """Eight GREASE code points (RFC 8701 §2) chosen from the hello's random."""
    values = [0x0A0A + 0x1010 * (b % 16) for b in expand(random, "grease", 8)]
    if values[4] == values[2]:  # both are extension types: a duplicate would be malformed
        values[4] ^= 0x1010
    return values


def _extensions(
    spec: HelloSpec, seed: bytes, shares: Mapping[int, bytes], grease: list[int]
) -> list[Extension]:
    exts: list[Extension] = []
    first_grease, last_grease = _grease_extension_types(grease, spec.extra_extensions)
    if spec.grease:
        exts.append(RawExtension(ExtensionType(first_grease), b""))
    if spec.sni is not None:
        exts.append(ServerName(spec.sni))
    if spec.groups:  # RFC 8422 §5.1: point formats go with ECC offers
        exts.append(ECPointFormats())
        groups = ([grease[1]] if spec.grease else []) + list(spec.groups)
        exts.append(SupportedGroups(tuple(NamedGroup(g) for g in groups)))
    if spec.session_ticket:
        exts.append(SessionTicket())
    if spec.alpn:
        exts.append(ALPN(spec.alpn))
    if spec.encrypt_then_mac:
        exts.append(EncryptThenMac())
    if spec.extended_master_secret:
        exts.append(ExtendedMasterSecret())
    if spec.signature_schemes:
        exts.append(SignatureAlgorithms(tuple(SignatureScheme(s) for s in spec.signature_schemes)))
    if spec.status_request:
        exts.append(StatusRequest())
    if spec.supported_versions:
        versions = ([grease[3]] if spec.grease else []) + list(spec.supported_versions)
        exts.append(SupportedVersions(tuple(ProtocolVersion(v) for v in versions)))
        exts.append(PskKeyExchangeModes())
        entries = [KeyShareEntry(NamedGroup(grease[1]), b"\x00")] if spec.grease else []
        for g in spec.key_share_groups:
            material = shares.get(g)
            entries.append(
                KeyShareEntry(NamedGroup(g), material if material is not None else key_share_for(g, seed))
            )
        exts.append(KeyShareClient(tuple(entries)))
    if spec.renegotiation == "extension":
        exts.append(RenegotiationInfo())
    exts.extend(spec.extra_extensions)
    if spec.grease:
        exts.append(RawExtension(ExtensionType(last_grease), b"\x00"))
    return exts


def _grease_extension_types(grease: list[int], extra: tuple[Extension, ...]) -> tuple[int, int]:
    """The two GREASE extension types, moved off any type the caller's extra extensions use
    (a caller may send a GREASE value on purpose): a type twice makes the hello malformed
    (RFC 8446 §4.2). If all sixteen GREASE values are taken, the drawn ones stay."""
    taken = {int(e.ext_type) for e in extra}
    chosen: list[int] = []
    for drawn in (grease[2], grease[4]):
        free = (0x0A0A + 0x1010 * ((drawn // 0x1010 + k) % 16) for k in range(16))
        value = next((v for v in free if v not in taken), drawn)
        taken.add(value)
        chosen.append(value)
    return chosen[0], chosen[1]


def _pad(spec: HelloSpec, hello: ClientHello) -> ClientHello:
    """Add an RFC 7685 padding extension so the handshake message is exactly the target."""
    size = 4 + len(encode_client_hello(hello))
    target = spec.padding_target
    if target is None and spec.pad_f5_range and size in F5_RANGE:
        target = max(512, size + 4 + (0 if hello.extensions is not None else 2))  # 509..511 overshoot
    if target is None or target == size:
        return hello
    extra = target - size - (0 if hello.extensions is not None else 2)
    if extra < 4:  # the padding extension header alone is 4 bytes
        raise ValueError(f"{spec.name}: hello is {size} bytes, cannot pad to {target}")
    exts = (*(hello.extensions or ()), Padding(extra - 4))
    return ClientHello(
        hello.legacy_version,
        hello.random,
        hello.session_id,
        hello.cipher_suites,
        hello.compression_methods,
        exts,
    )


def client_hello_for(
    spec: HelloSpec, random: bytes | None = None, key_share_material: Mapping[int, bytes] | None = None
) -> ClientHello:
    """The :class:`ClientHello` value a spec describes (before framing)."""
    random = secrets.token_bytes(32) if random is None else random
    if len(random) != 32:
        raise ValueError("ClientHello.random is 32 bytes")
    grease = grease_values(random)
    suites = ([grease[0]] if spec.grease else []) + list(spec.cipher_suites)
    if spec.renegotiation == "scsv":
        suites.append(EMPTY_RENEGOTIATION_INFO_SCSV)
    if spec.fallback_scsv:
        suites.append(FALLBACK_SCSV)  # RFC 7507 §4: after the real suites
    hello = ClientHello(
        ProtocolVersion(spec.client_version),
        random,
        expand(random, "session_id", spec.session_id_len),
        tuple(CipherSuite(s) for s in suites),
        tuple(CompressionMethod(c) for c in spec.compression),
        tuple(_extensions(spec, random, key_share_material or {}, grease)) if spec.extensions else None,
    )
    return _pad(spec, hello)


def build_client_hello(
    spec: HelloSpec, random: bytes | None = None, key_share_material: Mapping[int, bytes] | None = None
) -> bytes:
    """The bytes to write to the socket: the ClientHello framed as handshake record(s).

    ``random`` (32 bytes) also seeds every other generated value (session id, GREASE,
    key shares), so a fixed random gives identical bytes. ``key_share_material`` maps a
    group to the ``key_exchange`` bytes to send; groups not in it get a generated public
    key (see :mod:`tlsdoctor.wire.keyshares`).
    """
    if spec.record_format == "sslv2":
        return build_sslv2_client_hello(spec, random)
    body = encode_client_hello(client_hello_for(spec, random, key_share_material))
    message = build_handshake(HandshakeType.CLIENT_HELLO, body)
    return build_records(ContentType.HANDSHAKE, spec.record_version, message, MAX_PLAINTEXT)


def build_sslv2_client_hello(spec: HelloSpec, random: bytes | None = None) -> bytes:
    """SSLv2 CLIENT-HELLO (draft-hickman-netscape-ssl-00; RFC 5246 §E.2 for the
    v2-compatible form). Cipher specs: the SSLv2 kinds, then TLS suites as 0x00XXXX."""
    challenge = (secrets.token_bytes(32) if random is None else random)[:16]
    specs = [*spec.sslv2_cipher_kinds, *spec.cipher_suites]
    w = Writer().u8(1).u16(spec.client_version).u16(3 * len(specs)).u16(0).u16(len(challenge))
    for kind in specs:
        w.u24(kind)
    body = w.bytes(challenge).getvalue()
    if len(body) > 0x7FFF:
        raise ValueError("SSLv2 record too long")
    return Writer().u16(0x8000 | len(body)).bytes(body).getvalue()
