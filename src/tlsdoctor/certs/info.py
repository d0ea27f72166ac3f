"""Turn one X.509 certificate into a CertificateInfo: the fields a person diagnosing TLS reads."""

from __future__ import annotations

import datetime as dt
import ipaddress
import warnings

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, padding, rsa
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.oid import AuthorityInformationAccessOID

from tlsdoctor.observations.cert import CertificateInfo

# What cryptography raises on certificate bytes that do not decode, besides ValueError: an unknown
# version (at load), a repeated extension or an unknown GeneralName (when extensions are read), a key
# of an algorithm it does not implement (when the key is read; also a PKCS#7 of another content
# type), a TypeError for a name attribute of the wrong string type (when the name is read).
UNDECODABLE = (
    ValueError,
    TypeError,
    x509.InvalidVersion,
    x509.DuplicateExtension,
    x509.UnsupportedGeneralNameType,
    UnsupportedAlgorithm,
)


def decode_fields(cert: x509.Certificate) -> None:
    """Decode every field the analysis reads, or raise ValueError saying what failed.

    cryptography parses a certificate lazily: ``load_der_x509_certificate`` accepts DER whose key,
    names, dates or extensions do not decode, and the error surfaces later, wherever the field is
    first read. A server may send such a certificate, so this runs once where certificates are
    loaded, and the certificate becomes an "unparseable" finding instead of a crashed check.
    """
    try:
        cert.public_key()
        name_text(cert.subject)
        name_text(cert.issuer)
        cert.not_valid_before_utc, cert.not_valid_after_utc  # noqa: B018
        for ext in cert.extensions:
            ext.value  # noqa: B018
    except UNDECODABLE as exc:
        raise ValueError(str(exc) or type(exc).__name__) from None


def load_der(der: bytes) -> x509.Certificate:
    """One DER certificate with every field decoded, else ValueError. Deprecation warnings (e.g. a
    non-positive serial, RFC 5280 section 4.1.2.2) are muted: the verifier judges those."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        try:
            cert = x509.load_der_x509_certificate(der)
        except UNDECODABLE as exc:
            raise ValueError(str(exc) or type(exc).__name__) from None
        decode_fields(cert)
    return cert


def name_text(name: x509.Name) -> str:
    """A distinguished name as RFC 4514 text ("CN=example.com,O=Example")."""
    return name.rfc4514_string()


def fingerprint(cert: x509.Certificate) -> str:
    """The SHA-256 fingerprint of the DER, lowercase hex without separators."""
    return cert.fingerprint(hashes.SHA256()).hex()


def key_description(cert: x509.Certificate) -> tuple[str, int]:
    """(key type, size in bits) of the subject public key."""
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return "RSA", key.key_size
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "EC", key.curve.key_size
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519", 256
    if isinstance(key, ed448.Ed448PublicKey):
        return "Ed448", 456
    with warnings.catch_warnings():  # cryptography deprecates DSA: naming a DSA key is still our job
        warnings.simplefilter("ignore")
        if isinstance(key, dsa.DSAPublicKey):
            return "DSA", key.key_size
    return type(key).__name__, 0


def signature_hash(cert: x509.Certificate) -> str | None:
    """The hash of the issuer's signature ("sha256", "sha1", "md5"), or None (EdDSA, unknown)."""
    try:
        algorithm = cert.signature_hash_algorithm
    except Exception:  # unsupported algorithm: cryptography raises UnsupportedAlgorithm
        return None
    return algorithm.name if algorithm is not None else None


def sans(cert: x509.Certificate) -> tuple[str, ...]:
    """subjectAltName entries as "DNS:name" / "IP:addr" (RFC 5280 section 4.2.1.6)."""
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return ()
    out = [f"DNS:{n}" for n in ext.get_values_for_type(x509.DNSName)]
    out += [
        f"IP:{ipaddress.ip_address(a)}"
        for a in ext.get_values_for_type(x509.IPAddress)
        if isinstance(a, ipaddress.IPv4Address | ipaddress.IPv6Address)
    ]
    return tuple(out)


def is_ca(cert: x509.Certificate) -> bool:
    """basicConstraints cA (RFC 5280 section 4.2.1.9); absent means not a CA."""
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def aia(cert: x509.Certificate) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(caIssuers URLs, OCSP URLs) from Authority Information Access (RFC 5280 section 4.2.2.1)."""
    try:
        ext = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    except x509.ExtensionNotFound:
        return (), ()
    issuers: list[str] = []
    ocsp: list[str] = []
    for desc in ext:
        if not isinstance(desc.access_location, x509.UniformResourceIdentifier):
            continue
        if desc.access_method == AuthorityInformationAccessOID.CA_ISSUERS:
            issuers.append(desc.access_location.value)
        elif desc.access_method == AuthorityInformationAccessOID.OCSP:
            ocsp.append(desc.access_location.value)
    return tuple(issuers), tuple(ocsp)


def is_self_signed(cert: x509.Certificate) -> bool:
    """Self-issued (RFC 5280 section 3.3: subject == issuer) and its signature verifies with its own key."""
    if cert.subject != cert.issuer:
        return False
    return signed_by(cert, cert)


def signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """Whether ``issuer`` issued ``cert``: names chain and the signature verifies.

    cryptography refuses to check SHA-1/MD5 signatures at all; those are verified here by
    hand so that a weak chain is still recognised as a chain (and reported as weak).
    """
    if cert.issuer != issuer.subject:
        return False
    try:
        cert.verify_directly_issued_by(issuer)
    except ValueError:
        return _legacy_signed_by(cert, issuer)
    except Exception:  # InvalidSignature, TypeError/UnsupportedAlgorithm (key types)
        return False
    return True


def _legacy_signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """PKCS#1 v1.5 / ECDSA / DSA signatures over legacy hashes, which cryptography will not verify."""
    try:
        algorithm = cert.signature_hash_algorithm
        key = issuer.public_key()
        if algorithm is None or algorithm.name not in ("sha1", "md5"):
            return False
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(), algorithm)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(algorithm))
        elif isinstance(key, dsa.DSAPublicKey):
            key.verify(cert.signature, cert.tbs_certificate_bytes, algorithm)
        else:
            return False
    except Exception:  # InvalidSignature, UnsupportedAlgorithm
        return False
    return True


def certificate_info(
    cert: x509.Certificate, index: int, at: dt.datetime, *, is_anchor: bool
) -> CertificateInfo:
    """The CertificateInfo of one certificate, with days left counted from ``at``."""
    key_type, key_bits = key_description(cert)
    issuers, ocsp = aia(cert)
    return CertificateInfo(
        index=index,
        subject=name_text(cert.subject),
        issuer=name_text(cert.issuer),
        serial=format(cert.serial_number, "x"),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        days_left=(cert.not_valid_after_utc - at).total_seconds() / 86400,
        key_type=key_type,
        key_bits=key_bits,
        signature_hash=signature_hash(cert),
        sans=sans(cert),
        self_signed=is_self_signed(cert),
        is_ca=is_ca(cert),
        ca_issuers=issuers,
        ocsp=ocsp,
        sha256=fingerprint(cert),
        is_anchor=is_anchor,
    )
