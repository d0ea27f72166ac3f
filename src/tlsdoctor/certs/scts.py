"""Signed certificate timestamps from each of the three channels RFC 6962 §3.3 allows: embedded in
the certificate (an X.509 extension), in the ServerHello's signed_certificate_timestamp extension
(type 18), and in the stapled OCSP response (extension 1.3.6.1.4.1.11129.2.4.5). A certificate
without embedded SCTs is still CT-compliant when the server delivers them the other two ways, so a
report that reads only the certificate calls a compliant server non-compliant.

Each SCT comes out as ``{"log_id": hex, "timestamp": ISO 8601, "channel": CHANNEL}``. The TLS
encoding is parsed by wire/sct.py, the X.509 and OCSP wrappers by cryptography. No I/O.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from cryptography import x509
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtensionOID

from tlsdoctor.wire.reader import DecodeError
from tlsdoctor.wire.sct import Sct, parse_sct_list

EMBEDDED, TLS_EXTENSION, OCSP = "embedded", "tls-extension", "ocsp"
OCSP_SCT_OID = ExtensionOID.SIGNED_CERTIFICATE_TIMESTAMPS  # RFC 6962 §3.3: 1.3.6.1.4.1.11129.2.4.5
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def embedded(cert: x509.Certificate) -> list[dict[str, Any]]:
    """The SCTs of the certificate's own extension; an undecodable extension reads as none."""
    try:
        found = cert.extensions.get_extension_for_oid(ExtensionOID.PRECERT_SIGNED_CERTIFICATE_TIMESTAMPS)
    except (x509.ExtensionNotFound, ValueError):
        return []
    return [_from_x509(s, EMBEDDED) for s in found.value]  # type: ignore[attr-defined]


def from_tls_extension(data: bytes) -> tuple[list[dict[str, Any]], str]:
    """The SCTs of a ServerHello's extension 18 (its body is the SignedCertificateTimestampList),
    and what was wrong with it ("" when nothing)."""
    try:
        return [_from_wire(s, TLS_EXTENSION) for s in parse_sct_list(data)], ""
    except DecodeError as exc:
        return [], f"the signed_certificate_timestamp extension does not parse: {exc}"


def from_ocsp(der: bytes) -> tuple[list[dict[str, Any]], str]:
    """The SCTs of a stapled OCSP response: in its SingleResponse's singleExtensions, where RFC 6962
    §3.3 puts them (and Chromium reads them), or, leniently, in the responseExtensions."""
    try:
        response = ocsp.load_der_ocsp_response(der)
    except ValueError as exc:
        return [], f"the stapled OCSP response does not parse: {exc}"
    if response.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL:
        return [], ""
    out: list[dict[str, Any]] = []
    try:
        # single_extensions: those of the one SingleResponse a stapled answer has (cryptography
        # raises ValueError when there are several)
        for extensions in (response.single_extensions, response.extensions):
            for ext in extensions:
                if ext.oid == OCSP_SCT_OID:
                    out += _ocsp_extension(ext.value)
    except (ValueError, DecodeError) as exc:
        return out, f"the stapled OCSP response's SCT extension does not parse: {exc}"
    return out, ""


def _ocsp_extension(value: object) -> list[dict[str, Any]]:
    if isinstance(value, x509.UnrecognizedExtension):  # the extnValue: an OCTET STRING around the list
        return [_from_wire(s, OCSP) for s in parse_sct_list(_octet_string(value.value))]
    return [_from_x509(s, OCSP) for s in value]  # type: ignore[attr-defined]


def _octet_string(der: bytes) -> bytes:
    """The content of one DER OCTET STRING (X.690 §8.7), its length checked."""
    if len(der) < 2 or der[0] != 0x04:
        raise DecodeError(0, "SignedCertificateTimestampList", "not an OCTET STRING")
    n, at = der[1], 2
    if n & 0x80:
        size = n & 0x7F
        if not 1 <= size <= 3 or len(der) < 2 + size:
            raise DecodeError(1, "SignedCertificateTimestampList", "bad DER length")
        n, at = int.from_bytes(der[2 : 2 + size], "big"), 2 + size
    if at + n != len(der):
        raise DecodeError(at, "SignedCertificateTimestampList", "DER length disagrees with the data")
    return der[at:]


def _from_x509(sct: x509.certificate_transparency.SignedCertificateTimestamp, channel: str) -> dict[str, Any]:
    when = sct.timestamp.replace(tzinfo=dt.UTC).isoformat()
    return {"log_id": sct.log_id.hex(), "timestamp": when, "channel": channel}


def _from_wire(sct: Sct, channel: str) -> dict[str, Any]:
    """A v1 SCT's log and time; an SCT of an unknown version keeps its channel and no more."""
    if sct.version != 0:
        return {"log_id": None, "timestamp": None, "channel": channel, "version": sct.version + 1}
    try:
        when: str | None = (EPOCH + dt.timedelta(milliseconds=sct.timestamp_ms)).isoformat()
    except OverflowError:  # a u64 far past year 9999: the peer's nonsense, kept as unknown
        when = None
    return {"log_id": sct.log_id.hex(), "timestamp": when, "channel": channel}
