"""Trust anchors: from --ca-file, or the system store OpenSSL would use.

The system store is found the way OpenSSL finds it (``ssl.get_default_verify_paths``,
which honours SSL_CERT_FILE and SSL_CERT_DIR), so what we judge against is what
curl, Python and most OpenSSL-based clients on this host judge against. Both loaders
are cached per process: the system bundle is a few hundred certificates.
"""

from __future__ import annotations

import binascii
import contextlib
import dataclasses
import functools
import hashlib
import os
import ssl
import stat
from pathlib import Path

from cryptography import x509

from tlsdoctor.certs.info import load_der
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


def regular_bundle(path: str) -> bool:
    """A regular file of a CA bundle's size: never a FIFO or a device a variable or an entry
    points at (reading one would block or never end)."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):  # ValueError: an embedded NUL
        return False
    return stat.S_ISREG(st.st_mode) and 0 < st.st_size <= MAX_STORE_FILE


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
    """The bundle, then the directory. A Debian-style directory holds the bundle's certificates
    again, twice over (a hash link and a named file each, plus the bundle itself): a file is
    read once however many links name it, and a certificate is parsed only when its DER is new."""
    found: dict[bytes, x509.Certificate] = {}
    read: set[tuple[int, int]] = set()  # (device, inode): a link and its file are one file
    problems: list[str] = []

    def add(path: str) -> None:
        try:
            st = os.stat(path)
            if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_STORE_FILE or (st.st_dev, st.st_ino) in read:
                return
            read.add((st.st_dev, st.st_ino))
            with open(path, "rb") as f:
                data = f.read()  # its size was checked above
        except OSError as exc:
            problems.append(f"{path}: {exc.strerror or exc}")
            return
        for der in _der_blocks(data):
            digest = hashlib.sha256(der).digest()
            if digest not in found and (cert := _parse_der(der)) is not None:
                found[digest] = cert

    if cafile:
        add(cafile)
    if capath:
        try:
            entries = sorted(e.path for e in os.scandir(capath) if _looks_like_cert_file(e.name))
        except OSError as exc:
            problems.append(f"{capath}: {exc.strerror or exc}")
            entries = []
        for entry in entries:
            add(entry)
    if not cafile and not capath:
        problems.append(f"neither {ossl_file} nor {ossl_path} exists")
    detail = "; ".join(problems[:3]) if not found else ""
    return TrustAnchors("system", tuple(found.values()), cafile=cafile, capath=capath, detail=detail)


def _looks_like_cert_file(name: str) -> bool:
    """CA directory entries: c_rehash links ("5ad8a5d6.0") and .pem/.crt files."""
    stem, dot, suffix = name.rpartition(".")
    return bool(stem) and bool(dot) and (suffix in ("pem", "crt") or suffix.isdigit())


_BEGIN, _END = b"-----BEGIN CERTIFICATE-----", b"-----END CERTIFICATE-----"


def _der_blocks(data: bytes) -> list[bytes]:
    """The DER of every CERTIFICATE block of a PEM file (RFC 7468 §5); a block that is not
    base64 is skipped, so one damaged entry does not lose the others."""
    out: list[bytes] = []
    start = data.find(_BEGIN)
    while start >= 0:
        end = data.find(_END, start)
        if end < 0:
            break
        with contextlib.suppress(binascii.Error):
            out.append(binascii.a2b_base64(data[start + len(_BEGIN) : end]))
        start = data.find(_BEGIN, end)
    return out


@functools.lru_cache(maxsize=4096)
def _parse_der(der: bytes) -> x509.Certificate | None:
    """One certificate, or None when it does not parse. Real bundles hold old roots with
    non-positive serials, on which cryptography warns (RFC 5280 §4.1.2.2); those warnings are
    not the user's concern, so they are muted (by ``load_der``).

    Once per DER per process: the stores a scan compares are mostly the same Mozilla list (the
    system's, certifi's, Debian's Java cacerts and Node's roots: 549 anchors, 171 distinct, on
    this project's Debian machine), and a full decode is most of a store's load. A certificate
    is immutable, so the stores share the one object."""
    try:
        return load_der(der)
    except ValueError:
        return None


def _pem_certificates(data: bytes) -> tuple[x509.Certificate, ...]:
    """Every certificate in a PEM bundle; one unparseable block does not lose the others."""
    return tuple(c for c in map(_parse_der, _der_blocks(data)) if c is not None)
