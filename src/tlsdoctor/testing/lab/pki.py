"""Certificates for the lab, made fresh per run with ``cryptography`` (never downloaded, never reused).

The server chain is deliberately big (RSA 4096 root -> RSA 4096 intermediate -> RSA 4096 leaf, and the file
the server sends also carries the root): the server's first flight then spans several 1500-byte segments,
which is what a path-MTU black hole swallows. The interception CA mimics the subject of a well-known
inspection product, because that subject is what a diagnosis of ``tls-interception`` looks for.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def _name(cn: str, org: str, unit: str | None = None) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, org)]
    if unit:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    return x509.Name(attrs)


def rsa_key(bits: int = 2048) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def make_ca(
    subject: x509.Name,
    key: PrivateKey,
    issuer: x509.Name | None = None,
    issuer_key: PrivateKey | None = None,
    path_len: int | None = None,
    days: int = 3650,
) -> x509.Certificate:
    """A CA certificate; self-signed when no issuer is given."""
    now = dt.datetime.now(dt.UTC)
    signer = issuer_key or key
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer or subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_len), critical=True)
        .add_extension(
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
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if issuer_key is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False
        )
    return builder.sign(signer, hashes.SHA256())


def make_leaf(
    names: list[str],
    key: PrivateKey,
    issuer: x509.Certificate,
    issuer_key: PrivateKey,
    not_before: dt.datetime | None = None,
    days: int = 90,
) -> x509.Certificate:
    """A server leaf for ``names`` (DNS names or IP literals in the SAN), signed by ``issuer``."""
    now = dt.datetime.now(dt.UTC)
    nb = not_before or now - dt.timedelta(days=1)
    sans: list[x509.GeneralName] = []
    for n in names:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(n)))
        except ValueError:
            sans.append(x509.DNSName(n))
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .issuer_name(issuer.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(nb)
        .not_valid_after(nb + dt.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False
        )
        .sign(issuer_key, hashes.SHA256())
    )


def pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def key_pem(key: PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def write_private(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    path.chmod(0o600)
    return path


@dataclass(frozen=True, slots=True)
class ServerPki:
    """Files of the lab's server chain. ``chain`` is what the server sends: leaf + intermediate + root."""

    root_ca: Path
    intermediate: Path
    leaf: Path
    chain: Path
    key: Path
    chain_bytes: int


@dataclass(frozen=True, slots=True)
class InterceptPki:
    """The interception product's CA (cert + key); the relay mints leaves from it on the fly."""

    ca: Path
    key: Path
    subject: str


SERVER_NAMES = ["www.lab.test", "blocked.lab.test", "lab.test", "198.18.2.2"]
INTERCEPT_SUBJECT = _name("FortiGate CA SSL Inspection", "Fortinet", "Certificate Authority")


def make_server_pki(directory: Path, bits: int = 4096, names: list[str] | None = None) -> ServerPki:
    """Root -> intermediate -> leaf for the lab server; big keys so that the server's flight is large."""
    root_key, int_key, leaf_key = rsa_key(bits), rsa_key(bits), rsa_key(bits)
    root = make_ca(_name("tlsdoctor Lab Root CA", "tlsdoctor lab"), root_key, path_len=1)
    inter = make_ca(
        _name("tlsdoctor Lab Issuing CA 1", "tlsdoctor lab"), int_key, root.subject, root_key, path_len=0
    )
    leaf = make_leaf(names or SERVER_NAMES, leaf_key, inter, int_key)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "root.pem").write_bytes(pem(root))
    (directory / "intermediate.pem").write_bytes(pem(inter))
    (directory / "leaf.pem").write_bytes(pem(leaf))
    chain = pem(leaf) + pem(inter) + pem(root)
    (directory / "chain.pem").write_bytes(chain)
    write_private(directory / "leaf.key", key_pem(leaf_key))
    der_size = sum(len(c.public_bytes(serialization.Encoding.DER)) for c in (leaf, inter, root))
    return ServerPki(
        root_ca=directory / "root.pem",
        intermediate=directory / "intermediate.pem",
        leaf=directory / "leaf.pem",
        chain=directory / "chain.pem",
        key=directory / "leaf.key",
        chain_bytes=der_size,
    )


def make_intercept_pki(directory: Path, subject: x509.Name = INTERCEPT_SUBJECT) -> InterceptPki:
    key = rsa_key(2048)
    ca = make_ca(subject, key, path_len=0)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "intercept-ca.pem").write_bytes(pem(ca))
    write_private(directory / "intercept-ca.key", key_pem(key))
    return InterceptPki(
        ca=directory / "intercept-ca.pem",
        key=directory / "intercept-ca.key",
        subject=subject.rfc4514_string(),
    )
