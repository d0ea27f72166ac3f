"""What an AIA caIssuers URL serves (RFC 5280 section 4.2.2.1): DER, PEM or a PKCS#7 bundle of
certificates. The fetch itself is net/http.py's (``get``: plain HTTP only, a capped body, one
deadline).
"""

from __future__ import annotations

import warnings

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.utils import CryptographyDeprecationWarning

from tlsdoctor.certs.info import UNDECODABLE, decode_fields, load_der


def certificates_in(body: bytes) -> list[x509.Certificate]:
    """An issuer as AIA serves it: DER, PEM, or a certs-only PKCS#7 bundle (RFC 5280 section 4.2.2.1)."""
    loaders = (
        lambda b: [load_der(b)],
        x509.load_pem_x509_certificates,
        pkcs7.load_der_pkcs7_certificates,
        pkcs7.load_pem_pkcs7_certificates,
    )
    for load in loaders:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", CryptographyDeprecationWarning)
                found = list(load(body))
        except UNDECODABLE:
            continue
        if found:
            return [c for c in found if _decodes(c)]
    return []


def _decodes(cert: x509.Certificate) -> bool:
    try:
        decode_fields(cert)
    except ValueError:
        return False
    return True


def der_of(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)
