"""Build the certification path the way a client would, and judge it twice.

Our own path walk (RFC 5280 section 6 simplified to: follow issuer names, check each
signature) says *where* a chain stops — at an anchor, at an untrusted self-signed
root, or at an issuer nobody sent — which a verifier's single error cannot.

``lenient`` judges the walked path as OpenSSL's X509_verify_cert does with its default
flags (and Python's ssl, curl, most clients on this host): validity of every
certificate, issuers that may act as CAs, the name with its CN fallback. It is the
verdict, at the instant given, so that a clock-skew diagnosis can re-judge at another
time. ``strict`` asks cryptography's RFC 5280 / CA-B profile, which refuses what many
private CAs make (no authorityKeyIdentifier, CA basicConstraints not critical, no
keyUsage): its refusal is a note about stricter clients, never the verdict.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import functools
from collections.abc import Sequence

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.x509.oid import NameOID
from cryptography.x509.verification import PolicyBuilder, Store, Subject, VerificationError

from tlsdoctor.certs.info import is_self_signed, name_text, sans, signature_hash, signed_by
from tlsdoctor.certs.names import cn_fallback, covers, parse_ip

LEGACY_HASHES = frozenset({"sha1", "md5", "md2", "md4"})
MAX_DEPTH = 8  # RFC 5280 sets none; real chains are 2 to 4, and a cycle must end


class PathEnd(enum.StrEnum):
    """Where the walk from the leaf stopped."""

    ANCHOR = "anchor"
    SELF_SIGNED = "self-signed"  # an untrusted self-signed certificate
    MISSING_ISSUER = "missing-issuer"


@dataclasses.dataclass(frozen=True, slots=True)
class WalkedPath:
    """The certificates from the leaf up (as indices into the pool), and how the walk ended."""

    indices: tuple[int, ...]
    end: PathEnd
    anchor: x509.Certificate | None = None


def is_anchor(cert: x509.Certificate, anchors: Sequence[x509.Certificate]) -> bool:
    """The certificate is one of the anchors (same subject and key: a re-issued root counts)."""
    same_name = _by_subject(tuple(anchors)).get(cert.subject.public_bytes(), ())
    if not same_name:
        return False
    key = cert.public_key()
    return any(a.public_key() == key for a in same_name)


@functools.lru_cache(maxsize=8)
def _by_subject(anchors: tuple[x509.Certificate, ...]) -> dict[bytes, list[x509.Certificate]]:
    """Anchors by the DER of their subject, built once per anchor set (a system store is ~150
    certificates, and comparing Name objects one by one costs far more than a lookup)."""
    index: dict[bytes, list[x509.Certificate]] = {}
    for anchor in anchors:
        index.setdefault(anchor.subject.public_bytes(), []).append(anchor)
    return index


def walk(pool: Sequence[x509.Certificate], anchors: Sequence[x509.Certificate]) -> WalkedPath:
    """Walk from ``pool[0]`` (the leaf) through ``pool`` (any order) to an anchor, or as far as possible.

    An anchor is preferred to a sent certificate at every step, as OpenSSL does, so a
    server that also sends an expired cross-signed root is judged by the trusted one.
    """
    by_subject = _by_subject(tuple(anchors))
    indices = [0]
    current = pool[0]
    while len(indices) <= MAX_DEPTH:
        if is_anchor(current, anchors):
            return WalkedPath(tuple(indices), PathEnd.ANCHOR, current)
        for anchor in by_subject.get(current.issuer.public_bytes(), ()):
            if signed_by(current, anchor):
                return WalkedPath(tuple(indices), PathEnd.ANCHOR, anchor)
        if is_self_signed(current):
            return WalkedPath(tuple(indices), PathEnd.SELF_SIGNED)
        nxt = next(
            (
                i
                for i, c in enumerate(pool)
                if i not in indices and c.subject == current.issuer and signed_by(current, c)
            ),
            None,
        )
        if nxt is None:
            break
        indices.append(nxt)
        current = pool[nxt]
    return WalkedPath(tuple(indices), PathEnd.MISSING_ISSUER)


@dataclasses.dataclass(frozen=True, slots=True)
class Verdict:
    """The verifier's answer: valid with its path, or the reason it refused."""

    valid: bool
    error: str = ""
    path: tuple[str, ...] = ()


