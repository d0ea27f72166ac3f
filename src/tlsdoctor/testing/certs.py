"""A small PKI for the fault servers: root CA -> intermediate CA -> leaf, with knobs for every cert fault.

Why not trustme: it is a test-only dependency, and `tlsdoctor demo` ships these servers. Why not one key per
certificate: RSA key generation costs ~0.1 s, and starting every endpoint must take well under 3 s, so keys
are generated once per process and reused: one RSA-2048 key for every RSA-2048 certificate (leaves and the
intermediate), one RSA-1024 for the weak case, one EC P-256 for the roots. Certificates are cheap (one
signature each) and made fresh per endpoint.

Files are written as PEM into a temporary directory the `Pki` owns and removes on `close()` (or at exit for
the process-wide `shared_pki()`).
"""

from __future__ import annotations

import atexit
import datetime
import ipaddress
import itertools
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Self

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

KeyType = Literal["rsa2048", "rsa1024", "ec256"]
HashName = Literal["sha256", "sha1"]
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

_KEYS: dict[str, PrivateKey] = {}
_KEYS_LOCK = threading.Lock()


def cached_key(key_type: KeyType, slot: str = "leaf") -> PrivateKey:
    """The process-wide key of this type for this slot (the roots use their own); generated on first use."""
    with _KEYS_LOCK:
        key = _KEYS.get(f"{key_type}/{slot}")
        if key is None:
            if key_type == "ec256":
                key = ec.generate_private_key(ec.SECP256R1())
            else:
                key = rsa.generate_private_key(public_exponent=65537, key_size=int(key_type[3:]))
            _KEYS[f"{key_type}/{slot}"] = key
        return key


@dataclass(frozen=True, kw_only=True)
class LeafSpec:
    """What the leaf certificate looks like. Validity is in days relative to now (negative = past)."""

    sans: tuple[str, ...] = ("localhost", "127.0.0.1")
    key_type: KeyType = "rsa2048"
    hash_name: HashName = "sha256"
    valid_from_days: float = -1.0
    valid_until_days: float = 90.0
    self_signed: bool = False
    aia_ca_issuers: str | None = None  # URL put in the leaf's Authority Information Access (caIssuers)
    client: bool = False  # a client certificate (clientAuth), issued by the client CA


