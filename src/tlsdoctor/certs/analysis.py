"""Analyse a certificate chain as the server sent it: pure, no I/O, judged at a given instant.

``analyse_chain`` returns observations — one CertificateInfo per certificate, one
ChainValidation, and a CertificateProblem per finding — so the certificate check, the
``explain``/``pcap`` commands and the tests share one implementation. Judging *at* a
time (RFC 5280 section 4.1.2.5) rather than "now" is what lets a rule tell a wrong
client clock from an expired certificate: see ``would_validate_at``.

The verdict is OpenSSL's (``paths.lenient``), because that is what the user's client
decides with; a stricter profile's objections (``profile.objections``) are a note, never
a fault (issue 9: a strict validator must not overrule the client).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from tlsdoctor.certs import interception
from tlsdoctor.certs.info import certificate_info, load_der
from tlsdoctor.certs.names import cn_fallback, covers, mismatch_detail
from tlsdoctor.certs.paths import PathEnd, WalkedPath, is_anchor, lenient, strict, walk
from tlsdoctor.certs.profile import Objection, objections
from tlsdoctor.certs.profile import summary as profile_summary
from tlsdoctor.observations.base import Observation
from tlsdoctor.observations.cert import (
    WARNING_KINDS,
    CertificateInfo,
    CertificateProblem,
    ChainValidation,
    ProblemKind,
)

SOON_DAYS = 14.0  # less than this many days left: warn
FRESH_LEAF = dt.timedelta(minutes=15)  # a leaf minted this recently looks minted on the path
WEAK_HASHES = frozenset({"sha1", "md5", "md2", "md4"})
MIN_BITS = {"RSA": 2048, "DSA": 2048, "EC": 224}  # NIST SP 800-131A; CA/B BR section 6.1.5


def parse_chain(chain_der: Sequence[bytes]) -> tuple[list[x509.Certificate], list[CertificateProblem]]:
    """Parse each DER certificate; one that does not parse is a finding, not an exception."""
    certs: list[x509.Certificate] = []
    problems: list[CertificateProblem] = []
    for i, der in enumerate(chain_der):
        try:
            certs.append(load_der(der))
        except ValueError as exc:
            problems.append(
                CertificateProblem(
                    problem=ProblemKind.UNPARSEABLE,
                    index=i,
                    subject="?",
                    detail=f"certificate #{i} does not parse: {exc}",
                )
            )
    return certs, problems


def analyse_chain(
    chain_der: Sequence[bytes],
    name: str,
    anchors: Sequence[x509.Certificate],
    at: dt.datetime,
    *,
    store: str = "anchors",
    fetched: Sequence[bytes] = (),
    expect_fingerprint: str | None = None,
) -> list[Observation]:
    """Every observation about ``chain_der`` (leaf first, as sent) for ``name`` at ``at``.

    ``fetched`` holds issuer certificates obtained elsewhere (AIA caIssuers): they may
    complete the path, and say whether a missing intermediate is the whole story.
    """
    certs, problems = parse_chain(chain_der)
    if not certs:
        if not problems:
            problems.append(
                CertificateProblem(
                    problem=ProblemKind.UNPARSEABLE,
                    index=-1,
                    subject="",
                    detail="the server sent no certificate",
                )
            )
        return list(problems)
    extra, _ = parse_chain(fetched)
    infos = [certificate_info(c, i, at, is_anchor=is_anchor(c, anchors)) for i, c in enumerate(certs)]
    out: list[Observation] = list(infos)
    sent_walk = walk(certs, anchors)
    full_walk = walk(certs + extra, anchors) if extra else sent_walk
    on_path = [i for i in full_walk.indices if i < len(certs)]
    verdict = lenient(certs + extra, anchors, name, at)
    problems += _validity(infos, on_path, at)
    problems += _hostname(certs[0], infos[0], name)
    top = (certs + extra)[full_walk.indices[-1]].subject.rfc4514_string()
    problems += _path_end(infos, sent_walk.end, sent_walk.indices, full_walk.end, bool(extra), top)
    problems += _weakness(infos, on_path)
    problems += _leaked(certs + extra, full_walk, infos)
    problems += _interception(infos, at, expect_fingerprint, anchored=full_walk.end is PathEnd.ANCHOR)
    strict_error = ""
    if verdict.valid:
        judged = strict(certs + extra, anchors, name, at)
        strict_error = "" if judged.valid else judged.error
        path = [(certs + extra)[i] for i in full_walk.indices]
        if full_walk.anchor is not None and not is_anchor(path[-1], [full_walk.anchor]):
            path.append(full_walk.anchor)
        found = objections(path)
        weak = any(p.problem in (ProblemKind.WEAK_KEY, ProblemKind.WEAK_SIGNATURE) for p in problems)
        if found or (strict_error and not weak):  # a weak key or hash is already said
            problems.append(_strict_note(infos[0], found, strict_error))
    label = store + ("+fetched" if extra else "")
    out.append(
        ChainValidation(
            store=label,
            anchors=len(anchors),
            name=name,
            at=at,
            valid=verdict.valid,
            error=verdict.error,
            path=verdict.path,
            strict_error=strict_error,
        )
    )
    explained = any(p.problem not in WARNING_KINDS for p in problems) or any(
        p.problem in (ProblemKind.WEAK_KEY, ProblemKind.WEAK_SIGNATURE) for p in problems
    )
    if not verdict.valid and not explained:
        problems.append(
            CertificateProblem(
                problem=ProblemKind.REJECTED,
                index=-1,
                subject=infos[0].subject,
                detail=f"the chain does not validate: {verdict.error}",
            )
        )
    out.extend(problems)
    return out


def _strict_note(leaf: CertificateInfo, found: list[Objection], strict_error: str) -> CertificateProblem:
    """OpenSSL accepts the chain; say which stricter validators would not, and why."""
    if found:
        detail = f"stricter validators than OpenSSL would refuse this chain: {profile_summary(found)}"
    else:
        detail = f"a strict RFC 5280 validator (pyca/cryptography's) refuses this chain: {strict_error}"
    return CertificateProblem(
        problem=ProblemKind.STRICT_PROFILE,
        index=-1,
        subject=leaf.subject,
        detail=detail,
        objections=tuple(str(o) for o in found) or (strict_error,),
    )


def validation(
    chain_der: Sequence[bytes],
    name: str,
    anchors: Sequence[x509.Certificate],
    at: dt.datetime,
    *,
    store: str = "anchors",
) -> ChainValidation:
    """Only the path-validation verdict, e.g. against a second store (the system one beside --ca-file)."""
    certs, _ = parse_chain(chain_der)
    if not certs:
        return ChainValidation(
            store=store, anchors=len(anchors), name=name, at=at, valid=False, error="no parseable certificate"
        )
    verdict = lenient(certs, anchors, name, at)
    return ChainValidation(
        store=store,
        anchors=len(anchors),
        name=name,
        at=at,
        valid=verdict.valid,
        error=verdict.error,
        path=verdict.path,
    )


def would_validate_at(
    chain_der: Sequence[bytes],
    name: str,
    anchors: Sequence[x509.Certificate],
    at: dt.datetime,
    *,
    fetched: Sequence[bytes] = (),
) -> bool:
    """Whether the chain validates for ``name`` at another instant (e.g. the NTP-corrected time)."""
    certs, problems = parse_chain(tuple(chain_der) + tuple(fetched))
    if problems or not certs:
        return False
    return lenient(certs, anchors, name, at).valid


def complete_with(chain_der: Sequence[bytes], issuer_der: bytes) -> tuple[bytes, ...]:
    """The chain with a fetched issuer appended (unless already sent), to re-check."""
    chain = tuple(chain_der)
    return chain if issuer_der in chain else (*chain, issuer_der)


def valid_at(info: CertificateInfo | CertificateProblem, at: dt.datetime) -> bool:
    """Whether a certificate's validity period (RFC 5280 section 4.1.2.5, inclusive) contains ``at``."""
    if info.not_before is None or info.not_after is None:
        return False
    return info.not_before <= at <= info.not_after


