"""The server's flight after ServerHello: Certificate, ServerKeyExchange,
CertificateRequest, ServerHelloDone (RFC 5246 §7.4.2-7.4.5, RFC 8446 §4.3.2, §4.4.2).

In TLS 1.3 these are encrypted: the scan's own TLS 1.3 probe (wire/flight13.py) and decrypted
captures read the 1.3 forms with the same code.
"""

from __future__ import annotations

from typing import NamedTuple

from .codepoints import CertificateType, ExtensionType, NamedGroup, ProtocolVersion, SignatureScheme
from .extensions import Extension, SignatureAlgorithms, parse_extensions
from .reader import Reader
from .registry import suite_info
from .writer import Writer

__all__ = [
    "CertificateMessage",
    "CertificateRequest",
    "ServerKeyExchange",
    "encode_certificate",
    "encode_certificate_request_tls12",
    "parse_certificate",
    "parse_certificate_request",
    "parse_server_hello_done",
    "parse_server_key_exchange",
]


class CertificateMessage(NamedTuple):
    certificates: tuple[bytes, ...]  # DER, leaf first (as sent: order is the peer's)
    context: bytes | None = None  # TLS 1.3 certificate_request_context; None for TLS <= 1.2
    # TLS 1.3: each CertificateEntry's extensions, in step with ``certificates`` (RFC 8446 §4.4.2:
    # status_request carries the entry's stapled OCSP, signed_certificate_timestamp its SCT list)
    entry_extensions: tuple[tuple[Extension, ...], ...] = ()


def parse_certificate(body: bytes, tls13: bool, offset: int = 0) -> CertificateMessage:
    """TLS 1.2: ``ASN.1Cert certificate_list<0..2^24-1>`` (RFC 5246 §7.4.2);
    TLS 1.3: context + ``CertificateEntry certificate_list<0..2^24-1>`` (RFC 8446 §4.4.2)."""
    r = Reader(body, base=offset)
    context = r.vector(1, "Certificate.certificate_request_context") if tls13 else None
    certs: list[bytes] = []
    entries: list[tuple[Extension, ...]] = []
    with r.sub_vector(3, "Certificate.certificate_list"):
        while not r.at_end():
            certs.append(r.vector(3, "Certificate.cert_data", min_len=1))
            if tls13:
                entries.append(parse_extensions(r, "other", "CertificateEntry.extensions"))
    r.expect_end("Certificate")
    return CertificateMessage(tuple(certs), context, tuple(entries))


def encode_certificate(msg: CertificateMessage) -> bytes:
    w = Writer()
    if msg.context is not None:
        w.opaque(1, msg.context)
    with w.vector(3):
        for i, der in enumerate(msg.certificates):
            w.opaque(3, der)
            if msg.context is not None:
                exts = msg.entry_extensions[i] if i < len(msg.entry_extensions) else ()
                with w.vector(2):
                    for ext in exts:
                        w.u16(ext.ext_type).opaque(2, ext.body())
    return w.getvalue()


class ServerKeyExchange(NamedTuple):
    """What a diagnosis needs from ServerKeyExchange: which group or how big a DH prime,
    and the signature scheme. ``kind`` is ecdhe, dhe, rsa (export), psk or unknown."""

    kind: str
    group: NamedGroup | None = None  # ECDHE named curve (RFC 8422 §5.4)
    curve_type: int | None = None  # 3 = named_curve; 1/2 explicit curves (deprecated)
    dh_prime_bits: int | None = None  # DHE: bit length of dh_p (RFC 5246 §7.4.3)
    public_len: int = 0  # bytes of the server's ephemeral public value
    signature_scheme: SignatureScheme | None = None  # TLS 1.2 only (RFC 5246 §7.4.1.4.1)
    signature: bytes = b""
    psk_identity_hint: bytes | None = None
    raw: bytes = b""


def _signature(r: Reader, version: ProtocolVersion, anon: bool) -> tuple[SignatureScheme | None, bytes]:
    if anon:
        return None, b""
    scheme = (
        SignatureScheme(r.u16("ServerKeyExchange.algorithm")) if version >= ProtocolVersion.TLS1_2 else None
    )
    return scheme, r.vector(2, "ServerKeyExchange.signature")


