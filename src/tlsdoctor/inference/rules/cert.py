"""The certificate causes, and the two client-side ones that look like them.

How sure a rule is depends on what the handshakes showed (``_weight``):

* the default client failed verification and the no-verify variant connected: the
  certificate *is* the failure (0.95), a little less if no-verify did not run;
* no handshake observation at all (the chain came from elsewhere): it would fail (0.8);
* the default client connected: the finding is real but not why anything fails (0.35,
  under the fault threshold);
* the default client failed some other way: the certificate is a side issue (0.4).

OpenSSL's verify code, when present, corroborates one finding over another: a chain
can be both untrusted and mismatched, and the code says which the client tripped on.

Interplay (contract/causes.md): an incomplete chain confirmed by a fetched issuer is
cert-chain-incomplete, never cert-untrusted; an empty trust store makes every chain
untrusted, so then client-ca-store is the cause; an interception issuer makes the
untrusted chain a symptom of tls-interception; a validity error the NTP offset explains
is client-clock-skew (see rules/clock.py).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from tlsdoctor.inference.causes import CauseId
from tlsdoctor.inference.facts import Facts
from tlsdoctor.inference.rules.base import Match, Rule
from tlsdoctor.inference.rules.clock import skew_explains
from tlsdoctor.inference.rules.helpers import attempts
from tlsdoctor.model import Evidence
from tlsdoctor.observations.base import Observation
from tlsdoctor.observations.cert import (
    CertificateInfo,
    CertificateProblem,
    ChainValidation,
    ProblemKind,
    RevocationCheck,
    RevocationState,
    TrustStoreInfo,
)
from tlsdoctor.observations.tls import HandshakeAttempt, HandshakeOutcome

__all__ = [
    "CERT_CHAIN_INCOMPLETE",
    "CERT_EXPIRED",
    "CERT_HOSTNAME_MISMATCH",
    "CERT_NOT_YET_VALID",
    "CERT_REVOKED",
    "CERT_UNTRUSTED",
    "CERT_WEAK",
    "CLIENT_CA_STORE",
    "TLS_INTERCEPTION",
]

# OpenSSL X509_V_ERR_* codes (include/openssl/x509_vfy.h) that name each finding.
CODES: dict[ProblemKind, frozenset[int]] = {
    ProblemKind.EXPIRED: frozenset({10}),
    ProblemKind.NOT_YET_VALID: frozenset({9}),
    ProblemKind.HOSTNAME_MISMATCH: frozenset({62, 64}),
    ProblemKind.SELF_SIGNED: frozenset({18}),
    ProblemKind.UNTRUSTED_ROOT: frozenset({19, 20, 2}),
    ProblemKind.INCOMPLETE_CHAIN: frozenset({20, 21, 2}),
    ProblemKind.WEAK_KEY: frozenset({66, 67}),
    ProblemKind.WEAK_SIGNATURE: frozenset({68}),
}
CODE_REVOKED = 23
WEAK_REASONS = ("EE_KEY_TOO_SMALL", "CA_KEY_TOO_SMALL", "CA_MD_TOO_WEAK", "KEY_TOO_SMALL", "MD_TOO_WEAK")
WORKING = 0.35  # the most a certificate finding claims when the default client connected
FAILING_KINDS = frozenset(set(ProblemKind) - {ProblemKind.EXPIRES_SOON, ProblemKind.FRESH_LEAF})


def _problems(facts: Facts, *kinds: ProblemKind) -> list[CertificateProblem]:
    return [p for p in facts.all(CertificateProblem) if p.problem in kinds]


def _weight(facts: Facts, kinds: Collection[ProblemKind]) -> tuple[float, list[HandshakeAttempt]]:
    """How much the handshakes make these findings the cause (see the module docstring)."""
    runs = attempts(facts)
    default, no_verify = runs.get("default"), runs.get("no-verify")
    if default is None:
        return 0.8, []
    cited = [default] + ([no_verify] if no_verify is not None else [])
    if default.outcome is HandshakeOutcome.OK:
        return WORKING, [default]
    refused = default.outcome is HandshakeOutcome.VERIFY_FAILED or (
        default.outcome is HandshakeOutcome.LOCAL_REJECT and any(r in default.error for r in WEAK_REASONS)
    )
    if not refused:
        return 0.4, [default]
    codes = frozenset().union(*(CODES.get(k, frozenset()) for k in kinds))
    base = 0.95 if no_verify is not None and no_verify.outcome is HandshakeOutcome.OK else 0.9
    if default.verify_code is not None and default.verify_code not in codes:
        base = 0.7  # the client tripped on something else first
    return base, cited


def _match(
    facts: Facts,
    found: Sequence[Observation],
    confidence: float,
    summary: str,
    extra: Sequence[HandshakeAttempt] = (),
) -> Match:
    evidence: list[Evidence] = [facts.evidence(o) for o in [*found, *extra]]
    return Match(round(confidence, 2), evidence[:6], summary)


def _code_only(facts: Facts, kinds: Collection[ProblemKind], summary: str) -> Match | None:
    """Without a certificate analysis, the default client's verify code alone (0.85)."""
    if facts.first(CertificateInfo) is not None:
        return None
    default = attempts(facts).get("default")
    codes = frozenset().union(*(CODES.get(k, frozenset()) for k in kinds))
    if default is None or default.verify_code not in codes:
        return None
    return Match(0.85, [facts.evidence(default)], f"{summary}: {default.verify_message or default.error}")


