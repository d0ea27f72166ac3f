"""Named ClientHello shapes, as data (STYLE rule 6: tables you can read).

Each variant isolates one property a server or middlebox may choke on: size, post-quantum
key shares, protocol version, the F5 256-511 byte range. So that only PADDED_300 tests
that range, every other TLS variant pads itself out of it (``pad_f5_range``). SSL3 and
SSLV2 hellos have no extensions, hence no SNI. Pass ``sni=`` with
:func:`dataclasses.replace`: ``replace(MODERN, sni="example.com")``.
"""

from __future__ import annotations

from .codepoints import ExtensionType, NamedGroup, ProtocolVersion
from .codepoints import SignatureScheme as S
from .extensions import RawExtension
from .hello import HelloSpec
from .keyshares import expand

__all__ = [
    "MINIMAL",
    "MODERN",
    "PADDED_300",
    "PQ_LARGE",
    "SSL3",
    "SSLV2",
    "TLS10",
    "TLS11",
    "TLS12",
    "TLS13",
    "VARIANTS",
]

V = ProtocolVersion
G = NamedGroup

TLS13_SUITES = (0x1301, 0x1302, 0x1303)
# ECDHE AEAD first, then the CBC and RSA suites every TLS 1.2 server has (RFC 9325 order).
TLS12_SUITES = (0xC02B, 0xC02F, 0xC02C, 0xC030, 0xCCA9, 0xCCA8, 0x009E, 0x009F, 0xC009, 0xC013,
                0xC00A, 0xC014, 0x009C, 0x009D, 0x002F, 0x0035)  # fmt: skip
# What TLS 1.0/1.1 servers can choose: CBC with SHA-1, and 3DES as the last resort.
LEGACY_SUITES = (0xC009, 0xC013, 0xC00A, 0xC014, 0x0033, 0x0039, 0x002F, 0x0035, 0x000A)
SSL3_SUITES = (0x0035, 0x002F, 0x000A, 0x0005, 0x0004)
MODERN_SCHEMES = (S.ECDSA_SECP256R1_SHA256, S.RSA_PSS_RSAE_SHA256, S.RSA_PKCS1_SHA256,
                  S.ECDSA_SECP384R1_SHA384, S.RSA_PSS_RSAE_SHA384, S.RSA_PKCS1_SHA384,
                  S.RSA_PSS_RSAE_SHA512, S.RSA_PKCS1_SHA512, S.ED25519, S.ED448,
                  S.RSA_PSS_PSS_SHA256, S.ECDSA_SECP521R1_SHA512, S.RSA_PKCS1_SHA1, S.ECDSA_SHA1)  # fmt: skip
# draft-ietf-tls-esni §6.2 GREASE ECH, as Chrome sends it: outer(0), HKDF-SHA256(1),
# AES-128-GCM(1), config id, a 32-byte X25519 enc, a 208-byte payload. Fixed bytes: a
# server cannot decrypt GREASE anyway, and it makes the hello browser-sized.
GREASE_ECH = (
    b"\x00\x00\x01\x00\x01\x2a\x00\x20"
    + expand(b"pq-large", "ech-enc", 32)
    + b"\x00\xd0"
    + expand(b"pq-large", "ech-payload", 208)
)
# SSLv2 cipher kinds (draft-hickman-netscape-ssl-00 App. C)
SSL2_KINDS = (0x0700C0, 0x050080, 0x030080, 0x010080, 0x060040, 0x040080, 0x020080)

MINIMAL = HelloSpec(
    pad_f5_range=True,
    name="minimal",
    cipher_suites=(0xC02F, 0xC02B, 0x009C, 0x002F),
    groups=(G.X25519, G.SECP256R1),
    signature_schemes=(S.RSA_PSS_RSAE_SHA256, S.RSA_PKCS1_SHA256, S.ECDSA_SECP256R1_SHA256),
    session_id_len=0,
    extended_master_secret=False,
)

MODERN = HelloSpec(
    name="modern",
    cipher_suites=TLS13_SUITES + TLS12_SUITES,
    groups=(G.X25519, G.SECP256R1, G.X448, G.SECP521R1, G.SECP384R1, G.FFDHE2048, G.FFDHE3072),
    key_share_groups=(G.X25519,),
    signature_schemes=MODERN_SCHEMES,
    alpn=(b"h2", b"http/1.1"),
    supported_versions=(V.TLS1_3, V.TLS1_2),
    session_ticket=True,
    status_request=True,
    encrypt_then_mac=True,
    pad_f5_range=True,
)