def _found(
    kind: ProblemKind,
    info: CertificateInfo,
    detail: str,
    *,
    days: float | None = None,
    at: dt.datetime | None = None,
    confirmed: bool | None = None,
    product: interception.InterceptionProduct | None = None,
) -> CertificateProblem:
    """A finding about one certificate; dated findings keep its validity period and ``at``."""
    return CertificateProblem(
        problem=kind,
        index=info.index,
        subject=info.subject,
        detail=detail,
        days=days,
        not_before=info.not_before if at else None,
        not_after=info.not_after if at else None,
        at=at,
        confirmed=confirmed,
        product=product.product if product else "",
        source=product.source if product else "",
    )


def _validity(infos: list[CertificateInfo], on_path: list[int], at: dt.datetime) -> list[CertificateProblem]:
    """notBefore/notAfter of every certificate on the path, judged at ``at`` (RFC 5280 section 4.1.2.5)."""
    out: list[CertificateProblem] = []
    for i in sorted({0, *on_path}):
        info = infos[i]
        who = "the leaf" if i == 0 else f"certificate #{i} ({info.subject})"
        if info.not_after < at:
            days = (at - info.not_after).total_seconds() / 86400
            detail = f"{who} expired {_ago(days)} (notAfter {info.not_after:%Y-%m-%d %H:%M}Z)"
            out.append(_found(ProblemKind.EXPIRED, info, detail, days=days, at=at))
        elif info.not_before > at:
            days = (info.not_before - at).total_seconds() / 86400
            detail = f"{who} is valid only from {info.not_before:%Y-%m-%d %H:%M}Z, {_ago(days, ahead=True)}"
            out.append(_found(ProblemKind.NOT_YET_VALID, info, detail, days=days, at=at))
        elif info.days_left < SOON_DAYS and not info.is_anchor:
            detail = f"{who} expires in {info.days_left:.1f} days"
            out.append(_found(ProblemKind.EXPIRES_SOON, info, detail, days=info.days_left, at=at))
    return out


