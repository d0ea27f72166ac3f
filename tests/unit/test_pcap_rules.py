"""The capture's readings (inference/rules/capture.py), each with a positive and a near miss, and the engine
weighing them into the cause's one rule."""

from __future__ import annotations

from typing import Any

import pytest
from helpers import facts, hs

from tlsdoctor.inference.causes import CauseId
from tlsdoctor.inference.engine import evaluate
from tlsdoctor.inference.rules import RULES, capture
from tlsdoctor.observations.path import ResetOrigin
from tlsdoctor.observations.pcap import CapturedFlow, ClientAbort, ClientAlert, FlightStall, FlowIcmp
from tlsdoctor.observations.pcap import FlowOutcome as F
from tlsdoctor.observations.tls import HandshakeOutcome as H


def flow(outcome: F, **fields: Any) -> CapturedFlow:
    fields.setdefault("after", "the client's ClientHello")
    fields.setdefault("after_ms", 3.0)
    return CapturedFlow(
        client="198.18.0.1:40000", server="198.18.0.10:443", sni="example.test", outcome=outcome, **fields
    )


def origin(verdict: str, rst_ttl: int = 250) -> ResetOrigin:
    return ResetOrigin(
        address="198.18.0.10", port=443, verdict=verdict, method="capture", syn_ack_ttl=60, rst_ttl=rst_ttl
    )


def alert(name: str, code: int, *issues: str) -> ClientAlert:
    return ClientAlert(
        client="c",
        server="s",
        alert=name,
        code=code,
        after="the server's ServerHelloDone",
        chain=("CN=x (issued by CN=y)",) if issues else (),
        chain_issues=issues,
    )


def abort(tls13: bool = True) -> ClientAbort:
    return ClientAbort(
        client="c", server="s", how="FIN", after="the server's encrypted records", after_ms=2.0, tls13=tls13
    )


def stall(icmp: int = 0, smaller: bool = True) -> FlightStall:
    return FlightStall(
        sender="server",
        segment_size=1448,
        lost_segments=2,
        retransmissions=6,
        smaller_acked=smaller,
        icmp_frag_needed=icmp,
        mss=1460,
    )


EXPIRED = "the leaf expired on 2020-01-01, before the capture"
NOT_YET = "the leaf is valid only from 2030-01-01, after the capture"
VALID = "valid at the capture time (2026-12-07), chain of 2, covers example.test"
LEAF_ONLY = "the server sent only the leaf, not its issuer"
SELF = "the leaf is self-signed"
NAME = "the leaf does not cover example.test (its names: other.test)"

# reading, its positive observations, the least confidence; a near miss (no match, or under 0.5)
CASES: list[tuple[str, tuple[Any, ...], float, tuple[Any, ...]]] = [
    ("firewall_reset", (flow(F.RESET), origin("injected")), 0.9, (flow(F.RESET), origin("server", 60))),
    ("server_closed", (flow(F.SERVER_CLOSED),), 0.75, (flow(F.NO_ANSWER),)),
    ("server_closed", (flow(F.RESET), origin("server", 60)), 0.75, (flow(F.RESET), origin("unknown"))),
    ("firewall_drop", (flow(F.NO_ANSWER, retransmits_client=3),), 0.65, (flow(F.STALLED),)),
    ("path_mtu_blackhole", (stall(),), 0.8, (flow(F.COMPLETED),)),
    ("path_mtu_blackhole", (stall(icmp=2),), 0.55, (flow(F.STALLED),)),
    (
        "cipher_mismatch",
        (flow(F.SERVER_ALERT), hs("default", H.ALERT, alert="handshake_failure")),
        0.7,
        (flow(F.SERVER_ALERT, version="TLSv1.2"), hs("default", H.ALERT, alert="handshake_failure")),
    ),
    (
        "protocol_mismatch",
        (flow(F.CLIENT_ALERT, version="TLSv1.0"), alert("protocol_version", 70)),
        0.75,
        (flow(F.CLIENT_ALERT, version="TLSv1.2"), alert("handshake_failure", 40)),
    ),
    (
        "protocol_mismatch",
        (
            flow(F.SERVER_ALERT, offered_versions=("TLSv1.3",)),
            hs("default", H.ALERT, alert="protocol_version"),
        ),
        0.75,
        (flow(F.SERVER_ALERT), hs("default", H.ALERT, alert="handshake_failure")),
    ),
    ("client_tls_policy", (alert("insufficient_security", 71),), 0.5, (alert("unknown_ca", 48),)),
    (
        "cert_expired",
        (alert("certificate_expired", 45, EXPIRED),),
        0.85,
        (alert("certificate_expired", 45, VALID),),
    ),
    (
        "cert_expired",
        (alert("bad_certificate", 42, EXPIRED),),
        0.85,
        (alert("bad_certificate", 42, NOT_YET),),
    ),
    (
        "cert_not_yet_valid",
        (alert("bad_certificate", 42, NOT_YET),),
        0.85,
        (alert("bad_certificate", 42, VALID),),
    ),
    (
        "client_clock_skew",
        (alert("certificate_expired", 45, VALID),),
        0.65,
        (alert("certificate_expired", 45, EXPIRED),),
    ),
    ("cert_revoked", (alert("certificate_revoked", 44),), 0.8, (alert("certificate_expired", 45),)),
    ("cert_untrusted", (alert("unknown_ca", 48, SELF),), 0.8, (alert("unknown_ca", 48, LEAF_ONLY),)),
    ("cert_untrusted", (alert("unknown_ca", 48),), 0.7, (alert("bad_certificate", 42, NAME),)),
    ("cert_chain_incomplete", (alert("unknown_ca", 48, LEAF_ONLY),), 0.7, (alert("unknown_ca", 48, SELF),)),
    (
        "cert_hostname_mismatch",
        (alert("bad_certificate", 42, NAME),),
        0.75,
        (alert("bad_certificate", 42, VALID),),
    ),
    ("cert_weak", (alert("unsupported_certificate", 43),), 0.55, (alert("bad_certificate", 42),)),
    (
        "client_cert_required",
        (flow(F.SERVER_ALERT, version="TLSv1.3"), hs("default", H.ALERT)),
        0.4,
        (flow(F.SERVER_ALERT, version="TLSv1.2"), hs("default", H.ALERT)),
    ),
    (
        "network_unstable",
        (flow(F.RESET, retransmits_client=3, retransmits_server=2),),
        0.45,
        (flow(F.COMPLETED, retransmits_client=3, retransmits_server=2),),
    ),
    (
        "host_unreachable",
        (
            flow(F.UNREACHABLE),
            FlowIcmp(kind_of="unreachable", code=1, mtu=0, sender="198.18.0.254", about="client"),
        ),
        0.85,
        (
            flow(F.SYN_TIMEOUT),
            FlowIcmp(kind_of="unreachable", code=1, mtu=0, sender="198.18.0.254", about="client"),
        ),
    ),
]


