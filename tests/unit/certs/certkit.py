"""A tiny PKI for certificate-analysis tests: every chain judged at a FixedClock instant."""

from __future__ import annotations

import datetime as dt
import functools
import ipaddress
from collections.abc import Sequence

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
Key = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


@functools.cache
def key(kind: str = "ec", slot: str = "leaf") -> Key:
    """One key per (kind, slot), made once: RSA generation is slow."""
    if kind == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=int(kind[3:]))


def name(cn: str, org: str = "tlsdoctor tests") -> x509.Name:
    return x509.Name(
        [x509.NameAttribute(NameOID.ORGANIZATION_NAME, org), x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    )


def make(
    subject: x509.Name,
    key_: Key,
    *,
    issuer: x509.Certificate | None = None,
    issuer_key: Key | None = None,
    ca: bool = False,
    sans: Sequence[str] = (),
    not_before: dt.datetime = NOW - 30 * DAY,
    not_after: dt.datetime = NOW + 60 * DAY,
    hash_: hashes.HashAlgorithm | None = None,
    aia: str | None = None,
) -> x509.Certificate:
    """A certificate with the extensions the RFC 5280/CA-B profile of cryptography's verifier wants."""
    signer = issuer_key or key_
    issuer_name = issuer.subject if issuer is not None else subject
    b = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key_.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key_.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()), critical=False
        )
    )
    if ca:
        b = b.add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    else:
        b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    if sans:
        entries: list[x509.GeneralName] = []
        for s in sans:
            try:
                entries.append(x509.IPAddress(ipaddress.ip_address(s)))
            except ValueError:
                entries.append(x509.DNSName(s))
        b = b.add_extension(x509.SubjectAlternativeName(entries), critical=False)
    if aia:
        b = b.add_extension(
            x509.AuthorityInformationAccess(
                [
                    x509.AccessDescription(
                        AuthorityInformationAccessOID.CA_ISSUERS, x509.UniformResourceIdentifier(aia)
                    )
                ]
            ),
            critical=False,
        )
    return b.sign(signer, hash_ or hashes.SHA256())


def der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


class Pki:
    """root -> intermediate -> leaf factory."""

    def __init__(
        self,
        root_name: str = "Test Root CA",
        inter_name: str = "Test Intermediate CA",
        inter_org: str = "tlsdoctor tests",
    ) -> None:
        self.root_key = key("ec", "root")
        self.inter_key = key("ec", "inter")
        self.root = make(
            name(root_name), self.root_key, ca=True, not_before=NOW - 3650 * DAY, not_after=NOW + 3650 * DAY
        )
        self.inter = make(
            name(inter_name, inter_org),
            self.inter_key,
            issuer=self.root,
            issuer_key=self.root_key,
            ca=True,
            not_before=NOW - 365 * DAY,
            not_after=NOW + 1000 * DAY,
        )

    def leaf(self, *sans: str, key_: Key | None = None, **kw: object) -> x509.Certificate:
        return make(
            name(sans[0] if sans else "leaf"),
            key_ or key("ec", "leaf"),
            issuer=self.inter,
            issuer_key=self.inter_key,
            sans=sans,
            **kw,
        )  # type: ignore[arg-type]

    def chain(self, leaf: x509.Certificate) -> tuple[bytes, ...]:
        return (der(leaf), der(self.inter))


def _der_len(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def _tlv(tag: int, body: bytes) -> bytes:
    return bytes([tag]) + _der_len(len(body)) + body


SHA256_RSA = bytes.fromhex("06092a864886f70d01010b")
SHA1_RSA = bytes.fromhex("06092a864886f70d010105")


def resign_sha1(cert: x509.Certificate, issuer_key: rsa.RSAPrivateKey) -> bytes:
    """The same certificate signed with sha1WithRSAEncryption (cryptography no longer signs SHA-1 itself).

    The two algorithm OIDs have the same length, so the TBS is patched in place (RFC 5280 section 4.1).
    """
    from cryptography.hazmat.primitives.asymmetric import padding

    tbs = cert.tbs_certificate_bytes
    assert tbs.count(SHA256_RSA) == 1
    tbs = tbs.replace(SHA256_RSA, SHA1_RSA)
    signature = issuer_key.sign(tbs, padding.PKCS1v15(), hashes.SHA1())
    algorithm = _tlv(0x30, SHA1_RSA + b"\x05\x00")
    return _tlv(0x30, tbs + algorithm + _tlv(0x03, b"\x00" + signature))
