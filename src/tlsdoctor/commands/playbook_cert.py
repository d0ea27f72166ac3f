"""The playbook's certificate steps (commands/playbook.py): the chain as sent, other trust stores when the
client refused it, and the clock when a validity window is in question; each starts as early as the
default client's own verdict allows."""

from __future__ import annotations

from collections.abc import Sequence

from tlsdoctor import runner
from tlsdoctor.commands.playbook_reads import (
    chains,
    default,
    handshakes,
    no_route,
    route,
)
from tlsdoctor.graph import DROP, Reason, State
from tlsdoctor.model import CheckResult
from tlsdoctor.observations.cert import CertificateProblem, ChainValidation, ProblemKind
from tlsdoctor.observations.tls import HandshakeAttempt, HandshakeOutcome

# -- the certificate as sent, and the clock when validity is in question -----------------------------


async def run_certificate(st: State) -> Sequence[CheckResult]:
    from tlsdoctor.checks.certificate import CertificateCheck

    tried = [o for r in handshakes(st) for o in r.observations if isinstance(o, HandshakeAttempt)]
    pin = st.ctx.options.expect_fingerprint
    return [
        await runner.run_one(CertificateCheck(chains(st), attempts=tried, expect_fingerprint=pin), st.ctx)
    ]


def certificate_waits(st: State) -> tuple[str, ...]:
    """The default client's chain, else the no-verify one's, is what gets judged (CertificateCheck.pick):
    the rest of the variants matter only when neither handshake got one."""
    return () if chains(st) else ("variants",)


def skip_certificate(st: State) -> Reason:
    return None if chains(st) else DROP


async def run_stores(st: State) -> Sequence[CheckResult]:
    """The client's store refused the chain: would another store here accept it?"""
    from tlsdoctor.checks.certificate import CertificateCheck
    from tlsdoctor.checks.stores import TrustStoresCheck

    found = chains(st)
    chain = CertificateCheck(found).pick() or found[0]
    return [await runner.run_one(TrustStoresCheck(chain), st.ctx)]


def client_refused(st: State) -> bool:
    first = default(st)
    return first is not None and first.outcome is HandshakeOutcome.VERIFY_FAILED


def stores_waits(st: State) -> tuple[str, ...]:
    """Other stores are read as soon as the default client refused the chain, beside the certificate
    check; otherwise only when that check says the chain does not validate."""
    return () if client_refused(st) and chains(st) else ("certificate",)


def chain_invalid(st: State) -> bool | None:
    judged = [o for r in st.results("certificate") for o in r.observations if isinstance(o, ChainValidation)]
    return (not judged[0].valid) if judged else None


def skip_stores(st: State) -> Reason:
    if not st.finished("certificate"):
        return None if client_refused(st) and chains(st) else DROP
    return None if chain_invalid(st) else DROP


def moot_stores(st: State) -> Reason:
    if no_route(st):
        return DROP
    return DROP if st.finished("certificate") and not chain_invalid(st) else None


VALIDITY_CODES = frozenset({9, 10})  # X509_V_ERR_CERT_NOT_YET_VALID, X509_V_ERR_CERT_HAS_EXPIRED


def validity_in_question(st: State) -> bool:
    """The certificate check found a validity window failed (or, before it has judged, the default
    client's own verification said so)."""
    if not st.finished("certificate"):
        first = default(st)
        return first is not None and first.verify_code in VALIDITY_CODES
    return any(
        isinstance(o, CertificateProblem) and o.problem in (ProblemKind.EXPIRED, ProblemKind.NOT_YET_VALID)
        for r in st.results("certificate")
        for o in r.observations
    )


def clock_waits(st: State) -> tuple[str, ...]:
    """The clock starts as soon as the default client said "expired" or "not yet valid"; otherwise the
    certificate check decides whether it matters."""
    return () if validity_in_question(st) else ("certificate",)


async def run_clock(st: State) -> Sequence[CheckResult]:
    """NTP when configured, and the server's own Date header, which needs no NTP."""
    from tlsdoctor.checks.clock import ClockCheck
    from tlsdoctor.checks.httpdate import HttpDateCheck

    if validity_in_question(st):
        found = route(st)
        checks: list[runner.Check] = [ClockCheck()]
        if found is not None:
            checks.append(HttpDateCheck(found))
        return await runner.run(checks, st.ctx)
    return await runner.run([ClockCheck()], st.ctx)


def skip_clock(st: State) -> Reason:
    """The clock matters when asked for, or when a validity window is what failed: only then can skew,
    not the certificate, be the cause. An unreachable NTP server costs nothing otherwise."""
    if route(st) is None:
        return DROP
    if validity_in_question(st) or st.ctx.options.ntp:
        return None
    return CLOCK_NOT_NEEDED


def moot_clock(st: State) -> Reason:
    """Started on the default client's word, and the certificate check found no validity problem."""
    if no_route(st):
        return DROP
    if st.finished("certificate") and not validity_in_question(st) and not st.ctx.options.ntp:
        return CLOCK_NOT_NEEDED
    return None


CLOCK_NOT_NEEDED = "not needed: no certificate validity problem (use --ntp to force)"
