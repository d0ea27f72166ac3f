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
cert-chain-incomplete, never cert-untrusted; a lone leaf whose issuer nobody sent or
could fetch is most likely cert-chain-incomplete, with cert-untrusted second, each with
its own summary; an empty system store makes every chain untrusted, so then (without
--ca-file) client-ca-store is the cause; an interception issuer or a known-bad root makes
the untrusted chain a symptom of tls-interception; a validity error the NTP offset
explains is client-clock-skew (see rules/clock.py).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from tlsdoctor.inference.causes import CauseId
from tlsdoctor.inference.facts import Facts
from tlsdoctor.inference.rules.base import Match, Rule
from tlsdoctor.inference.rules.clock import reference, skew_explains
from tlsdoctor.inference.rules.helpers import attempts
from tlsdoctor.inference.rules.stores import store_split
from tlsdoctor.model import Evidence
from tlsdoctor.observations.base import Observation
from tlsdoctor.observations.cert import (
    CertificateInfo,
    CertificateProblem,
    ChainValidation,
    FetchOutcome,
    IssuerFetch,
    ProblemKind,
    RevocationCheck,
    RevocationState,
    TrustStoreInfo,
)
from tlsdoctor.observations.tls import UNRELATED_VARIANT, HandshakeAttempt, HandshakeOutcome, PeerChain

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
WEAK_REASONS = (
    "EE_KEY_TOO_SMALL",
    "CA_KEY_TOO_SMALL",
    "CA_MD_TOO_WEAK",
    ": KEY_TOO_SMALL",
    "MD_TOO_WEAK",
)  # not DH_
WORKING = 0.35  # the most a certificate finding claims when the default client connected
UNNAMED_REFUSAL = 0.45  # the client refused the chain for a reason none of the causes names
FAILING_KINDS = frozenset(
    set(ProblemKind) - {ProblemKind.EXPIRES_SOON, ProblemKind.FRESH_LEAF, ProblemKind.STRICT_PROFILE}
)


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
        f"{match.summary}; but the local clock is off by {offset.offset_s:.0f} s, and by "
        f"{reference(offset)} the certificate is valid",
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
    """Self-signed leaf or untrusted root; a missing issuer above a sent intermediate leans this way."""
    sure = _problems(facts, ProblemKind.SELF_SIGNED, ProblemKind.UNTRUSTED_ROOT)
    gaps = [g for g in _problems(facts, ProblemKind.INCOMPLETE_CHAIN) if g.confirmed is not True]
    if not sure and not gaps:
        refused = _problems(facts, ProblemKind.REJECTED)
        if refused and not _problems(facts, *(FAILING_KINDS - {ProblemKind.REJECTED})):
            # The client refused the chain for a reason no cause names (an invalid CA, a purpose):
            # the best-supported reading, below the fault threshold, with the client's own words.
            return _match(facts, refused, UNNAMED_REFUSAL, refused[0].detail)
        return _code_only(
            facts, (ProblemKind.SELF_SIGNED, ProblemKind.UNTRUSTED_ROOT), "the certificate is not trusted"
        )
    kinds = (ProblemKind.SELF_SIGNED, ProblemKind.UNTRUSTED_ROOT)
    confidence, hs = _weight(facts, kinds)
    found: list[CertificateProblem] = list(sure)
    summary = sure[0].detail if sure else ""
    if not sure:
        gap = gaps[0]
        found = [gap]
        factor, summary = _untrusted_reading(facts, gap)
        confidence *= factor
    if _store_empty(facts) is not None or store_split(facts) is not None:  # the store, not the chain
        confidence = min(confidence, 0.5)
    if _problems(facts, ProblemKind.INTERCEPTION, ProblemKind.FINGERPRINT_MISMATCH, ProblemKind.LEAKED_ROOT):
        confidence = min(confidence, 0.6)
    return _match(facts, found, confidence, summary, hs)


def _untrusted_reading(facts: Facts, gap: CertificateProblem) -> tuple[float, str]:
    """How likely an unknown issuer is an untrusted root rather than an omitted intermediate, and why."""
    issuer = _issuer_of(facts, gap.index)
    if gap.confirmed is False:
        return 0.63, (
            f"the issuer fetched from AIA does not lead to a trusted root either: the client does not "
            f"trust the CA above {gap.subject}"
        )
    if _leaf_only(facts, gap):
        return 0.5, (
            f"if {issuer} is a root rather than an intermediate, the client does not trust it: it is not "
            "among the client's trust anchors"
        )
    return 0.9, (
        f"the chain the server sent ends at {gap.subject}, issued by {issuer}, which is not among the "
        "client's trust anchors: the client does not trust this CA"
    )


