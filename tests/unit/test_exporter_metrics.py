"""A probe's answer in the Prometheus text format: names, values, and hostile text kept harmless."""

from __future__ import annotations

import datetime

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from prometheus_client.parser import text_string_to_metric_families

from tlsdoctor.exporter.metrics import MAX_LABEL, exposition, label, layer_of
from tlsdoctor.exporter.probe import Path, ProbeResult
from tlsdoctor.model import Cause, CheckResult, Report, Status, TargetInfo, Verdict
from tlsdoctor.observations.tcp import ConnectOutcome, TcpConnect
from tlsdoctor.observations.tls import HandshakeAttempt, HandshakeOutcome, PeerChain

HOSTILE = 'banner "quoted" \\ back\nslash \x1b[2J\x07 \u202eevil \udcff'


def samples(text: bytes) -> dict[str, list[tuple[dict[str, str], float]]]:
    """name -> [(labels, value)], parsed by prometheus-client's own parser (as Prometheus would)."""
    out: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text.decode("utf-8")):
        for sample in family.samples:
            out.setdefault(sample.name, []).append((sample.labels, sample.value))
    return out


def result_of(report: Report, path: str = Path.FULL) -> ProbeResult:
    return ProbeResult(
        id="1",
        target="example.test:443",
        module="default",
        report=report,
        path=path,
        started=0,
        duration_s=0.25,
    )


def checks(outcome: HandshakeOutcome, chain: tuple[bytes, ...] = ()) -> tuple[CheckResult, ...]:
    tcp = TcpConnect(
        address="192.0.2.1", port=443, family="ipv4", outcome=ConnectOutcome.CONNECTED, elapsed_ms=12
    )
    attempt = HandshakeAttempt(
        variant="default",
        address="192.0.2.1",
        port=443,
        servername="example.test",
        outcome=outcome,
        elapsed_ms=40,
        version="TLSv1.3" if outcome is HandshakeOutcome.OK else None,
        cipher="TLS_AES_128_GCM_SHA256" if outcome is HandshakeOutcome.OK else None,
        group="X25519MLKEM768" if outcome is HandshakeOutcome.OK else None,
    )
    observed = [tcp, attempt]
    if chain:
        observed.append(PeerChain(variant="default", servername="example.test", chain=chain))
    return (
        CheckResult(id="dns.system", status=Status.PASS, summary="", duration_ms=3),
        CheckResult(id="handshake.default", status=Status.PASS, summary="", observations=tuple(observed)),
    )


def test_a_healthy_answer() -> None:
    ca = trustme.CA()
    leaf = ca.issue_cert("example.test", not_after=datetime.datetime(2031, 1, 2, tzinfo=datetime.UTC))
    pem = leaf.cert_chain_pems[0].bytes()
    chain = (x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER),)
    report = Report(
        command="diagnose",
        target=TargetInfo(host="example.test", port=443),
        verdict=Verdict.HEALTHY,
        causes=(Cause(id="healthy", confidence=1.0, summary="every check passed; no fault found"),),
        checks=checks(HandshakeOutcome.OK, chain),
        duration_ms=55,
    )
    got = samples(exposition(result_of(report, Path.FAST)))
    assert got["tlsdoctor_probe_success"] == [({}, 1.0)]
    assert got["tlsdoctor_probe_complete"] == [({}, 1.0)]
    assert got["tlsdoctor_probe_full_path"] == [({}, 0.0)]
    assert got["tlsdoctor_cause"] == [({"cause": "healthy", "layer": "-"}, 1.0)]
    phases = {labels["phase"]: value for labels, value in got["tlsdoctor_phase_duration_seconds"]}
    assert phases == {"resolve": 0.003, "connect": 0.012, "tls": 0.04}
    assert got["tlsdoctor_tls_info"] == [
        ({"version": "TLSv1.3", "cipher": "TLS_AES_128_GCM_SHA256", "group": "X25519MLKEM768"}, 1.0)
    ]
    expiry = datetime.datetime(2031, 1, 2, tzinfo=datetime.UTC).timestamp()
    assert got["tlsdoctor_cert_expiry_timestamp_seconds"] == [({}, expiry)]


def test_a_fault_lists_every_candidate_with_its_layer_and_confidence() -> None:
    report = Report(
        command="diagnose",
        target=TargetInfo(host="example.test", port=443),
        verdict=Verdict.FAULT,
        causes=(
            Cause(id="firewall-reset", confidence=0.9, summary="reset"),
            Cause(id="server-closed", confidence=0.4, summary="closed"),
        ),
        checks=checks(HandshakeOutcome.RESET),
        duration_ms=700,
    )
    got = samples(exposition(result_of(report)))
    assert got["tlsdoctor_probe_success"] == [({}, 0.0)]
    assert got["tlsdoctor_cause"] == [
        ({"cause": "firewall-reset", "layer": "middlebox"}, 0.9),
        ({"cause": "server-closed", "layer": "server"}, 0.4),
    ]
    assert "tlsdoctor_tls_info" not in got  # nothing was negotiated
    assert got["tlsdoctor_report_info"][0][0]["cause"] == "firewall-reset"


def test_a_partial_answer_is_never_success() -> None:
    report = Report(
        command="diagnose",
        target=None,
        verdict=Verdict.HEALTHY,
        causes=(Cause(id="healthy", confidence=1.0, summary=""),),
        checks=(),
        duration_ms=1,
    )
    got = samples(exposition(result_of(report, Path.PARTIAL)))
    assert got["tlsdoctor_probe_success"] == [({}, 0.0)]
    assert got["tlsdoctor_probe_complete"] == [({}, 0.0)]


def test_hostile_text_is_escaped_and_bounded() -> None:
    summary = HOSTILE + "x" * 5000
    report = Report(
        command="diagnose",
        target=None,
        verdict=Verdict.FAULT,
        causes=(Cause(id="server-not-tls", confidence=0.8, summary=summary),),
        checks=(),
        duration_ms=1,
    )
    text = exposition(result_of(report))
    assert b"\x1b" not in text and b"\x07" not in text and "\u202e".encode() not in text
    shown = samples(text)["tlsdoctor_report_info"][0][0]["summary"]
    assert len(shown) == MAX_LABEL
    assert shown.startswith('banner "quoted" \\ back\\nslash \\x1b[2J\\x07 \\u202eevil \\udcff')
    assert shown.endswith("...")


@pytest.mark.parametrize(
    ("cause", "layer"), [("healthy", "-"), ("cert-expired", "cert"), ("nonsense", "unknown")]
)
def test_layers_come_from_the_cause_table(cause: str, layer: str) -> None:
    assert layer_of(cause) == layer


def test_label_of_nothing() -> None:
    assert label(None) == ""