def _simple(facts: Facts, kind: ProblemKind, summary: str) -> Match | None:
    found = _problems(facts, kind)
    if not found:
        return _code_only(facts, (kind,), summary)
    confidence, hs = _weight(facts, (kind,))
    return _match(facts, found, confidence, found[0].detail, hs)


def _validity(facts: Facts, kind: ProblemKind, summary: str) -> Match | None:
    match = _simple(facts, kind, summary)
    if match is None:
        return None
    offset = skew_explains(facts)
    if offset is None:
        return match
    return Match(
        min(match.confidence, 0.25),
        [*match.evidence, facts.evidence(offset)],
        f"{match.summary}; but the local clock is off by {offset.offset_s:.0f} s, and at the NTP "
        "time the certificate is valid",
    )


def cert_expired(facts: Facts) -> Match | None:
    """A certificate on the path is past notAfter at the local time, and the clock does not explain it."""
    return _validity(facts, ProblemKind.EXPIRED, "the certificate has expired")


def cert_not_yet_valid(facts: Facts) -> Match | None:
    """A certificate's notBefore is ahead of the local time, and the clock does not explain it."""
    return _validity(facts, ProblemKind.NOT_YET_VALID, "the certificate is not yet valid")


def cert_hostname_mismatch(facts: Facts) -> Match | None:
    """No SAN covers the name (RFC 6125 section 6)."""
    return _simple(facts, ProblemKind.HOSTNAME_MISMATCH, "the certificate does not cover the name")


def _store_empty(facts: Facts) -> TrustStoreInfo | None:
    return next((s for s in facts.all(TrustStoreInfo) if s.source == "system" and s.anchors == 0), None)


def cert_untrusted(facts: Facts) -> Match | None:
    """Self-signed leaf or untrusted root; an unconfirmed missing issuer without AIA leans this way."""
    sure = _problems(facts, ProblemKind.SELF_SIGNED, ProblemKind.UNTRUSTED_ROOT)
    gaps = [g for g in _problems(facts, ProblemKind.INCOMPLETE_CHAIN) if g.confirmed is not True]
    if not sure and not gaps:
        return _code_only(
            facts, (ProblemKind.SELF_SIGNED, ProblemKind.UNTRUSTED_ROOT), "the certificate is not trusted"
        )
    kinds = (ProblemKind.SELF_SIGNED, ProblemKind.UNTRUSTED_ROOT)
    confidence, hs = _weight(facts, kinds)
    found: list[CertificateProblem] = list(sure)
    if not sure:
        gap = gaps[0]
        found = [gap]
        factor = 0.45 if _has_http_aia(facts, gap.index) and gap.confirmed is None else 0.63
        confidence *= factor
    if _store_empty(facts) is not None:
        confidence = min(confidence, 0.5)
    if _problems(facts, ProblemKind.INTERCEPTION, ProblemKind.FINGERPRINT_MISMATCH):
        confidence = min(confidence, 0.6)
    return _match(facts, found, confidence, found[0].detail, hs)


def _has_http_aia(facts: Facts, index: int) -> bool:
    info = next((i for i in facts.all(CertificateInfo) if i.index == index), None)
    return info is not None and any(u.lower().startswith("http://") for u in info.ca_issuers)


def cert_chain_incomplete(facts: Facts) -> Match | None:
    """An issuer is missing; a fetched issuer that reaches an anchor makes it certain."""
    gaps = _problems(facts, ProblemKind.INCOMPLETE_CHAIN)
    if not gaps:
        return None
    gap = gaps[0]
    confidence, hs = _weight(facts, (ProblemKind.INCOMPLETE_CHAIN,))
    if gap.confirmed is None:
        confidence *= 0.8 if _has_http_aia(facts, gap.index) else 0.58
    elif gap.confirmed is False:
        confidence *= 0.45
    if _store_empty(facts) is not None:
        confidence = min(confidence, 0.4)
    return _match(facts, [gap], confidence, gap.detail, hs)


