"""The Verified block of a healthy human report (report/verified.py, report/human.py), at a fixed width."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io

from rich.console import Console

from tlsdoctor.model import Cause, CheckResult, Report, Status, Verdict
from tlsdoctor.observations import CertificateInfo, ChainValidation, HandshakeAttempt, HandshakeOutcome
from tlsdoctor.observations.base import Observation
from tlsdoctor.observations.hello import HelloEnd, HelloProbe
from tlsdoctor.report import human
from tlsdoctor.report.verified import verified_items

NOW = dt.datetime(2026, 12, 7, tzinfo=dt.UTC)
EVIL = "CN=evil\x1b]52;c;QUFB\x07\u202e.test"


def leaf(
    subject: str = "CN=www.example.test", sans: tuple[str, ...] = ("DNS:*.example.test",)
) -> CertificateInfo:
    return CertificateInfo(
        index=0, subject=subject, issuer="CN=Example CA", serial="1", not_before=NOW,
        not_after=NOW + dt.timedelta(days=42), days_left=42.2, key_type="EC", key_bits=256,
        signature_hash="sha256", sans=sans, self_signed=False, is_ca=False, ca_issuers=(), ocsp=(),
        sha256="00",
    )  # fmt: skip


def report(*observations: Observation, verdict: Verdict = Verdict.HEALTHY) -> Report:
    check = CheckResult(id="c", status=Status.PASS, summary="", observations=observations)
    cause = Cause(id="healthy", confidence=1.0, summary="every check passed; no fault found")
    return Report(
        command="diagnose", target=None, verdict=verdict, causes=(cause,), checks=(check,), duration_ms=1.0
    )


def shake(outcome: HandshakeOutcome = HandshakeOutcome.OK, variant: str = "default") -> HandshakeAttempt:
    return HandshakeAttempt(
        variant=variant, address="198.18.0.10", port=443, servername="www.example.test", outcome=outcome,
        version="TLSv1.2", cipher="TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    )  # fmt: skip


CHAIN = ChainValidation(
    store="system", anchors=140, name="www.example.test", at=NOW, valid=True, path=("a", "b")
)


def test_each_item_from_the_observations() -> None:
    items = dict(verified_items(report(shake(), leaf(), CHAIN)))
    assert items["server"] == "198.18.0.10:443 as www.example.test"
    assert items["protocol"] == "TLSv1.2, TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"
    assert items["name"] == "www.example.test matched SAN DNS:*.example.test"
    assert items["valid until"] == "2027-01-18 (42 days left)"
    assert items["chain"] == "validates against the system store (2 certificates to the anchor)"


def probe(version: str = "TLSv1.3", name: str = "modern") -> HelloProbe:
    return HelloProbe(
        probe=name, shape="modern", address="198.18.0.10", port=443, sni="www.example.test",
        sni_role="target",
        hello_bytes=517, end=HelloEnd.SERVER_HELLO, version=version, cipher="TLS_AES_128_GCM_SHA256",
        group="X25519MLKEM768",
    )  # fmt: skip


def test_group_from_the_control_hello_when_both_are_tls13() -> None:
    tls13 = dataclasses.replace(shake(), version="TLSv1.3")
    items = dict(verified_items(report(tls13, probe())))
    assert items["group"] == "X25519MLKEM768 (the server's key share for our TLS 1.3 hello)"
    # Near misses: the default handshake was TLS 1.2 (its group is not this one); another probe's answer.
    assert "group" not in dict(verified_items(report(shake(), probe())))
    assert "group" not in dict(verified_items(report(tls13, probe(name="pq-large"))))


def test_near_misses_claim_nothing_unobserved() -> None:
    # A failed default handshake, a non-default variant, an invalid chain: none is "verified".
    failed = ChainValidation(store="system", anchors=1, name="x", at=NOW, valid=False, error="no")
    assert verified_items(report(shake(HandshakeOutcome.ALERT), shake(variant="tls1.2"), failed)) == []
    items = dict(verified_items(report(leaf())))
    assert "name" not in items and "chain" not in items and items["SANs"] == "DNS:*.example.test"


def test_rendered_escaped_on_a_healthy_report_only() -> None:
    out = io.StringIO()
    human.render(report(shake(), leaf(subject=EVIL), CHAIN), Console(file=out, width=80, color_system=None))
    text = out.getvalue()
    assert "Verified" in text and "\x1b" not in text and "\u202e" not in text
    assert "CN=evil\\x1b]52;c;QUFB\\x07\\u202e.test" in text
    out = io.StringIO()
    human.render(report(shake(), leaf(), CHAIN, verdict=Verdict.FAULT), Console(file=out, width=80))
    assert "Verified" not in out.getvalue()


def test_alpn_line_only_when_offered() -> None:
    offered = ("h2", "http/1.1")
    chosen = dataclasses.replace(shake(), alpn_offered=offered, alpn="h2")
    assert dict(verified_items(report(chosen)))["ALPN"] == "h2 (offered h2, http/1.1)"
    refused = dataclasses.replace(shake(), alpn_offered=offered)
    assert dict(verified_items(report(refused)))["ALPN"] == "none selected (offered h2, http/1.1)"
    # Near miss: nothing offered (not an HTTP target), so no line, even with a stray selection.
    assert "ALPN" not in dict(verified_items(report(dataclasses.replace(shake(), alpn="h2"))))
    # The server's choice is its own text: rendered escaped.
    evil = dataclasses.replace(shake(), alpn_offered=offered, alpn="h2\x1b[31m")
    out = io.StringIO()
    human.render(report(evil, leaf(), CHAIN), Console(file=out, width=100, color_system=None))
    text = out.getvalue()
    assert "\x1b" not in text and "ALPN" in text and "h2\\x1b[31m (offered h2, http/1.1)" in text