def _issuer_of(facts: Facts, index: int) -> str:
    info = next((i for i in facts.all(CertificateInfo) if i.index == index), None)
    return info.issuer if info is not None else "its issuer"


def _leaf_only(facts: Facts, gap: CertificateProblem) -> bool:
    """The gap is right above a leaf that is neither a CA nor self-signed: the one-certificate chain
    of a server that omits its intermediate (CA/B Baseline Requirements section 6.1.7 forbid a root
    from signing a server certificate directly, so its issuer is almost surely an intermediate)."""
    info = next((i for i in facts.all(CertificateInfo) if i.index == gap.index), None)
    return gap.index == 0 and info is not None and not info.is_ca and not info.self_signed


def _has_http_aia(facts: Facts, index: int) -> bool:
    info = next((i for i in facts.all(CertificateInfo) if i.index == index), None)
    return info is not None and any(u.lower().startswith("http://") for u in info.ca_issuers)


def _aia_note(facts: Facts, index: int) -> str:
    """What the AIA caIssuers URL gave, in a clause."""
    fetches = facts.all(IssuerFetch)
    failed = next((f for f in fetches if f.outcome is not FetchOutcome.OK), None)
    if failed is not None and not any(f.outcome is FetchOutcome.OK for f in fetches):
        return f", and its AIA URL {failed.url} gave no certificate ({failed.outcome.value})"
    if not _has_http_aia(facts, index):
        return ", and the certificate names no AIA URL to fetch it from"
    return ""


def cert_chain_incomplete(facts: Facts) -> Match | None:
    """An issuer is missing; a fetched issuer that reaches an anchor makes it certain, and a lone leaf
    whose issuer nobody can fetch makes it the likeliest reading."""
    gaps = _problems(facts, ProblemKind.INCOMPLETE_CHAIN)
    if not gaps:
        return None
    gap = gaps[0]
    confidence, hs = _weight(facts, (ProblemKind.INCOMPLETE_CHAIN,))
    issuer = _issuer_of(facts, gap.index)
    fetched = next((f for f in facts.all(IssuerFetch) if f.outcome is FetchOutcome.OK), None)
    if gap.confirmed is True:
        where = f" from {fetched.url}" if fetched is not None else ""
        summary = (
            f"the server does not send its intermediate certificate {issuer}: fetched{where}, it "
            "completes the chain to a trusted root"
        )
    elif gap.confirmed is False:
        confidence *= 0.45
        summary = f"the server may omit intermediates above {gap.subject}: its issuer is {issuer}"
    elif _leaf_only(facts, gap):
        confidence *= 0.85
        summary = (
            f"the server sent only its leaf certificate; its issuer {issuer} was neither sent nor a "
            f"trust anchor{_aia_note(facts, gap.index)}: most likely the server leaves out its "
            "intermediate, since the CA/Browser Forum Baseline Requirements forbid roots from signing "
            "server certificates directly"
        )
    else:
        confidence *= 0.5
        summary = (
            f"the chain the server sent stops at {gap.subject}; if its issuer {issuer} is a further "
            "intermediate, the server leaves it out"
        )
    if _store_empty(facts) is not None:
        confidence = min(confidence, 0.4)
    if gap.confirmed is not True and store_split(facts) is not None:  # the issuer is a root elsewhere
        confidence = min(confidence, 0.3)
    return _match(facts, [gap], confidence, summary, hs)


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
    """A known-bad root, an interception product's issuer, or a leaf other than the expected one;
    a fresh leaf only hints."""
    leaked = _problems(facts, ProblemKind.LEAKED_ROOT)
    strong = _problems(facts, ProblemKind.INTERCEPTION, ProblemKind.FINGERPRINT_MISMATCH)
    fresh = _problems(facts, ProblemKind.FRESH_LEAF)
    default = attempts(facts).get("default")
    working = default is not None and default.outcome is HandshakeOutcome.OK
    if leaked:
        return _leaked_root(facts, leaked[0], strong + fresh, working)
    if strong:
        confidence = 0.95 if len({p.problem for p in strong}) > 1 else 0.9
        summary = strong[0].detail
        if working:
            confidence, summary = 0.45, summary + "; the client trusts it, so only pinning clients break"
        return _match(facts, strong + fresh, confidence, summary)
    if not fresh or _one_leaf_for_any_name(facts):
        return None
    untrusted = _problems(
        facts, ProblemKind.SELF_SIGNED, ProblemKind.UNTRUSTED_ROOT, ProblemKind.INCOMPLETE_CHAIN
    )
    # Only a hint, below the untrusted chain it sits beside: leaves are also minted minutes
    # before an admin checks (automated renewal, a new deployment with its chain not yet right).
    confidence = 0.35 if untrusted and not working else 0.2
    return _match(facts, fresh + untrusted[:1], confidence, fresh[0].detail)


