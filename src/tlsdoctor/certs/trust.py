"""Trust anchors: from --ca-file, or the system store OpenSSL would use.

The system store is found the way OpenSSL finds it (``ssl.get_default_verify_paths``,
which honours SSL_CERT_FILE and SSL_CERT_DIR), so what we judge against is what
curl, Python and most OpenSSL-based clients on this host judge against. Both loaders
are cached per process: the system bundle is a few hundred certificates.
"""

from __future__ import annotations

import dataclasses
import functools
import ssl
import warnings
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.utils import CryptographyDeprecationWarning

from tlsdoctor.errors import InputError

MAX_STORE_FILE = 16 * 1024 * 1024  # a CA bundle is ~200 KiB; anything far larger is not one


@dataclasses.dataclass(frozen=True, slots=True)
class TrustAnchors:
    """A set of anchors and where they came from ("system" or "ca-file")."""

    source: str
    certificates: tuple[x509.Certificate, ...]
    cafile: str | None = None
    capath: str | None = None
    detail: str = ""

    @property
    def label(self) -> str:
        """How reports name this store: "system" or "ca-file:PATH"."""
        return f"ca-file:{self.cafile}" if self.source == "ca-file" else "system"


def load_ca_file(path: Path) -> TrustAnchors:
    """Anchors from a PEM file the user named; unreadable or certificate-free is an InputError."""
    return _load_ca_file(str(path))


@functools.cache
def _load_ca_file(path: str) -> TrustAnchors:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise InputError(f"--ca-file {path}: cannot read it: {exc.strerror or exc}") from None
    certs = _pem_certificates(data)
    if not certs:
        raise InputError(f"--ca-file {path}: no PEM certificate (-----BEGIN CERTIFICATE-----) in it")
    return TrustAnchors("ca-file", certs, cafile=path)


def load_system_store() -> TrustAnchors:
    """The system store (cafile and capath of the default verify paths); empty when missing."""
    paths = ssl.get_default_verify_paths()
    return _load_system(paths.cafile, paths.capath, paths.openssl_cafile, paths.openssl_capath)


@functools.cache
def _load_system(cafile: str | None, capath: str | None, ossl_file: str, ossl_path: str) -> TrustAnchors:
    seen: dict[bytes, x509.Certificate] = {}
    problems: list[str] = []
    if cafile:
        for cert in _read_store_file(Path(cafile), problems):
            seen.setdefault(cert.fingerprint(hashes.SHA256()), cert)
    if capath:
        directory = Path(capath)
        try:
            entries = sorted(p for p in directory.iterdir() if _looks_like_cert_file(p.name))
        except OSError as exc:
            problems.append(f"{capath}: {exc.strerror or exc}")
            entries = []
        for entry in entries:
            for cert in _read_store_file(entry, problems):
                seen.setdefault(cert.fingerprint(hashes.SHA256()), cert)
    if not cafile and not capath:
        problems.append(f"neither {ossl_file} nor {ossl_path} exists")
    detail = "; ".join(problems[:3]) if not seen else ""
    return TrustAnchors("system", tuple(seen.values()), cafile=cafile, capath=capath, detail=detail)


def _looks_like_cert_file(name: str) -> bool:
    """CA directory entries: c_rehash links ("5ad8a5d6.0") and .pem/.crt files."""
    stem, dot, suffix = name.rpartition(".")
    return bool(stem) and bool(dot) and (suffix in ("pem", "crt") or suffix.isdigit())


def _read_store_file(path: Path, problems: list[str]) -> list[x509.Certificate]:
    try:
        if not path.is_file() or path.stat().st_size > MAX_STORE_FILE:
            return []
        data = path.read_bytes()
    except OSError as exc:
        problems.append(f"{path}: {exc.strerror or exc}")
        return []
    return list(_pem_certificates(data))


def _pem_certificates(data: bytes) -> tuple[x509.Certificate, ...]:
    """Every certificate in a PEM bundle; one unparseable block does not lose the others.

    Real bundles hold old roots with non-positive serials, on which cryptography warns
    (RFC 5280 section 4.1.2.2); those warnings are not the user's concern, so they are muted.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        return _pem_certificates_noisy(data)


def _pem_certificates_noisy(data: bytes) -> tuple[x509.Certificate, ...]:
    try:
        return tuple(x509.load_pem_x509_certificates(data))
    except ValueError:
        pass
    out: list[x509.Certificate] = []
    marker = b"-----END CERTIFICATE-----"
    for block in data.split(marker):
        start = block.find(b"-----BEGIN CERTIFICATE-----")
        if start < 0:
            continue
        try:
            out.append(x509.load_pem_x509_certificate(block[start:] + marker))
        except ValueError:
            continue
    return tuple(out)
