"""What stricter validators than OpenSSL object to in a chain OpenSSL accepts: pure, no I/O.

OpenSSL (and so Python's ssl and curl) accepts chains that RFC 5280's MUSTs forbid and
that some clients refuse. Whether a connection works is the user's client's call; these
objections only tell the user which *other* clients would fail, and why. Each names the
certificate it is about and who objects, as far as their documentation says:

* no subjectAltName, the name only in the subject CN: Go since 1.15 (x509ignoreCN),
  browsers and rustls/webpki ignore the CN;
* a CA certificate that is version 1 or has no basicConstraints: Go refuses it as an
  intermediate (NotAuthorizedToSign); a version 1 leaf: rustls/webpki accepts only v3;
* no authorityKeyIdentifier (RFC 5280 section 4.2.1.1), no subjectKeyIdentifier in a CA
  (section 4.2.1.2), a CA's basicConstraints not critical (section 4.2.1.9), a CA with no
  keyUsage (section 4.2.1.3): strict RFC 5280 profiles such as pyca/cryptography's X.509
  verifier refuse these.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from cryptography import x509

from tlsdoctor.certs.info import is_ca, is_self_signed, name_text

CN_ONLY = "Go (1.15+), browsers and rustls, which ignore the CN"
GO_CA = "Go, which refuses it as an issuer"
V1 = "rustls/webpki, which accepts only version 3"
RFC5280 = "strict RFC 5280 validators such as pyca/cryptography's"


@dataclasses.dataclass(frozen=True, slots=True)
class Objection:
    """What is wrong, and who refuses it for that."""

    what: str
    who: str

    def __str__(self) -> str:
        return f"{self.what} (refused by {self.who})"


def summary(found: Sequence[Objection], limit: int = 3) -> str:
    """The objections grouped by who makes them, in one line: "Go ...: x; strict RFC 5280 ...: y, z"."""
    groups: dict[str, list[str]] = {}
    for objection in found:
        groups.setdefault(objection.who, []).append(objection.what)
    parts = []
    for who, whats in groups.items():
        shown = ", ".join(whats[:limit]) + (f" and {len(whats) - limit} more" if len(whats) > limit else "")
        parts.append(f"{who}: {shown}")
    return "; ".join(parts)


def _has(cert: x509.Certificate, kind: type[x509.ExtensionType]) -> x509.Extension[x509.ExtensionType] | None:
    try:
        return cert.extensions.get_extension_for_class(kind)
    except (x509.ExtensionNotFound, x509.DuplicateExtension, ValueError):  # absent, or unreadable
        return None


def objections(path: Sequence[x509.Certificate]) -> list[Objection]:
    """Each objection to the certificates of ``path`` (leaf first, up to the anchor)."""
    out: list[Objection] = []
    for index, cert in enumerate(path):
        who = "the leaf" if index == 0 else name_text(cert.subject)
        issuer = index > 0
        root = is_self_signed(cert)
        if index == 0 and _has(cert, x509.SubjectAlternativeName) is None:
            out.append(Objection(f"{who} has no subjectAltName, the name is only in its CN", CN_ONLY))
        if cert.version is x509.Version.v1:
            if issuer and not root:
                out.append(
                    Objection(f"{who} is an X.509 version 1 certificate with no basicConstraints", GO_CA)
                )
            elif not root:
                out.append(Objection(f"{who} is an X.509 version 1 certificate", V1))
            continue
        if not root and _has(cert, x509.AuthorityKeyIdentifier) is None:
            out.append(Objection(f"{who} has no authorityKeyIdentifier", RFC5280))
        if not issuer and not is_ca(cert):
            continue
        constraints = _has(cert, x509.BasicConstraints)
        if constraints is None:
            out.append(Objection(f"{who} has no basicConstraints", GO_CA if not root else RFC5280))
        elif not constraints.critical:
            out.append(Objection(f"{who} has basicConstraints not marked critical", RFC5280))
        if _has(cert, x509.SubjectKeyIdentifier) is None:
            out.append(Objection(f"{who} has no subjectKeyIdentifier", RFC5280))
        if _has(cert, x509.KeyUsage) is None:
            out.append(Objection(f"{who} has no keyUsage", RFC5280))
    return out