def parse_server_key_exchange(
    body: bytes, cipher_suite: int, version: ProtocolVersion, offset: int = 0
) -> ServerKeyExchange:
    """Parse by the key exchange of the chosen suite (the message carries no type)."""
    info = suite_info(cipher_suite)
    kx, auth = (info.kx, info.auth) if info else ("?", "?")
    r = Reader(body, base=offset)
    hint = r.vector(2, "ServerKeyExchange.psk_identity_hint") if auth == "PSK" else None
    anon = auth in ("anon", "PSK")
    if kx == "ECDHE":
        curve_type = r.u8("ServerKeyExchange.curve_type")
        if curve_type != 3:  # explicit curves: RFC 8422 §5.4 deprecates; not parsed further
            return ServerKeyExchange("ecdhe", curve_type=curve_type, psk_identity_hint=hint, raw=body)
        group = NamedGroup(r.u16("ServerKeyExchange.named_curve"))
        point = r.vector(1, "ServerKeyExchange.public", min_len=1)
        scheme, sig = _signature(r, version, anon)
        r.expect_end("ServerKeyExchange")
        return ServerKeyExchange("ecdhe", group, 3, None, len(point), scheme, sig, hint, body)
    if kx == "DHE":
        p = r.vector(2, "ServerKeyExchange.dh_p", min_len=1)
        r.vector(2, "ServerKeyExchange.dh_g", min_len=1)
        ys = r.vector(2, "ServerKeyExchange.dh_Ys", min_len=1)
        scheme, sig = _signature(r, version, anon)
        r.expect_end("ServerKeyExchange")
        bits = int.from_bytes(p, "big").bit_length()
        return ServerKeyExchange("dhe", None, None, bits, len(ys), scheme, sig, hint, body)
    if kx == "RSA" and auth == "RSA":  # export RSA: temporary 512-bit key (RFC 2246 §7.4.3)
        modulus = r.vector(2, "ServerKeyExchange.rsa_modulus", min_len=1)
        r.vector(2, "ServerKeyExchange.rsa_exponent", min_len=1)
        scheme, sig = _signature(r, version, False)
        r.expect_end("ServerKeyExchange")
        bits = int.from_bytes(modulus, "big").bit_length()
        return ServerKeyExchange("rsa", None, None, bits, len(modulus), scheme, sig, None, body)
    if kx == "PSK":
        r.expect_end("ServerKeyExchange")
        return ServerKeyExchange("psk", psk_identity_hint=hint, raw=body)
    return ServerKeyExchange("unknown", raw=body)


class CertificateRequest(NamedTuple):
    """The server asks for a client certificate (mTLS)."""

    certificate_types: tuple[CertificateType, ...]  # TLS <= 1.2
    signature_schemes: tuple[SignatureScheme, ...]
    authorities: tuple[bytes, ...]  # DER DistinguishedNames the server accepts (may be empty)
    context: bytes | None = None  # TLS 1.3
    extensions: tuple[Extension, ...] = ()


def parse_certificate_request(body: bytes, version: ProtocolVersion, offset: int = 0) -> CertificateRequest:
    """RFC 5246 §7.4.4 (the signature list is TLS 1.2 only) / RFC 8446 §4.3.2."""
    r = Reader(body, base=offset)
    if version >= ProtocolVersion.TLS1_3:
        context = r.vector(1, "CertificateRequest.certificate_request_context")
        exts = parse_extensions(r, "other", "CertificateRequest.extensions")
        r.expect_end("CertificateRequest")
        schemes: tuple[SignatureScheme, ...] = ()
        names: list[bytes] = []
        for ext in exts:
            if ext.ext_type == ExtensionType.SIGNATURE_ALGORITHMS:
                sr = Reader(ext.body(), base=offset)
                with sr.sub_vector(2, "CertificateRequest.signature_algorithms"):
                    schemes = tuple(SignatureScheme(sr.u16("scheme")) for _ in range(sr.remaining() // 2))
            elif ext.ext_type == ExtensionType.CERTIFICATE_AUTHORITIES:
                cr = Reader(ext.body(), base=offset)
                with cr.sub_vector(2, "CertificateRequest.certificate_authorities"):
                    while not cr.at_end():
                        names.append(cr.vector(2, "DistinguishedName", min_len=1))
        return CertificateRequest((), schemes, tuple(names), context, exts)
    types = tuple(CertificateType(t) for t in r.vector(1, "CertificateRequest.certificate_types", min_len=1))
    schemes = ()
    if version >= ProtocolVersion.TLS1_2:
        data = r.vector(2, "CertificateRequest.supported_signature_algorithms", min_len=2)
        if len(data) % 2:
            raise r.fail("CertificateRequest.supported_signature_algorithms", "odd length")
        schemes = SignatureAlgorithms(
            tuple(SignatureScheme(int.from_bytes(data[i : i + 2], "big")) for i in range(0, len(data), 2))
        ).schemes
    names = []
    with r.sub_vector(2, "CertificateRequest.certificate_authorities"):
        while not r.at_end():
            names.append(r.vector(2, "DistinguishedName", min_len=1))
    r.expect_end("CertificateRequest")
    return CertificateRequest(types, schemes, tuple(names))


def parse_server_hello_done(body: bytes, offset: int = 0) -> None:
    """RFC 5246 §7.4.5: the body is empty."""
    Reader(body, base=offset).expect_end("ServerHelloDone")


def encode_certificate_request_tls12(types: tuple[int, ...], schemes: tuple[int, ...]) -> bytes:
    w = Writer().opaque(1, bytes(types))
    with w.vector(2):
        w.u16s(schemes)
    w.u16(0)  # no certificate_authorities
    return w.getvalue()