@pytest.mark.parametrize(("name", "positive", "least", "near"), CASES, ids=[c[0] for c in CASES])
def test_reading_positive_and_near_miss(
    name: str, positive: tuple[Any, ...], least: float, near: tuple[Any, ...]
) -> None:
    read = getattr(capture, name)
    m = read(facts(*positive))
    assert m is not None and m.confidence >= least, m
    miss = read(facts(*near))
    assert miss is None or miss.confidence < 0.5, miss


def test_a_tls13_abort_names_certificate_candidates_and_what_would_settle_it() -> None:
    found = {c.id: c for c in evaluate(facts(flow(F.CLIENT_ABORT, version="TLSv1.3"), abort()))}
    for cause in ("cert-untrusted", "cert-hostname-mismatch", "cert-expired"):
        assert cause in found and found[cause].confidence < 0.5
        assert "--keylog" in found[cause].summary and "diagnose" in found[cause].summary


def test_every_reading_names_a_cause_with_a_rule() -> None:
    ruled = {r.cause for r in RULES}
    assert set(capture.READINGS) <= ruled
    assert all(isinstance(c, CauseId) for c in capture.READINGS)


def test_engine_weighs_a_reading_into_its_rule() -> None:
    """The firewall-reset rule alone (one variant, an injected ResetOrigin) says 0.9 with a variants'
    summary; the capture's reading (0.92) leads and keeps the rule's evidence."""
    obs = (hs("default", H.RESET), origin("injected"), flow(F.RESET))
    top = evaluate(facts(*obs))[0]
    assert top.id == "firewall-reset" and top.confidence == 0.92
    assert "TTL 250" in top.summary and "forged" in top.summary
    assert any(e.check.startswith("handshake") for e in top.evidence)


def test_a_healthy_shape_reuses_the_engines_verdict() -> None:
    """The second flow of a shape already judged healthy gets the same verdict and cause as the engine
    gives it directly (analyse._HEALTHY_SHAPES)."""
    from pathlib import Path

    from tlsdoctor.inference.engine import diagnose
    from tlsdoctor.pcap import analyse
    from tlsdoctor.pcap.reader import Capture

    golden = Path(__file__).parent.parent / "golden" / "pcap"
    with Capture(golden / "healthy-tls12.pcap") as capture:
        first = next(iter(analyse.analyse_flows(capture, analyse.Totals())))
    assert analyse._shape(list(first.check.observations)) in analyse._HEALTHY_SHAPES
    with Capture(golden / "healthy-tls12.pcap") as capture:
        again = next(iter(analyse.analyse_flows(capture, analyse.Totals())))
    verdict, causes = diagnose([again.check])
    assert again.verdict is verdict and [c.id for c in again.causes] == [c.id for c in causes] == ["healthy"]
    assert again.causes[0].evidence == causes[0].evidence