@dataclass(frozen=True)
class CertFiles:
    """Paths a server and its client need. `chain_file` is exactly what the server sends."""

    ca_file: Path  # the trust anchor(s) a client should load
    chain_file: Path  # leaf first, then the intermediate unless it is deliberately left out
    key_file: Path
    leaf: x509.Certificate


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "tlsdoctor testing"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _general_name(san: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(san))
    except ValueError:
        return x509.DNSName(san)


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _der_len(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


# X.690 DER of AlgorithmIdentifier { OID, NULL } for RFC 4055 sha256WithRSAEncryption and RFC 3279
# sha1WithRSAEncryption: the same length, so the TBS can be patched in place.
_RSA_SHA256_ALG = bytes.fromhex("300d06092a864886f70d01010b0500")
_RSA_SHA1_ALG = bytes.fromhex("300d06092a864886f70d0101050500")


def _resign_sha1(cert: x509.Certificate, issuer_key: PrivateKey) -> x509.Certificate:
    """Re-sign a sha256WithRSA certificate as sha1WithRSA.

    Recent cryptography (50 here) refuses SHA-1 in `CertificateBuilder.sign`, but the cert-weak fault needs
    one; the raw RSA primitive still signs SHA-1, so patch the TBS signature field and assemble the
    Certificate (RFC 5280 4.1) by hand.
    """
    if not isinstance(issuer_key, rsa.RSAPrivateKey):
        raise ValueError("a SHA-1 signature needs an RSA issuer key")
    tbs = cert.tbs_certificate_bytes
    if tbs.count(_RSA_SHA256_ALG) != 1:
        raise ValueError("unexpected TBS layout")
    tbs = tbs.replace(_RSA_SHA256_ALG, _RSA_SHA1_ALG)
    signature = issuer_key.sign(tbs, padding.PKCS1v15(), hashes.SHA1())
    bit_string = b"\x03" + _der_len(len(signature) + 1) + b"\x00" + signature
    body = tbs + _RSA_SHA1_ALG + bit_string
    return x509.load_der_x509_certificate(b"\x30" + _der_len(len(body)) + body)


class Pki:
    """Root CA -> intermediate CA -> leaves, plus a separate client CA for mTLS; files in a private dir."""

    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="tlsdoctor-pki-"))
        self._serial = itertools.count(1000)
        self._lock = threading.Lock()
        self._now = datetime.datetime.now(datetime.UTC)
        self._root_key = cached_key("ec256", "root")  # EC: generated in a millisecond
        # RSA, because the SHA-1 leaf needs an RSA signer (_resign_sha1); the shared leaf key, because one
        # more RSA key costs more time than everything else here. Distinct names keep the chain unambiguous.
        self._intermediate_key = cached_key("rsa2048")
        self.root = self._ca_cert("tlsdoctor testing root CA", self._root_key, None)
        self.intermediate = self._ca_cert(
            "tlsdoctor testing intermediate CA", self._intermediate_key, self.root
        )
        self.client_root = self._ca_cert("tlsdoctor testing client CA", self._root_key, None)
        self.ca_file = self._write("root-ca.pem", _pem(self.root))
        self.client_ca_file = self._write("client-ca.pem", _pem(self.client_root))
        self.intermediate_der = self.intermediate.public_bytes(serialization.Encoding.DER)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)

    def _write(self, filename: str, data: bytes) -> Path:
        path = self.directory / filename
        path.write_bytes(data)
        return path

    def _builder(self, subject: x509.Name, issuer: x509.Name, public_key: object) -> x509.CertificateBuilder:
        with self._lock:
            serial = next(self._serial)
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer)
            .public_key(public_key)  # type: ignore[arg-type]
            .serial_number(serial)
        )

    def _ca_cert(
        self, common_name: str, key: PrivateKey, parent: x509.Certificate | None
    ) -> x509.Certificate:
        """A CA; a root (self-signed) when parent is None, else signed by the root key."""
        issuer = parent.subject if parent is not None else _name(common_name)
        ski = x509.SubjectKeyIdentifier.from_public_key(self._root_key.public_key())
        builder = (
            self._builder(_name(common_name), issuer, key.public_key())
            .not_valid_before(self._now - datetime.timedelta(days=2))
            .not_valid_after(self._now + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None if parent is None else 0), True)
            .add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), False)
        )
        return builder.sign(self._root_key, hashes.SHA256())

    def issue(self, label: str, spec: LeafSpec | None = None, *, send_intermediate: bool = True) -> CertFiles:
        """Make a leaf per `spec`; write `<label>.chain.pem` and `<label>.key.pem`. Labels must be unique."""
        spec = spec or LeafSpec()
        now = datetime.datetime.now(datetime.UTC)  # validity is relative to issue time, not to PKI creation
        key = cached_key(spec.key_type)
        issuer_cert = self.client_root if spec.client else self.intermediate
        subject = _name(spec.sans[0] if spec.sans else label)
        issuer_key = self._root_key if spec.client else self._intermediate_key
        issuer_name, signing_key = (subject, key) if spec.self_signed else (issuer_cert.subject, issuer_key)
        signer_ski = x509.SubjectKeyIdentifier.from_public_key(signing_key.public_key())
        usage = isinstance(key, rsa.RSAPrivateKey)  # keyEncipherment only makes sense for RSA
        eku = ExtendedKeyUsageOID.CLIENT_AUTH if spec.client else ExtendedKeyUsageOID.SERVER_AUTH
        builder = (
            self._builder(subject, issuer_name, key.public_key())
            .not_valid_before(now + datetime.timedelta(days=spec.valid_from_days))
            .not_valid_after(now + datetime.timedelta(days=spec.valid_until_days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(True, False, usage, False, False, False, False, False, False), critical=True
            )
            .add_extension(x509.ExtendedKeyUsage([eku]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(signer_ski), False)
        )
        if spec.sans:
            names = [_general_name(s) for s in spec.sans]
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        if spec.aia_ca_issuers:
            access = x509.AccessDescription(
                AuthorityInformationAccessOID.CA_ISSUERS, x509.UniformResourceIdentifier(spec.aia_ca_issuers)
            )
            builder = builder.add_extension(x509.AuthorityInformationAccess([access]), critical=False)
        leaf = builder.sign(signing_key, hashes.SHA256())
        if spec.hash_name == "sha1":
            leaf = _resign_sha1(leaf, signing_key)
        chain = _pem(leaf)
        if send_intermediate and not spec.self_signed and not spec.client:
            chain += _pem(self.intermediate)
        key_pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        return CertFiles(
            ca_file=self.client_ca_file if spec.client else self.ca_file,
            chain_file=self._write(f"{label}.chain.pem", chain),
            key_file=self._write(f"{label}.key.pem", key_pem),
            leaf=leaf,
        )


_SHARED: Pki | None = None
_SHARED_LOCK = threading.Lock()


def shared_pki() -> Pki:
    """The process-wide PKI every built-in endpoint uses, so one CA file trusts them all; removed at exit."""
    global _SHARED
    with _SHARED_LOCK:
        if _SHARED is None:
            _SHARED = Pki()
            atexit.register(_SHARED.close)
        return _SHARED
