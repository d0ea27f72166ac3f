"""Certificate Transparency's signed certificate timestamps as they travel outside the certificate,
and the CertificateStatus message that carries a stapled OCSP response.

A server proves its certificate was logged in one of three ways (RFC 6962 §3.3): SCTs embedded in
the certificate (an X.509 extension, read by cryptography), SCTs in the TLS extension
signed_certificate_timestamp (type 18) of its ServerHello, or SCTs in an extension of the stapled
OCSP response (OID 1.3.6.1.4.1.11129.2.4.5, in its singleExtensions). The last two are the
TLS-encoded ``SignedCertificateTimestampList`` parsed here. Pure: bytes in, values out.
"""

from __future__ import annotations

from typing import NamedTuple

from .reader import Reader
from .writer import Writer

__all__ = [
    "OCSP",
    "OCSP_MULTI",
    "CertificateStatus",
    "Sct",
    "encode_sct_list",
    "parse_certificate_status",
    "parse_sct_list",
]

MAX_SCTS = 64  # a certificate has 2-5; a list of thousands is a hostile peer's
OCSP, OCSP_MULTI = 1, 2  # CertificateStatusType: RFC 6066 §8, RFC 6961 §2.2


class Sct(NamedTuple):
    """One SignedCertificateTimestamp (RFC 6962 §3.2): the log that signed it and when."""

    version: int  # v1(0)
    log_id: bytes  # SHA-256 of the log's public key (32 bytes)
    timestamp_ms: int  # milliseconds since the epoch
    extensions: bytes = b""
    hash_algorithm: int = 4  # TLS HashAlgorithm: sha256(4)
    signature_algorithm: int = 3  # TLS SignatureAlgorithm: ecdsa(3)
    signature: bytes = b""


def parse_sct_list(data: bytes, offset: int = 0) -> tuple[Sct, ...]:
    """``SerializedSCT sct_list <1..2^16-1>``, each ``opaque SerializedSCT<1..2^16-1>`` (RFC 6962
    §3.3). A v1 SCT is parsed field by field (§3.2); an SCT of another version keeps only its
    version (its layout is not known), never an error: a newer log must not hide the others."""
    r = Reader(data, base=offset)
    out: list[Sct] = []
    with r.sub_vector(2, "SignedCertificateTimestampList", min_len=1):
        while not r.at_end():
            serialized = r.vector(2, "SerializedSCT", min_len=1)
            if len(out) >= MAX_SCTS:
                raise r.fail("SignedCertificateTimestampList", f"more than {MAX_SCTS} SCTs")
            out.append(_parse_sct(serialized, r.offset - len(serialized)))
    r.expect_end("SignedCertificateTimestampList")
    return tuple(out)


def _parse_sct(data: bytes, offset: int) -> Sct:
    s = Reader(data, base=offset)
    version = s.u8("SCT.version")
    if version != 0:
        return Sct(version=version, log_id=b"", timestamp_ms=0)
    log_id = s.bytes(32, "SCT.log_id")
    timestamp = int.from_bytes(s.bytes(8, "SCT.timestamp"), "big")
    extensions = s.vector(2, "SCT.extensions")
    hash_alg, sig_alg = s.u8("SCT.signature.hash"), s.u8("SCT.signature.signature")
    signature = s.vector(2, "SCT.signature")
    s.expect_end("SCT")
    return Sct(version, log_id, timestamp, extensions, hash_alg, sig_alg, signature)


def encode_sct_list(scts: tuple[Sct, ...] | list[Sct]) -> bytes:
    """The TLS encoding of a v1 SCT list (for test servers: ``openssl s_server -serverinfo`` and a
    stapled OCSP response's extension)."""
    w = Writer()
    with w.vector(2):
        for sct in scts:
            one = Writer().u8(sct.version).bytes(sct.log_id).bytes(sct.timestamp_ms.to_bytes(8, "big"))
            one.opaque(2, sct.extensions).u8(sct.hash_algorithm).u8(sct.signature_algorithm)
            one.opaque(2, sct.signature)
            w.opaque(2, one.getvalue())
    return w.getvalue()


class CertificateStatus(NamedTuple):
    """RFC 6066 §8 CertificateStatus: the DER OCSPResponse(s) the server stapled."""

    status_type: int
    responses: tuple[bytes, ...]


def parse_certificate_status(body: bytes, offset: int = 0) -> CertificateStatus:
    """``CertificateStatusType status_type; select: ocsp: OCSPResponse<1..2^24-1>`` (RFC 6066 §8),
    or ocsp_multi's ``OCSPResponseList<1..2^24-1>`` of ``OCSPResponse<0..2^24-1>`` (RFC 6961 §2.2,
    an empty entry for a certificate without a response). Another type keeps no response."""
    r = Reader(body, base=offset)
    status_type = r.u8("CertificateStatus.status_type")
    responses: list[bytes] = []
    if status_type == OCSP:
        responses.append(r.vector(3, "CertificateStatus.ocsp_response", min_len=1))
    elif status_type == OCSP_MULTI:
        with r.sub_vector(3, "CertificateStatus.ocsp_response_list", min_len=1):
            while not r.at_end():
                responses.append(r.vector(3, "CertificateStatus.ocsp_response"))
    else:
        r.rest("CertificateStatus.unknown")
    r.expect_end("CertificateStatus")
    return CertificateStatus(status_type, tuple(responses))