def _one_leaf_for_any_name(facts: Facts) -> bool:
    """The server sent the very same leaf for an unrelated name as for the target: nothing on the path
    mints a certificate per name, so a fresh leaf is a new deployment (or a test certificate made a
    minute ago), not an interception proxy's. A different leaf for that name says nothing either way:
    a proxy that inspects only some names passes the unrelated one through to the server."""
    chains = facts.all(PeerChain)
    target = {c.chain[0] for c in chains if c.chain and c.variant != UNRELATED_VARIANT}
    other = {c.chain[0] for c in chains if c.chain and c.variant == UNRELATED_VARIANT}
    return bool(other) and other <= target


def _leaked_root(
    facts: Facts, leaked: CertificateProblem, more: Sequence[CertificateProblem], working: bool
) -> Match:
    """A chain through a root whose private key is public was minted by whoever holds that key.

    A fingerprint match is exact (0.95, and 0.9 even when the client trusts the root: the user's
    trust store then holds it, so anyone on the path can impersonate any site). A name-only match
    is a heuristic: 0.85 beside a refused chain, 0.6 when the client accepted it."""
    exact = leaked.identified_by == "fingerprint"
    if working:
        confidence = 0.9 if exact else 0.6
        extra = "; the client trusts this root, so every site can be impersonated to it: remove the root"
    else:
        confidence = 0.95 if exact else 0.85
        extra = ""
    return _match(facts, [leaked, *more], confidence, leaked.detail + extra)


def client_ca_store(facts: Facts) -> Match | None:
    """The system store is empty or missing, and it is the one the client uses (no --ca-file).

    A --ca-file naming a private CA the system store lacks is the user saying whom they trust:
    the comparison with the system store stays in the certificate check's data, as a note.
    The client's store refusing a chain another store accepts is rules/stores.py."""
    split = store_split(facts)
    if split is not None:
        return split
    if any(s.source == "ca-file" for s in facts.all(TrustStoreInfo)):
        return None
    default = attempts(facts).get("default")
    failed = default is not None and default.outcome is HandshakeOutcome.VERIFY_FAILED
    empty = _store_empty(facts)
    if empty is None:
        return None
    untrusted = failed or any(not v.valid for v in facts.all(ChainValidation))
    return Match(0.9 if untrusted else 0.45, [facts.evidence(empty)], empty.describe())


CERT_EXPIRED = Rule(CauseId.CERT_EXPIRED, cert_expired)
CERT_NOT_YET_VALID = Rule(CauseId.CERT_NOT_YET_VALID, cert_not_yet_valid)
CERT_HOSTNAME_MISMATCH = Rule(CauseId.CERT_HOSTNAME_MISMATCH, cert_hostname_mismatch)
CERT_UNTRUSTED = Rule(CauseId.CERT_UNTRUSTED, cert_untrusted)
CERT_CHAIN_INCOMPLETE = Rule(CauseId.CERT_CHAIN_INCOMPLETE, cert_chain_incomplete)
CERT_REVOKED = Rule(CauseId.CERT_REVOKED, cert_revoked)
CERT_WEAK = Rule(CauseId.CERT_WEAK, cert_weak)
TLS_INTERCEPTION = Rule(CauseId.TLS_INTERCEPTION, tls_interception)


def client_or_profile_ca_store(facts: Facts) -> Match | None:
    """This client's store, or a known client's (``diagnose --client``: rules/clientsim.py)."""
    from tlsdoctor.inference.rules.clientsim import simulated
    from tlsdoctor.inference.rules.matrix import best

    return best(client_ca_store(facts), simulated(facts, CauseId.CLIENT_CA_STORE))


CLIENT_CA_STORE = Rule(CauseId.CLIENT_CA_STORE, client_or_profile_ca_store)
RULES = (
    CERT_EXPIRED,
    CERT_NOT_YET_VALID,
    CERT_HOSTNAME_MISMATCH,
    CERT_UNTRUSTED,
    CERT_CHAIN_INCOMPLETE,
    CERT_REVOKED,
    CERT_WEAK,
    TLS_INTERCEPTION,
    CLIENT_CA_STORE,
)
