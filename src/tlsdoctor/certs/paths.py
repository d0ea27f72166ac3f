"""Build the certification path the way a client would, and ask cryptography's verifier.

Our own path walk (RFC 5280 section 6 simplified to: follow issuer names, check each
signature) says *where* a chain stops — at an anchor, at an untrusted self-signed
root, or at an issuer nobody sent — which a verifier's single error cannot. The
verifier (``cryptography.x509.verification``) remains the judge of validity, at the
instant given, so that a clock-skew diagnosis can re-judge at another time.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from collections.abc import Sequence

from cryptography import x509
from cryptography.x509.verification import PolicyBuilder, Store, Subject, VerificationError

from tlsdoctor.certs.info import is_self_signed, name_text, signed_by
from tlsdoctor.certs.names import parse_ip

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
    key = cert.public_key()
    return any(a.subject == cert.subject and a.public_key() == key for a in anchors)


def walk(pool: Sequence[x509.Certificate], anchors: Sequence[x509.Certificate]) -> WalkedPath:
    """Walk from ``pool[0]`` (the leaf) through ``pool`` (any order) to an anchor, or as far as possible.

    An anchor is preferred to a sent certificate at every step, as OpenSSL does, so a
    server that also sends an expired cross-signed root is judged by the trusted one.
    """
    by_subject: dict[x509.Name, list[x509.Certificate]] = {}
    for anchor in anchors:
        by_subject.setdefault(anchor.subject, []).append(anchor)
    indices = [0]
    current = pool[0]
    while len(indices) <= MAX_DEPTH:
        if is_anchor(current, anchors):
            return WalkedPath(tuple(indices), PathEnd.ANCHOR, current)
        for anchor in by_subject.get(current.issuer, ()):
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


def verify(
    pool: Sequence[x509.Certificate], anchors: Sequence[x509.Certificate], name: str, at: dt.datetime
) -> Verdict:
    """Validate ``pool[0]`` for ``name`` at ``at`` with the rest of ``pool`` as intermediates.

    This is cryptography's RFC 5280 + CA/Browser Forum profile: stricter than OpenSSL on
    some extensions, which is why a refusal our own findings cannot explain is reported
    separately ("rejected") rather than trusted blindly.
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
    except ValueError as exc:  # a name the verifier cannot take, or an unusable anchor
        return Verdict(False, f"cannot validate: {exc}")
    return Verdict(True, path=tuple(name_text(c.subject) for c in chain))