def lenient(
    pool: Sequence[x509.Certificate], anchors: Sequence[x509.Certificate], name: str, at: dt.datetime
) -> Verdict:
    """``pool[0]`` for ``name`` at ``at``, as OpenSSL's default verification judges it.

    Not checked (OpenSSL does): name constraints, path length, policies, purpose, and key sizes,
    which depend on the configured security level. When those fail, the client's own handshake
    says so (the certificate check reads its verify error).
    """
    if not anchors:
        return Verdict(False, "no trust anchors")
    walked = walk(pool, anchors)
    last = pool[walked.indices[-1]]
    if walked.end is PathEnd.SELF_SIGNED:
        return Verdict(False, f"self-signed certificate {name_text(last.subject)} is not a trust anchor")
    if walked.end is PathEnd.MISSING_ISSUER or walked.anchor is None:
        missing = name_text(last.issuer)
        return Verdict(False, f"unable to get the issuer {missing} of {name_text(last.subject)}")
    chain = [pool[i] for i in walked.indices]
    if not is_anchor(chain[-1], [walked.anchor]):
        chain.append(walked.anchor)
    for cert in chain:  # OpenSSL checks the anchor's dates too (X509_V_ERR_CERT_HAS_EXPIRED at depth n)
        if cert.not_valid_after_utc < at:
            return Verdict(False, f"{name_text(cert.subject)} has expired")
        if cert.not_valid_before_utc > at:
            return Verdict(False, f"{name_text(cert.subject)} is not yet valid")
    for depth, cert in enumerate(chain[1:], start=1):
        if not may_sign_certificates(cert, intermediate=depth < len(chain) - 1):
            return Verdict(False, f"{name_text(cert.subject)} is not a CA (invalid CA certificate)")
    for cert in chain:  # OpenSSL 3 refuses SHA-1 and MD5 signatures from security level 1 up
        digest = signature_hash(cert)
        if digest in LEGACY_HASHES and not is_self_signed(cert):
            return Verdict(False, f"{name_text(cert.subject)} has a {digest} signature (too weak)")
    leaf_names = sans(chain[0])
    cns = tuple(str(a.value) for a in chain[0].subject.get_attributes_for_oid(NameOID.COMMON_NAME))
    if not covers(leaf_names, name) and not cn_fallback(leaf_names, name, cns):
        return Verdict(False, f"hostname mismatch: the certificate does not cover {name}")
    return Verdict(True, path=tuple(name_text(c.subject) for c in chain))


def may_sign_certificates(cert: x509.Certificate, *, intermediate: bool) -> bool:
    """OpenSSL's check_ca (crypto/x509/v3_purp.c) as check_chain_extensions applies it: keyUsage,
    when present, must allow keyCertSign; basicConstraints, when present, must say cA. An
    intermediate must have basicConstraints cA (OpenSSL 3 is strict there: a version 1 or
    keyUsage-only intermediate is "invalid CA certificate"); the trust anchor may instead be a
    version 1 self-signed root or carry keyUsage keyCertSign alone (checked with `openssl verify`)."""
    try:
        ext = cert.extensions
    except (ValueError, x509.DuplicateExtension):  # OpenSSL refuses those too (X509_V_ERR_INVALID_EXTENSION)
        return False
    try:
        usage: x509.KeyUsage | None = ext.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        usage = None
    if usage is not None and not usage.key_cert_sign:
        return False
    try:
        return bool(ext.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        pass
    if intermediate:
        return False
    if cert.version is x509.Version.v1 and is_self_signed(cert):
        return True
    return usage is not None


def strict(
    pool: Sequence[x509.Certificate], anchors: Sequence[x509.Certificate], name: str, at: dt.datetime
) -> Verdict:
    """Validate ``pool[0]`` for ``name`` at ``at`` with the rest of ``pool`` as intermediates.

    This is cryptography's RFC 5280 + CA/Browser Forum profile: stricter than OpenSSL on
    extensions, so its refusal of a chain ``lenient`` accepts is a note, not a fault.
    """
    if not anchors:
        return Verdict(False, "no trust anchors")
    ip = parse_ip(name)
    try:
        subject: Subject = x509.IPAddress(ip) if ip is not None else x509.DNSName(name)
        verifier = PolicyBuilder().store(Store(list(anchors))).time(at).build_server_verifier(subject)
        chain = verifier.verify(pool[0], list(pool[1:]))
    except VerificationError as exc:
        return Verdict(False, str(exc))
    except (ValueError, UnsupportedAlgorithm, x509.DuplicateExtension) as exc:
        # a name it cannot take, an unusable anchor, a key or extension it does not support
        return Verdict(False, f"cannot validate: {exc}")
    return Verdict(True, path=tuple(name_text(c.subject) for c in chain))