def _ago(days: float, *, ahead: bool = False) -> str:
    if days >= 2:
        amount = f"{days:.0f} days"
    elif days * 24 >= 1:
        amount = f"{days * 24:.1f} hours"
    else:
        amount = f"{days * 1440:.0f} minutes"
    return f"{amount} ahead" if ahead else f"{amount} ago"


def _hostname(leaf: x509.Certificate, info: CertificateInfo, name: str) -> list[CertificateProblem]:
    """The reference name against the leaf's subjectAltName (RFC 6125 section 6), else its CN as
    OpenSSL falls back to it when there is no DNS SAN (section 6.4.4)."""
    cns = tuple(str(a.value) for a in leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME))
    if covers(info.sans, name) or cn_fallback(info.sans, name, cns):
        return []  # a CN-only match works with OpenSSL; profile.objections notes who refuses it
    detail = mismatch_detail(info.sans, name, cns[0] if cns else None)
    return [_found(ProblemKind.HOSTNAME_MISMATCH, info, detail)]


def _path_end(
    infos: list[CertificateInfo],
    sent_end: PathEnd,
    sent: tuple[int, ...],
    full_end: PathEnd,
    tried: bool,
    top: str,
) -> list[CertificateProblem]:
    """Where the sent chain stops, and whether fetched issuers (up to ``top``) changed that.

    A missing issuer is ambiguous on its own: an intermediate left out by the server, or
    a root the client does not trust. A fetched issuer that reaches an anchor settles it
    (``confirmed``); without one the finding states the facts and the rules weigh them.
    """
    info = infos[sent[-1]]
    if sent_end is PathEnd.ANCHOR:
        return []
    if sent_end is PathEnd.SELF_SIGNED:
        if info.index == 0:
            detail = f"the leaf {info.subject} is self-signed and not a trust anchor"
            return [_found(ProblemKind.SELF_SIGNED, info, detail)]
        detail = f"the chain ends at root {info.subject}, which is not a trust anchor"
        return [_found(ProblemKind.UNTRUSTED_ROOT, info, detail)]
    if tried and full_end is PathEnd.SELF_SIGNED:
        if top == info.issuer:
            detail = f"the issuer of {info.subject} ({info.issuer}), fetched from AIA, is an untrusted root"
        else:
            detail = (
                f"the issuers of {info.subject} fetched from AIA lead to {top}, a root that is not a "
                f"trust anchor (the server also leaves out {info.issuer})"
            )
        return [_found(ProblemKind.UNTRUSTED_ROOT, info, detail)]
    confirmed = (full_end is PathEnd.ANCHOR) if tried else None
    verdicts = {
        True: ": the copy fetched from AIA completes the chain to a trust anchor",
        False: ": the issuers fetched from AIA do not reach a trust anchor",
        None: "",
    }
    detail = f"the issuer of {info.subject}, {info.issuer}, was not sent and is not a trust anchor"
    return [_found(ProblemKind.INCOMPLETE_CHAIN, info, detail + verdicts[confirmed], confirmed=confirmed)]


