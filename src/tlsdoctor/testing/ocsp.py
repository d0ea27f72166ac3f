"""Stapled OCSP responses and SCT lists for test servers (``openssl s_server -status_file`` and
``-serverinfo``): what a CT-logging CA and a stapling server deliver, built here, never fetched.

cryptography's OCSPResponseBuilder writes responseExtensions only, while RFC 6962 §3.3 puts the SCT
list in the SingleResponse's singleExtensions (where Chromium looks for it), so the BasicOCSPResponse
is also written here, DER by hand (RFC 6960 §4.2.1), and signed by the issuer's key; cryptography
parses the result back, which checks the encoding.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509 import ocsp

from tlsdoctor.wire.sct import Sct, encode_sct_list

SCT_OID = "1.3.6.1.4.1.11129.2.4.5"  # RFC 6962 §3.3, the OCSP extension
_SHA1, _BASIC = "1.3.14.3.2.26", "1.3.6.1.5.5.7.48.1.1"  # RFC 6960 §4.2.1 id-pkix-ocsp-basic
_ECDSA_SHA256, _RSA_SHA256 = "1.2.840.10045.4.3.2", "1.2.840.113549.1.1.11"


def sample_scts(n: int, at: dt.datetime, seed: str = "log") -> list[Sct]:
    """``n`` well-formed v1 SCTs from distinct made-up logs (their signatures are not real)."""
    ms = int(at.timestamp() * 1000)
    return [
        Sct(
            version=0,
            log_id=hashlib.sha256(f"{seed}{i}".encode()).digest(),
            timestamp_ms=ms + i,
            signature=bytes(range(i, i + 70)),
        )
        for i in range(n)
    ]


# OpenSSL's SSL_EXT_* context bits (ssl.h) for a SERVERINFOV2 block: offered in the ClientHello,
# answered in a TLS 1.2 ServerHello and in TLS 1.3's leaf CertificateEntry (RFC 8446 §4.4.2.1).
_V2_CONTEXT = 0x0001 | 0x0040 | 0x0080 | 0x0100 | 0x1000


def serverinfo_pem(scts: list[Sct], *, tls13: bool = False) -> bytes:
    """An ``openssl s_server -serverinfo`` file carrying the signed_certificate_timestamp extension
    (type 18) with ``scts``: the extension type, its length, its body (SSL_CTX_use_serverinfo_file).
    ``tls13``: the version 2 format, whose context bits also put it in a TLS 1.3 Certificate (a
    version 1 file is TLS <= 1.2 only)."""
    body = encode_sct_list(scts)
    block = (18).to_bytes(2, "big") + len(body).to_bytes(2, "big") + body
    name = b"SERVERINFO FOR CT"
    if tls13:
        block, name = _V2_CONTEXT.to_bytes(4, "big") + block, b"SERVERINFOV2 FOR CT"
    return b"-----BEGIN " + name + b"-----\n" + base64.encodebytes(block) + b"-----END " + name + b"-----\n"


def ocsp_response(
    cert: x509.Certificate,
    issuer: x509.Certificate,
    issuer_key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey,
    at: dt.datetime,
    *,
    single_scts: list[Sct] | None = None,
) -> bytes:
    """A successful, signed OCSP response saying ``cert`` is good at ``at``, with ``single_scts`` in
    its singleExtensions (RFC 6962 §3.3)."""
    request = ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, hashes.SHA1()).build()
    cert_id = _seq(
        _seq(_oid(_SHA1), b"\x05\x00"),
        _tlv(0x04, request.issuer_name_hash),
        _tlv(0x04, request.issuer_key_hash),
        _int(request.serial_number),
    )
    single = [cert_id, b"\x80\x00", _time(at), _tlv(0xA0, _time(at + dt.timedelta(days=7)))]  # good
    if single_scts is not None:
        value = _tlv(0x04, _tlv(0x04, encode_sct_list(single_scts)))  # extnValue OCTET STRING { list }
        single.append(_tlv(0xA1, _seq(_seq(_oid(SCT_OID), value))))
    tbs = _seq(_tlv(0xA1, issuer.subject.public_bytes()), _time(at), _seq(_seq(*single)))
    if isinstance(issuer_key, ec.EllipticCurvePrivateKey):
        algorithm, signature = _seq(_oid(_ECDSA_SHA256)), issuer_key.sign(tbs, ec.ECDSA(hashes.SHA256()))
    else:
        algorithm = _seq(_oid(_RSA_SHA256), b"\x05\x00")
        signature = issuer_key.sign(tbs, padding.PKCS1v15(), hashes.SHA256())
    basic = _seq(tbs, algorithm, _tlv(0x03, b"\x00" + signature))
    der = _seq(_tlv(0x0A, b"\x00"), _tlv(0xA0, _seq(_oid(_BASIC), _tlv(0x04, basic))))
    ocsp.load_der_ocsp_response(der).single_extensions  # noqa: B018 -- raises if the DER is wrong
    return der


def _tlv(tag: int, body: bytes) -> bytes:
    n = len(body)
    if n < 0x80:
        return bytes((tag, n)) + body
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(size))) + size + body


def _seq(*parts: bytes) -> bytes:
    return _tlv(0x30, b"".join(parts))


def _int(value: int) -> bytes:
    return _tlv(0x02, value.to_bytes(value.bit_length() // 8 + 1, "big"))  # a leading 0 keeps it positive


def _oid(dotted: str) -> bytes:
    arcs = [int(a) for a in dotted.split(".")]
    out = bytearray([40 * arcs[0] + arcs[1]])
    for arc in arcs[2:]:
        chunk = [arc & 0x7F]
        while arc > 0x7F:
            arc >>= 7
            chunk.append(0x80 | (arc & 0x7F))
        out += bytes(reversed(chunk))
    return _tlv(0x06, bytes(out))


def _time(when: dt.datetime) -> bytes:
    return _tlv(0x18, when.astimezone(dt.UTC).strftime("%Y%m%d%H%M%SZ").encode())
