"""The certificate endpoints of tlsdoctor.testing, diagnosed by the real handshake and certificate checks.

Handshakes (default and no-verify) run against the local server; their PeerChains feed
CertificateCheck; the certificate and clock rules must name the endpoint's expected cause first.
"""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from tlsdoctor.checks.certificate import CertificateCheck
from tlsdoctor.checks.handshake import DEFAULT, VARIANTS, HandshakeCheck
from tlsdoctor.clock import FixedClock
from tlsdoctor.context import Context, Options
from tlsdoctor.inference.engine import evaluate
from tlsdoctor.inference.facts import Facts
from tlsdoctor.inference.rules import cert
from tlsdoctor.inference.rules.clock import CLIENT_CLOCK_SKEW
from tlsdoctor.model import CheckResult, Status
from tlsdoctor.net.route import Route
from tlsdoctor.observations.cert import ClockOffset
from tlsdoctor.observations.tls import PeerChain
from tlsdoctor.testing import running

RULES = (*cert.RULES, CLIENT_CLOCK_SKEW)  # as the cause table orders them
NO_VERIFY = next(v for v in VARIANTS if v.name == "no-verify")


async def diagnose_cert(
    name: str, clock_offset: float | None = None, now: dt.datetime | None = None
) -> tuple[list[CheckResult], list[str]]:
    with running(name) as servers:
        server = servers[name]
        ctx = Context(
            options=Options(host=server.servername, port=server.port, ca_file=server.ca_file, timeout=3.0),
            clock=FixedClock(now or dt.datetime.now(dt.UTC)),
        )
        route = Route(address="127.0.0.1")
        hs = [await HandshakeCheck(variant=v, route=route).run(ctx) for v in (DEFAULT, NO_VERIFY)]
        chains = [o for r in hs for o in r.observations if isinstance(o, PeerChain)]
        cert = await CertificateCheck(chains).run(ctx)
    results = [*hs, cert]
    if clock_offset is not None:
        results.append(
            CheckResult(
                id="clock",
                status=Status.FAIL,
                summary="",
                observations=(ClockOffset(source="127.0.0.1", offset_s=clock_offset, rtt_ms=1.0),),
            )
        )
    return results, [c.id for c in evaluate(Facts(results), RULES) if c.confidence >= 0.5]


@pytest.mark.parametrize(
    ("endpoint", "expected"),
    [
        ("expired", "cert-expired"),
        ("not-yet-valid", "cert-not-yet-valid"),
        ("wrong-host", "cert-hostname-mismatch"),
        ("self-signed", "cert-untrusted"),
        ("missing-intermediate", "cert-chain-incomplete"),
        ("weak-key", "cert-weak"),
        ("sha1-signature", "cert-weak"),
    ],
)
def test_endpoint_names_its_cause(endpoint: str, expected: str) -> None:
    results, causes = asyncio.run(diagnose_cert(endpoint))
    assert causes and causes[0] == expected, (causes, [r.summary for r in results])
    if endpoint == "missing-intermediate":
        assert "cert-untrusted" not in causes


def test_healthy_endpoint_matches_no_certificate_cause() -> None:
    results, causes = asyncio.run(diagnose_cert("healthy"))
    assert causes == [], [r.summary for r in results]
    assert results[-1].status is Status.PASS


def test_expired_endpoint_with_a_fast_clock_is_clock_skew() -> None:
    # The leaf expired 2 days ago; a local clock 5 days fast (NTP says 5 days earlier) explains it.
    _, causes = asyncio.run(diagnose_cert("expired", clock_offset=-5 * 86400.0))
    assert causes[0] == "client-clock-skew", causes
