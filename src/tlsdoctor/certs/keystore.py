"""Certificates from a Java keystore, the format of Java's cacerts: JKS or PKCS#12.

Debian's ca-certificates-java writes /etc/ssl/certs/java/cacerts as JKS, newer JDKs ship PKCS#12.
PKCS#12 is read by cryptography. JKS is read here, by hand: no maintained pure-Python JKS reader is
among the project's dependencies (pyjks is unmaintained), and only the trusted-certificate entries
are needed, which are plain length-prefixed DER. Pure: bytes in, certificates out, no I/O. The
keystore's closing SHA-1 integrity digest is not checked (it is keyed by the store password and
guards against tampering, not what a trust comparison needs).
"""

from __future__ import annotations

import struct
import warnings

from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.utils import CryptographyDeprecationWarning

from tlsdoctor.certs.trust import _parse_der

JKS_MAGIC = 0xFEEDFEED
MAX_ENTRIES = 4096  # cacerts holds ~150 roots; a count far beyond that is junk
PASSWORDS = (b"changeit", None)  # the JDK's well-known cacerts password, then none (JDK 18+ certs)
_TRUSTED_CERT, _PRIVATE_KEY = 2, 1


class _Short(Exception):
    """A declared length runs past the data."""


class _Cursor:
    """Reads big-endian fields, failing on any overrun (a declared length is never trusted)."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise _Short
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def u16(self) -> int:
        value: int = struct.unpack(">H", self.take(2))[0]
        return value

    def u32(self) -> int:
        value: int = struct.unpack(">I", self.take(4))[0]
        return value

    def utf(self) -> bytes:
        """Java's DataOutput.writeUTF: a 2-byte length, then modified UTF-8."""
        return self.take(self.u16())


def _certificate(cur: _Cursor, version: int) -> bytes:
    if version == 2:
        cur.utf()  # the certificate type, "X.509"
    return cur.take(cur.u32())


def jks_certificates(data: bytes) -> list[bytes]:
    """The DER of every trusted-certificate entry of a JKS keystore (the format of OpenJDK's
    ``sun.security.provider.JavaKeyStore``: magic, version 1 or 2, entry count, then entries).
    A damaged or unknown entry ends the walk and keeps the certificates read before it."""
    cur, out = _Cursor(data), []
    try:
        if cur.u32() != JKS_MAGIC:
            return []
        version = cur.u32()
        if version not in (1, 2):
            return []
        for _ in range(min(cur.u32(), MAX_ENTRIES)):
            tag = cur.u32()
            cur.utf()  # alias
            cur.take(8)  # creation time, milliseconds since the epoch
            if tag == _TRUSTED_CERT:
                out.append(_certificate(cur, version))
            elif tag == _PRIVATE_KEY:
                cur.take(cur.u32())  # the encrypted private key
                chain = cur.u32()
                if chain > MAX_ENTRIES:
                    break
                for _ in range(chain):  # the key's own chain: not anchors
                    _certificate(cur, version)
            else:  # a JCEKS secret key or junk: its length is not known, so stop
                break
    except _Short:
        pass
    return out


def pkcs12_certificates(data: bytes) -> list[x509.Certificate]:
    """The certificates of a PKCS#12 keystore that are not a private key's own, tried with the
    JDK's default password and with none; [] when neither opens it."""
    for password in PASSWORDS:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", CryptographyDeprecationWarning)
                store = pkcs12.load_pkcs12(data, password)
        except (ValueError, TypeError):
            continue
        return [c.certificate for c in store.additional_certs]
    return []


def keystore_certificates(data: bytes) -> tuple[x509.Certificate, ...]:
    """A keystore's trusted certificates, JKS or PKCS#12 told apart by JKS's magic number."""
    if data[:4] == struct.pack(">I", JKS_MAGIC):
        return tuple(c for c in map(_parse_der, jks_certificates(data)) if c is not None)
    return tuple(pkcs12_certificates(data))
