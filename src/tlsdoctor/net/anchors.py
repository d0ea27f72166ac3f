"""The --ca-file's anchors for the verifying handshakes, loaded once and, when the bundle is big, on demand.

OpenSSL's certificate store checks every certificate added against all those before it, on an
unsorted stack it re-sorts each time: loading a bundle costs about n² log n. 8,000 certificates
(4 MB) take seconds, 40,000 (20 MB) minutes, and while that runs nothing else does. So a bundle
of more than :data:`WHOLE_LOAD_MAX` certificates is indexed by subject instead (cryptography
parses 40,000 certificates in about 0.4 s), and each connection's store receives only the
anchors whose subject names an issuer in the chain the server sent: the same anchors OpenSSL's
own path building would look up (it searches the store by issuer name), so the verdict is the
TLS library's, as with the whole bundle loaded.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from tlsdoctor.errors import InputError
from tlsdoctor.inputs import MAX_CA_FILE_BYTES  # the CLI's bound: the library may be called directly
from tlsdoctor.net.tls import observe
from tlsdoctor.wire.reader import DecodeError
from tlsdoctor.wire.server_messages import parse_certificate

WHOLE_LOAD_MAX = 1000  # certificates: OpenSSL's store takes this many in well under 0.1 s
_BEGIN = b"-----BEGIN CERTIFICATE-----"
_END = b"-----END CERTIFICATE-----"

if TYPE_CHECKING:  # cryptography is imported where a big bundle needs indexing, not on every load
    from cryptography import x509

NameKey = tuple[tuple[str, str], ...]


def name_key(name: x509.Name) -> NameKey:
    """A name compared as OpenSSL compares them: case and runs of spaces do not count (its
    canonical encoding, x509_name_canon), whatever string type encodes each value."""
    return tuple((a.oid.dotted_string, " ".join(str(a.value).split()).casefold()) for a in name)


class AnchorIndex:
    """Anchors by subject, loaded into a context's store when a chain names them."""

    def __init__(self, certificates: Iterable[x509.Certificate]) -> None:
        from cryptography.hazmat.primitives.serialization import Encoding

        self.by_subject: dict[NameKey, list[bytes]] = {}
        for cert in certificates:
            der = cert.public_bytes(Encoding.DER)
            self.by_subject.setdefault(name_key(cert.subject), []).append(der)
        self.count = sum(len(v) for v in self.by_subject.values())

    def wanted(self, chain: Iterable[bytes]) -> list[bytes]:
        """The anchors whose subject is the issuer of a certificate in ``chain`` (DER)."""
        from cryptography import x509

        out: list[bytes] = []
        for der in chain:
            try:
                issuer = x509.load_der_x509_certificate(der).issuer
            except ValueError:
                continue  # OpenSSL will refuse the chain itself; no anchor helps
            out += self.by_subject.get(name_key(issuer), [])
        return out

    def attach(self, context: ssl.SSLContext) -> None:
        """Load the anchors each chain needs into ``context`` as its Certificate arrives."""
        loaded: set[bytes] = set()

        def on_certificate(body: bytes, tls13: bool) -> None:
            try:
                chain = parse_certificate(body, tls13).certificates
            except DecodeError:
                return
            for der in self.wanted(chain):
                if der not in loaded:
                    loaded.add(der)
                    context.load_verify_locations(cadata=der)

        observe(context, on_certificate)


def read_ca_file(path: Path) -> bytes:
    """The bundle's bytes, bounded; unreadable, oversized or certificate-free is an InputError."""
    try:
        size = path.stat().st_size
        if size > MAX_CA_FILE_BYTES:
            raise InputError(
                f"--ca-file {path}: {size / 1e6:.0f} MB is not a CA bundle (limit "
                f"{MAX_CA_FILE_BYTES // (1024 * 1024)} MB); name the CA certificates you trust"
            )
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"--ca-file {path}: cannot read it: {exc.strerror or exc}") from None
    if _BEGIN not in data:
        raise InputError(f"--ca-file {path}: no PEM certificate ({_BEGIN.decode()}) in it")
    return data


def load_ca_file(context: ssl.SSLContext, path: Path) -> None:
    """Trust ``path``'s certificates in ``context``: all at once when few, else on demand."""
    data = read_ca_file(path)
    if data.count(_BEGIN) <= WHOLE_LOAD_MAX or not hasattr(ssl.SSLContext, "_msg_callback"):
        try:
            context.load_verify_locations(cafile=str(path))
        except (OSError, ssl.SSLError) as exc:
            raise InputError(f"cannot use --ca-file {path}: {exc}") from None
        return
    index = AnchorIndex(_certificates(data))
    if not index.count:
        raise InputError(f"--ca-file {path}: no certificate in it could be parsed")
    index.attach(context)


def _certificates(data: bytes) -> list[x509.Certificate]:
    """Every parseable certificate of a PEM bundle; one bad block does not lose the others."""
    from cryptography import x509

    out: list[x509.Certificate] = []
    start = 0
    while (begin := data.find(_BEGIN, start)) >= 0:
        end = data.find(_END, begin)
        if end < 0:
            break
        start = end + len(_END)
        try:
            out.append(x509.load_pem_x509_certificate(data[begin:start]))
        except ValueError:
            continue
    return out