PQ_LARGE = HelloSpec(
    name="pq-large",
    cipher_suites=TLS13_SUITES + TLS12_SUITES[:6] + (0xC013, 0xC014, 0x009C, 0x009D, 0x002F, 0x0035),
    groups=(G.X25519MLKEM768, G.X25519, G.SECP256R1, G.SECP384R1),
    key_share_groups=(G.X25519MLKEM768, G.X25519),
    signature_schemes=(
        S.ECDSA_SECP256R1_SHA256,
        S.RSA_PSS_RSAE_SHA256,
        S.RSA_PKCS1_SHA256,
        S.ECDSA_SECP384R1_SHA384,
        S.RSA_PSS_RSAE_SHA384,
        S.RSA_PKCS1_SHA384,
        S.RSA_PSS_RSAE_SHA512,
        S.RSA_PKCS1_SHA512,
    ),
    alpn=(b"h2", b"http/1.1"),
    supported_versions=(V.TLS1_3, V.TLS1_2),
    grease=True,
    session_ticket=True,
    status_request=True,
    extra_extensions=(
        RawExtension(ExtensionType.SIGNED_CERTIFICATE_TIMESTAMP, b""),
        RawExtension(ExtensionType.COMPRESS_CERTIFICATE, b"\x02\x00\x02"),  # RFC 8879: brotli
        RawExtension(ExtensionType.APPLICATION_SETTINGS, b"\x00\x03\x02h2"),
        RawExtension(ExtensionType.ENCRYPTED_CLIENT_HELLO, GREASE_ECH),
    ),
    pad_f5_range=True,
)

PADDED_300 = HelloSpec(
    name="padded-300",
    cipher_suites=TLS12_SUITES,
    groups=(G.X25519, G.SECP256R1, G.SECP384R1),
    signature_schemes=MODERN_SCHEMES[:8],
    padding_target=300,  # inside the 256..511 range that hangs some F5 BIG-IP versions
)

TLS13 = HelloSpec(
    pad_f5_range=True,
    name="tls1.3",
    client_version=V.TLS1_2,  # RFC 8446 §4.1.2: legacy_version stays 0x0303
    cipher_suites=TLS13_SUITES,
    groups=(G.X25519, G.SECP256R1, G.SECP384R1),
    key_share_groups=(G.X25519, G.SECP256R1),
    signature_schemes=MODERN_SCHEMES[:12],
    supported_versions=(V.TLS1_3,),
    renegotiation="none",
    extended_master_secret=False,
)

TLS12 = HelloSpec(
    pad_f5_range=True,
    name="tls1.2",
    cipher_suites=(*TLS12_SUITES, 0x000A),
    groups=(G.X25519, G.SECP256R1, G.SECP384R1, G.SECP521R1),
    signature_schemes=MODERN_SCHEMES,
    session_id_len=0,
)

TLS11 = HelloSpec(
    pad_f5_range=True,
    name="tls1.1",
    client_version=V.TLS1_1,
    cipher_suites=LEGACY_SUITES,
    groups=(G.SECP256R1, G.SECP384R1, G.X25519),
    session_id_len=0,
)

TLS10 = HelloSpec(
    pad_f5_range=True,
    name="tls1.0",
    client_version=V.TLS1_0,
    cipher_suites=LEGACY_SUITES,
    groups=(G.SECP256R1, G.SECP384R1, G.X25519),
    session_id_len=0,
)

SSL3 = HelloSpec(
    name="ssl3",
    record_version=V.SSL3,
    client_version=V.SSL3,
    cipher_suites=SSL3_SUITES,
    renegotiation="scsv",  # RFC 5746 §3.3: SSLv3 hellos signal with the SCSV
    extensions=False,
    extended_master_secret=False,
    session_id_len=0,
)

SSLV2 = HelloSpec(
    name="sslv2",
    record_format="sslv2",
    client_version=V.SSL2,
    sslv2_cipher_kinds=SSL2_KINDS,
    cipher_suites=(0x000A, 0x0005, 0x0004),
    extensions=False,
)

VARIANTS: dict[str, HelloSpec] = {
    v.name: v for v in (MINIMAL, MODERN, PQ_LARGE, PADDED_300, TLS13, TLS12, TLS11, TLS10, SSL3, SSLV2)
}