def cert_revoked(facts: Facts) -> Match | None:
    """An OCSP responder says revoked (RFC 6960), or the client's verify code does.

    The OCSP probe itself is pending: today RevocationCheck observations come only from
    callers that made the query, and the verify code from clients that checked revocation.
    """
    revoked = [r for r in facts.all(RevocationCheck) if r.state is RevocationState.REVOKED]
    if revoked:
        return Match(0.95, [facts.evidence(r) for r in revoked], revoked[0].describe())
    default = attempts(facts).get("default")
    if default is not None and default.verify_code == CODE_REVOKED:
        return Match(0.9, [facts.evidence(default)], "the client reports the certificate as revoked")
    return None


def cert_weak(facts: Facts) -> Match | None:
    """SHA-1/MD5 signature or a short key on the path; certain when the client's policy refused just that."""
    found = _problems(facts, ProblemKind.WEAK_SIGNATURE, ProblemKind.WEAK_KEY)
    default = attempts(facts).get("default")
    policy = default is not None and any(r in default.error for r in WEAK_REASONS)
    if not found:
        if policy and default is not None and default.outcome is not HandshakeOutcome.OK:
            return Match(
                0.8, [facts.evidence(default)], f"the client refused a weak certificate: {default.error}"
            )
        return None
    confidence, hs = _weight(facts, (ProblemKind.WEAK_KEY, ProblemKind.WEAK_SIGNATURE))
    others = [p for p in facts.all(CertificateProblem) if p.problem in FAILING_KINDS and p not in found]
    if policy:
        confidence = max(confidence, 0.95)
    elif others and confidence > WORKING:
        confidence = min(confidence, 0.6)  # something else on the chain fails too
    return _match(facts, found, confidence, found[0].detail, hs)


def tls_interception(facts: Facts) -> Match | None:
    """An interception product's issuer, or a leaf other than the expected one; a fresh leaf only hints."""
    strong = _problems(facts, ProblemKind.INTERCEPTION, ProblemKind.FINGERPRINT_MISMATCH)
    fresh = _problems(facts, ProblemKind.FRESH_LEAF)
    default = attempts(facts).get("default")
    working = default is not None and default.outcome is HandshakeOutcome.OK
    if strong:
        confidence = 0.95 if len({p.problem for p in strong}) > 1 else 0.9
        summary = strong[0].detail
        if working:
            confidence, summary = 0.45, summary + "; the client trusts it, so only pinning clients break"
        return _match(facts, strong + fresh, confidence, summary)
    if not fresh:
        return None
    untrusted = _problems(
        facts, ProblemKind.SELF_SIGNED, ProblemKind.UNTRUSTED_ROOT, ProblemKind.INCOMPLETE_CHAIN
    )
    confidence = 0.6 if untrusted and not working else 0.3
    return _match(facts, fresh + untrusted[:1], confidence, fresh[0].detail)


def client_ca_store(facts: Facts) -> Match | None:
    """The system store is empty or missing, or only --ca-file makes the chain validate."""
    default = attempts(facts).get("default")
    failed = default is not None and default.outcome is HandshakeOutcome.VERIFY_FAILED
    empty = _store_empty(facts)
    if empty is not None:
        untrusted = failed or any(not v.valid for v in facts.all(ChainValidation))
        return Match(0.9 if untrusted else 0.45, [facts.evidence(empty)], empty.describe())
    checks = facts.all(ChainValidation)
    by_file = next((v for v in checks if v.store.startswith("ca-file") and v.valid), None)
    by_system = next((v for v in checks if v.store.startswith("system") and not v.valid), None)
    if by_file is None or by_system is None:
        return None
    summary = "the chain validates with --ca-file but not with the system trust store"
    evidence = [facts.evidence(by_file), facts.evidence(by_system)]
    if failed and default is not None:
        return Match(0.85, [*evidence, facts.evidence(default)], summary)
    return Match(0.45, evidence, summary + ": clients that use the system store fail")


CERT_EXPIRED = Rule(CauseId.CERT_EXPIRED, cert_expired)
CERT_NOT_YET_VALID = Rule(CauseId.CERT_NOT_YET_VALID, cert_not_yet_valid)
CERT_HOSTNAME_MISMATCH = Rule(CauseId.CERT_HOSTNAME_MISMATCH, cert_hostname_mismatch)
CERT_UNTRUSTED = Rule(CauseId.CERT_UNTRUSTED, cert_untrusted)
CERT_CHAIN_INCOMPLETE = Rule(CauseId.CERT_CHAIN_INCOMPLETE, cert_chain_incomplete)
CERT_REVOKED = Rule(CauseId.CERT_REVOKED, cert_revoked)
CERT_WEAK = Rule(CauseId.CERT_WEAK, cert_weak)
TLS_INTERCEPTION = Rule(CauseId.TLS_INTERCEPTION, tls_interception)
CLIENT_CA_STORE = Rule(CauseId.CLIENT_CA_STORE, client_ca_store)