def _weakness(infos: list[CertificateInfo], on_path: list[int]) -> list[CertificateProblem]:
    """Weak signatures (not on self-signed roots, whose self-signature nobody checks) and weak keys."""
    out: list[CertificateProblem] = []
    for i in sorted({0, *on_path}):
        info = infos[i]
        if info.signature_hash in WEAK_HASHES and not info.self_signed and not info.is_anchor:
            detail = (
                f"{info.subject} is signed with {str(info.signature_hash).upper()}, which clients "
                "refuse (collisions; RFC 9155, CA/B BR section 7.1.3)"
            )
            out.append(_found(ProblemKind.WEAK_SIGNATURE, info, detail))
        minimum = MIN_BITS.get(info.key_type)
        if minimum is not None and info.key_bits < minimum:
            detail = f"{info.subject} has a {info.key_type} {info.key_bits}-bit key (at least {minimum})"
            out.append(_found(ProblemKind.WEAK_KEY, info, detail))
    return out


def _interception(
    infos: list[CertificateInfo], at: dt.datetime, expect_fingerprint: str | None, *, anchored: bool
) -> list[CertificateProblem]:
    """Issuers of known interception products, freshly minted leaves, and a leaf other than expected.

    A leaf minted minutes ago is normal for a chain that reaches an anchor (automated renewal,
    often exactly when an admin checks); it is a hint only beside a chain that does not, as an
    interception proxy with its own CA presents."""
    out: list[CertificateProblem] = []
    for info in infos:
        product = interception.match_issuer(info.issuer)
        if product is not None:
            detail = (
                f"{info.subject} is issued by {info.issuer}, the CA of {product.product}, "
                "a TLS-interception product"
            )
            out.append(_found(ProblemKind.INTERCEPTION, info, detail, product=product))
            break
    leaf = infos[0]
    age = at - leaf.not_before
    if not anchored and dt.timedelta(0) <= age < FRESH_LEAF:
        detail = (
            f"the leaf was issued {age.total_seconds() / 60:.0f} minutes ago, as interception proxies "
            "mint certificates on the fly"
        )
        out.append(_found(ProblemKind.FRESH_LEAF, leaf, detail, at=at))
    if expect_fingerprint:
        want = normalise_fingerprint(expect_fingerprint)
        if want != leaf.sha256:
            detail = (
                f"the leaf's SHA-256 is {leaf.sha256}, not the expected {want}: another certificate "
                f"(issued by {leaf.issuer}) was presented"
            )
            out.append(_found(ProblemKind.FINGERPRINT_MISMATCH, leaf, detail))
    return out


def _leaked(
    certs: Sequence[x509.Certificate], walked: WalkedPath, infos: list[CertificateInfo]
) -> list[CertificateProblem]:
    """A certificate on the path (or the anchor it ends at) that is a known-bad root, or is issued
    by one: by fingerprint (exact), else by the subject CN the incident's write-ups give."""
    candidates = [(certs[i], min(i, len(infos) - 1)) for i in walked.indices]
    if walked.anchor is not None:
        candidates.append((walked.anchor, len(infos) - 1))
    best: interception.LeakedMatch | None = None
    where = 0
    for cert, index in candidates:
        subject_cns = [str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
        issuer_cns = [str(a.value) for a in cert.issuer.get_attributes_for_oid(NameOID.COMMON_NAME)]
        found = interception.match_leaked(
            cert.public_bytes(Encoding.DER), subject_cns, issuer_cns, cert.subject.rfc4514_string()
        )
        if found is not None and (best is None or (found.by == "fingerprint" and best.by != "fingerprint")):
            best, where = found, index
    if best is None:
        return []
    how = (
        "its fingerprint is the published one"
        if best.by == "fingerprint"
        else "by name only: the fingerprint is not a published one, so this may be a look-alike"
    )
    detail = (
        f"the chain runs through a known-bad root ({best.name}) from {best.root.incident}, whose "
        f"private key is public: whoever holds it can mint a certificate for any site ({how})"
    )
    info = infos[where]
    return [
        CertificateProblem(
            problem=ProblemKind.LEAKED_ROOT,
            index=info.index,
            subject=info.subject,
            detail=detail,
            product=best.root.incident,
            source=best.root.source,
            identified_by=best.by,
        )
    ]


def normalise_fingerprint(text: str) -> str:
    """A SHA-256 fingerprint as lowercase hex: accepts "AA:BB..", "sha256:aabb..", "sha256/aabb..".."""
    text = text.strip().lower()
    for prefix in ("sha256:", "sha256/", "sha256="):
        if text.startswith(prefix):
            text = text[len(prefix) :]
    return text.replace(":", "").replace(" ", "")
