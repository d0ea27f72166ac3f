"""The certificate and clock rules on hand-made observations: a positive and a near miss for each."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest

from tlsdoctor.inference.engine import diagnose, evaluate
from tlsdoctor.inference.facts import Facts
from tlsdoctor.inference.rules import cert
from tlsdoctor.inference.rules.base import Rule
from tlsdoctor.inference.rules.cert import (
    CERT_CHAIN_INCOMPLETE,
    CERT_EXPIRED,
    CERT_HOSTNAME_MISMATCH,
    CERT_NOT_YET_VALID,
    CERT_REVOKED,
    CERT_UNTRUSTED,
    CERT_WEAK,
    CLIENT_CA_STORE,
    TLS_INTERCEPTION,
)
from tlsdoctor.inference.rules.clock import CLIENT_CLOCK_SKEW
from tlsdoctor.model import CheckResult, Status, Verdict
from tlsdoctor.observations.base import Observation
from tlsdoctor.observations.cert import (
    CertificateInfo,
    CertificateProblem,
    ChainValidation,
    ClockOffset,
    FetchOutcome,
    IssuerFetch,
    ProblemKind,
    RevocationCheck,
    RevocationState,
    TrustStoreInfo,
)
from tlsdoctor.observations.tls import UNRELATED_VARIANT, HandshakeAttempt, HandshakeOutcome, PeerChain

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
RULES = (*cert.RULES, CLIENT_CLOCK_SKEW)  # as the cause table orders them
K = ProblemKind
OK, VERIFY_FAILED = HandshakeOutcome.OK, HandshakeOutcome.VERIFY_FAILED


def problem(kind: ProblemKind, index: int = 0, **kw: Any) -> CertificateProblem:
    return CertificateProblem(
        problem=kind, index=index, subject="CN=example.test", detail=f"{kind} found", **kw
    )


def dated(kind: ProblemKind, not_before: dt.datetime, not_after: dt.datetime) -> CertificateProblem:
    return problem(kind, not_before=not_before, not_after=not_after, at=NOW)


def info(index: int = 0, ca_issuers: tuple[str, ...] = ()) -> CertificateInfo:
    return CertificateInfo(
        index=index,
        subject="CN=example.test",
        issuer="CN=CA",
        serial="1",
        not_before=NOW - 30 * DAY,
        not_after=NOW + 60 * DAY,
        days_left=60,
        key_type="EC",
        key_bits=256,
        signature_hash="sha256",
        sans=("DNS:example.test",),
        self_signed=False,
        is_ca=False,
        ca_issuers=ca_issuers,
        ocsp=(),
        sha256="00" * 32,
    )


def hs(variant: str, outcome: HandshakeOutcome, code: int | None = None, error: str = "") -> HandshakeAttempt:
    return HandshakeAttempt(
        variant=variant,
        address="192.0.2.1",
        port=443,
        servername="example.test",
        outcome=outcome,
        verify_code=code,
        error=error,
    )


def refused(code: int | None) -> CheckResult:
    """The default client failed verification (with this OpenSSL code); no-verify connected."""
    return CheckResult(
        id="handshake",
        status=Status.FAIL,
        summary="",
        observations=(hs("default", VERIFY_FAILED, code), hs("no-verify", OK)),
    )


def connected() -> CheckResult:
    return CheckResult(id="handshake", status=Status.PASS, summary="", observations=(hs("default", OK),))


def cert(*obs: Observation, status: Status = Status.FAIL) -> CheckResult:
    return CheckResult(id="certificate", status=status, summary="", observations=(info(), *obs))


def clock(offset_s: float) -> CheckResult:
    return CheckResult(
        id="clock",
        status=Status.FAIL,
        summary="",
        observations=(ClockOffset(source="127.0.0.1", offset_s=offset_s, rtt_ms=1.0),),
    )


def confidence(rule: Rule, *results: CheckResult) -> float | None:
    match = rule.match(Facts(results))
    return None if match is None else match.confidence


EXPIRED_3_DAYS = dated(K.EXPIRED, NOW - 90 * DAY, NOW - 3 * DAY)


def test_expired() -> None:
    assert confidence(CERT_EXPIRED, refused(10), cert(EXPIRED_3_DAYS)) == 0.95
    assert confidence(CERT_EXPIRED, cert(EXPIRED_3_DAYS)) == 0.8  # no handshake: it would fail
    assert confidence(CERT_EXPIRED, refused(10), cert(problem(K.EXPIRES_SOON), status=Status.WARN)) is None


def test_expired_from_the_verify_code_alone() -> None:
    assert confidence(CERT_EXPIRED, refused(10)) == 0.85
    assert confidence(CERT_EXPIRED, refused(62)) is None


def test_expired_loses_to_clock_skew_when_the_corrected_time_fixes_it() -> None:
    results = (refused(10), cert(EXPIRED_3_DAYS), clock(-5 * 86400.0))  # local clock 5 days fast
    assert confidence(CLIENT_CLOCK_SKEW, *results) == 0.97
    assert confidence(CERT_EXPIRED, *results) == 0.25
    verdict, causes = diagnose(list(results), RULES)
    assert verdict is Verdict.FAULT and causes[0].id == "client-clock-skew"


def test_skew_that_does_not_explain_the_expiry() -> None:
    results = (refused(10), cert(EXPIRED_3_DAYS), clock(-1 * 86400.0))  # one day fast: still expired
    assert confidence(CERT_EXPIRED, *results) == 0.95
    assert confidence(CLIENT_CLOCK_SKEW, *results) == 0.55
    assert evaluate(Facts(results), RULES)[0].id == "cert-expired"


def test_clock_skew_alone_and_near_miss() -> None:
    assert confidence(CLIENT_CLOCK_SKEW, clock(400 * 86400.0)) == 0.8
    assert confidence(CLIENT_CLOCK_SKEW, clock(90.0)) == 0.55
    assert confidence(CLIENT_CLOCK_SKEW, clock(-30.0)) is None


def test_not_yet_valid_and_clock_behind() -> None:
    future = dated(K.NOT_YET_VALID, NOW + 2 * DAY, NOW + 90 * DAY)
    assert confidence(CERT_NOT_YET_VALID, refused(9), cert(future)) == 0.95
    results = (refused(9), cert(future), clock(3 * 86400.0))  # local clock 3 days slow
    assert confidence(CERT_NOT_YET_VALID, *results) == 0.25
    assert confidence(CLIENT_CLOCK_SKEW, *results) == 0.97
    assert confidence(CERT_NOT_YET_VALID, refused(9), cert(EXPIRED_3_DAYS)) is None


def test_hostname_mismatch() -> None:
    assert confidence(CERT_HOSTNAME_MISMATCH, refused(62), cert(problem(K.HOSTNAME_MISMATCH))) == 0.95
    # the client tripped on the chain first: the mismatch is real but second
    assert confidence(CERT_HOSTNAME_MISMATCH, refused(20), cert(problem(K.HOSTNAME_MISMATCH))) == 0.7
    assert confidence(CERT_HOSTNAME_MISMATCH, refused(62), cert(problem(K.SELF_SIGNED))) is None


def test_untrusted_self_signed() -> None:
    results = (refused(18), cert(problem(K.SELF_SIGNED)))
    assert confidence(CERT_UNTRUSTED, *results) == 0.95
    assert evaluate(Facts(results), RULES)[0].id == "cert-untrusted"
    assert confidence(CERT_UNTRUSTED, refused(62), cert(problem(K.HOSTNAME_MISMATCH))) is None


def test_confirmed_missing_intermediate_is_incomplete_not_untrusted() -> None:
    gap = problem(K.INCOMPLETE_CHAIN, confirmed=True)
    results = (refused(20), cert(gap))
    assert confidence(CERT_CHAIN_INCOMPLETE, *results) == 0.95
    assert confidence(CERT_UNTRUSTED, *results) is None
    assert confidence(CERT_CHAIN_INCOMPLETE, refused(18), cert(problem(K.SELF_SIGNED))) is None


def test_lone_leaf_with_unknown_issuer_is_a_missing_intermediate_first() -> None:
    """Issue 9 item 3: one certificate, not a CA, issuer neither sent nor an anchor, nothing to fetch."""
    gap = problem(K.INCOMPLETE_CHAIN)
    no_aia = (refused(20), cert(gap))
    incomplete, untrusted = CERT_CHAIN_INCOMPLETE.match(Facts(no_aia)), CERT_UNTRUSTED.match(Facts(no_aia))
    assert incomplete is not None and untrusted is not None
    assert incomplete.confidence == pytest.approx(0.81, abs=0.01)
    assert untrusted.confidence == pytest.approx(0.475, abs=0.01)  # kept, second
    assert "Baseline Requirements" in incomplete.summary and "no AIA URL" in incomplete.summary
    assert "root rather than an intermediate" in untrusted.summary
    assert incomplete.summary != untrusted.summary
    assert "not trust" not in incomplete.summary and "leaves out" not in untrusted.summary
    ranked = [c.id for c in evaluate(Facts(no_aia), RULES)]
    assert ranked[:2] == ["cert-chain-incomplete", "cert-untrusted"]


def test_lone_leaf_whose_aia_fetch_failed_says_so() -> None:
    gap = problem(K.INCOMPLETE_CHAIN)
    fetch = IssuerFetch(url="http://ca.test/i.der", outcome=FetchOutcome.CONNECT_FAILED, detail="refused")
    results = (
        refused(20),
        CheckResult(
            id="certificate",
            status=Status.FAIL,
            summary="",
            observations=(info(ca_issuers=("http://ca.test/i.der",)), fetch, gap),
        ),
    )
    match = CERT_CHAIN_INCOMPLETE.match(Facts(results))
    assert match is not None and match.confidence == pytest.approx(0.81, abs=0.01)
    assert "http://ca.test/i.der gave no certificate (connect-failed)" in match.summary


def test_gap_above_a_sent_intermediate_is_an_untrusted_ca_first() -> None:
    """Near miss of the above: the server sent its intermediate; what is missing is above it."""
    gap = problem(K.INCOMPLETE_CHAIN, index=1)
    intermediate = dataclasses.replace(info(index=1), is_ca=True, subject="CN=Issuing CA", issuer="CN=Root")
    results = (refused(20), cert(intermediate, gap))
    ranked = [(c.id, c.confidence) for c in evaluate(Facts(results), RULES)]
    assert ranked[0] == ("cert-untrusted", pytest.approx(0.855, abs=0.01))
    assert ranked[1] == ("cert-chain-incomplete", pytest.approx(0.475, abs=0.01))


def test_fetched_issuer_settles_it() -> None:
    confirmed = problem(K.INCOMPLETE_CHAIN, confirmed=True)
    fetch = IssuerFetch(url="http://ca.test/i.der", outcome=FetchOutcome.OK, completes_chain=True)
    results = (refused(20), cert(fetch, confirmed))
    match = CERT_CHAIN_INCOMPLETE.match(Facts(results))
    assert match is not None and match.confidence == 0.95 and "http://ca.test/i.der" in match.summary
    assert CERT_UNTRUSTED.match(Facts(results)) is None
    untrusted_root = (refused(20), cert(problem(K.UNTRUSTED_ROOT)))
    assert confidence(CERT_UNTRUSTED, *untrusted_root) == 0.95
    assert confidence(CERT_CHAIN_INCOMPLETE, *untrusted_root) is None


def test_revoked() -> None:
    revoked = RevocationCheck(
        index=0,
        subject="CN=x",
        responder="http://ocsp.test",
        state=RevocationState.REVOKED,
        revoked_at=NOW - DAY,
        reason="keyCompromise",
    )
    good = RevocationCheck(index=0, subject="CN=x", responder="http://ocsp.test", state=RevocationState.GOOD)
    assert confidence(CERT_REVOKED, cert(revoked)) == 0.95
    assert confidence(CERT_REVOKED, refused(23)) == 0.9
    assert confidence(CERT_REVOKED, cert(good)) is None


def test_weak() -> None:
    policy = CheckResult(
        id="handshake",
        status=Status.FAIL,
        summary="",
        observations=(
            hs("default", HandshakeOutcome.LOCAL_REJECT, error="[SSL: EE_KEY_TOO_SMALL] ee key too small"),
            hs("no-verify", OK),
        ),
    )
    assert confidence(CERT_WEAK, policy, cert(problem(K.WEAK_KEY))) == 0.95
    assert confidence(CERT_WEAK, policy) == 0.8
    assert confidence(CERT_WEAK, connected(), cert(problem(K.WEAK_SIGNATURE), status=Status.WARN)) == 0.35
    assert confidence(CERT_WEAK, connected(), cert(problem(K.EXPIRES_SOON), status=Status.WARN)) is None


def test_interception() -> None:
    box = problem(K.INTERCEPTION, index=1, product="Zscaler", source="Zscaler Help")
    results = (refused(20), cert(box, problem(K.INCOMPLETE_CHAIN, index=1)))
    assert confidence(TLS_INTERCEPTION, *results) == 0.9
    assert confidence(CERT_UNTRUSTED, *results) is not None
    assert evaluate(Facts(results), RULES)[0].id == "tls-interception"
    assert confidence(TLS_INTERCEPTION, connected(), cert(box)) == 0.45
    assert confidence(TLS_INTERCEPTION, cert(problem(K.FINGERPRINT_MISMATCH))) == 0.9


def test_interception_near_misses() -> None:
    assert confidence(TLS_INTERCEPTION, connected(), cert(problem(K.FRESH_LEAF), status=Status.WARN)) == 0.2
    fresh_self_signed = (refused(18), cert(problem(K.FRESH_LEAF), problem(K.SELF_SIGNED)))
    assert confidence(TLS_INTERCEPTION, *fresh_self_signed) == 0.35
    # A fresh leaf is only a hint: it never outranks the untrusted chain it sits beside (issue 9 item 5).
    assert [c.id for c in evaluate(Facts(fresh_self_signed), RULES)] == ["cert-untrusted", "tls-interception"]
    fresh_gap = (refused(20), cert(problem(K.FRESH_LEAF), problem(K.INCOMPLETE_CHAIN)))
    ranked = [c.id for c in evaluate(Facts(fresh_gap), RULES)]
    assert ranked == ["cert-chain-incomplete", "cert-untrusted", "tls-interception"]
    assert confidence(TLS_INTERCEPTION, refused(18), cert(problem(K.SELF_SIGNED))) is None


def test_a_fresh_leaf_sent_for_any_name_is_no_interception_hint() -> None:
    """A certificate made a minute ago (openssl req -x509 before a test, a new deployment) that the
    server also sends for an unrelated name was not minted per name on the path: no hint at all. A
    different leaf for that name keeps the hint (a proxy inspecting only some names passes it through)."""
    leaf, other = b"\x30\x82leaf", b"\x30\x82other"

    def chains(unrelated: bytes) -> CheckResult:
        sent = (
            PeerChain(variant="no-verify", servername="example.test", chain=(leaf,)),
            PeerChain(variant=UNRELATED_VARIANT, servername="unrelated.example.com", chain=(unrelated,)),
        )
        return CheckResult(id="handshake.fetch", status=Status.PASS, summary="", observations=sent)

    fresh_self_signed = (refused(18), cert(problem(K.FRESH_LEAF), problem(K.SELF_SIGNED)))
    assert confidence(TLS_INTERCEPTION, *fresh_self_signed, chains(leaf)) is None
    assert [c.id for c in evaluate(Facts((*fresh_self_signed, chains(leaf))), RULES)] == ["cert-untrusted"]
    assert confidence(TLS_INTERCEPTION, *fresh_self_signed, chains(other)) == 0.35


def test_client_ca_store_empty() -> None:
    empty = TrustStoreInfo(source="system", anchors=0, detail="neither file exists")
    results = (refused(20), cert(empty, problem(K.INCOMPLETE_CHAIN)))
    assert confidence(CLIENT_CA_STORE, *results) == 0.9
    assert evaluate(Facts(results), RULES)[0].id == "client-ca-store"
    full = TrustStoreInfo(source="system", anchors=140, cafile="/etc/ssl/certs/ca-certificates.crt")
    assert confidence(CLIENT_CA_STORE, refused(20), cert(full, problem(K.INCOMPLETE_CHAIN))) is None


def test_ca_file_naming_a_private_ca_is_not_client_ca_store() -> None:
    """Issue 9 item 5: --ca-file is the user saying whom they trust; the system store lacking it is a note."""
    by_file = ChainValidation(store="ca-file:/tmp/ca.pem", anchors=1, name="example.test", at=NOW, valid=True)
    by_system = ChainValidation(
        store="system", anchors=140, name="example.test", at=NOW, valid=False, error="candidates exhausted"
    )
    ca_file = TrustStoreInfo(source="ca-file", anchors=1, cafile="/tmp/ca.pem")
    assert (
        confidence(CLIENT_CA_STORE, connected(), cert(ca_file, by_file, by_system, status=Status.PASS))
        is None
    )
    assert confidence(CLIENT_CA_STORE, refused(20), cert(ca_file, by_file, by_system)) is None
    # Even an empty system store is not the cause when the user named their own anchors.
    empty = TrustStoreInfo(source="system", anchors=0, cafile=None, capath=None)
    assert confidence(CLIENT_CA_STORE, refused(20), cert(ca_file, empty, by_system)) is None
    assert confidence(CLIENT_CA_STORE, refused(20), cert(empty, by_system)) == 0.9


def test_healthy_chain_matches_nothing() -> None:
    results = (connected(), cert(status=Status.PASS), clock(0.3))
    assert evaluate(Facts(results), RULES) == []


def test_known_bad_root_is_interception_even_when_trusted() -> None:
    """Issue 9 item 11: a chain through a root whose key is public was minted on the path."""
    exact = problem(K.LEAKED_ROOT, index=1, product="Superfish", identified_by="fingerprint")
    by_name = problem(K.LEAKED_ROOT, index=1, product="Superfish", identified_by="subject")
    assert confidence(TLS_INTERCEPTION, refused(19), cert(exact)) == 0.95
    assert confidence(TLS_INTERCEPTION, connected(), cert(exact)) == 0.9
    assert confidence(TLS_INTERCEPTION, refused(19), cert(by_name)) == 0.85
    assert confidence(TLS_INTERCEPTION, connected(), cert(by_name)) == 0.6
    untrusted = (refused(19), cert(by_name, problem(K.UNTRUSTED_ROOT, index=1)))
    assert evaluate(Facts(untrusted), RULES)[0].id == "tls-interception"
    assert confidence(CERT_UNTRUSTED, *untrusted) == 0.6
    # Near miss: an untrusted private root with no incident behind it stays cert-untrusted.
    plain = (refused(19), cert(problem(K.UNTRUSTED_ROOT, index=1)))
    assert [c.id for c in evaluate(Facts(plain), RULES)] == ["cert-untrusted"]


def test_healthy_names_what_was_noted() -> None:
    """Issue 9 item 5: never "every check passed" above a warn row."""
    note = problem(K.STRICT_PROFILE, index=-1)
    verdict, causes = diagnose([connected(), cert(note, status=Status.WARN)], RULES)
    assert verdict is Verdict.HEALTHY and causes[0].id == "healthy"
    assert causes[0].summary.startswith("no fault found; noted: certificate")
    assert "every check passed" not in causes[0].summary
    verdict, causes = diagnose([connected(), cert(status=Status.PASS)], RULES)
    assert verdict is Verdict.HEALTHY and causes[0].summary == "every check passed; no fault found"


def test_healthy_summary_is_the_contracts_when_nothing_was_noted() -> None:
    from tlsdoctor.inference.causes import CauseId, info
    from tlsdoctor.model import HEALTHY_SUMMARY

    assert info(CauseId.HEALTHY).summary == HEALTHY_SUMMARY


def test_a_refusal_no_cause_names_is_a_low_untrusted_candidate() -> None:
    """The client refused (an invalid CA, an unsuitable purpose) and nothing else explains it."""
    refusal = problem(K.REJECTED, index=-1)
    verdict, causes = diagnose([refused(79), cert(refusal)], RULES)
    assert verdict is Verdict.INCONCLUSIVE and causes[0].id == "cert-untrusted"
    assert causes[0].confidence == 0.45 and causes[0].summary == refusal.detail
    # Near miss: a finding that names the failure wins, and the refusal adds no second reading.
    assert confidence(CERT_UNTRUSTED, refused(10), cert(EXPIRED_3_DAYS, refusal)) is None


def test_healthy_line_with_a_hostile_subject_reaches_the_terminal_escaped() -> None:
    """The healthy summary quotes a warned check, whose text may carry a server's certificate subject."""
    import io

    from rich.console import Console

    from tlsdoctor.model import Report
    from tlsdoctor.report import human

    warned = CheckResult(id="certificate", status=Status.WARN, summary="CN=\x1b[2Jevil\u202e: no keyUsage")
    verdict, causes = diagnose([connected(), warned], RULES)
    report = Report(
        command="diagnose",
        target=None,
        verdict=verdict,
        causes=tuple(causes),
        checks=(warned,),
        duration_ms=1,
    )
    out = io.StringIO()
    human.render(report, Console(file=out, width=200, force_terminal=True, color_system=None))
    text = out.getvalue()
    assert "No fault found; noted: certificate: CN=\\x1b[2Jevil\\u202e" in text
    assert "\x1b" not in text and "\u202e" not in text
