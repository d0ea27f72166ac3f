"""How `diagnose --capture` adds the wire to a finished diagnosis (commands/capture.with_wire_evidence),
with flows read from recorded captures: a decisive flow of the same cause is quoted, a candidate is not,
and the flows never change the verdict the probes reached."""

from __future__ import annotations

from pathlib import Path

from tlsdoctor.commands.capture import CHECK_ID, with_wire_evidence
from tlsdoctor.commands.pcap import run_pcap
from tlsdoctor.model import Cause, Evidence, Report, Verdict
from tlsdoctor.observations.capture import ProbeCapture
from tlsdoctor.pcap.analyse import FlowReport
from tlsdoctor.pcap.unseal import KeyLogDecrypter

GOLDEN = Path(__file__).parent.parent / "golden" / "keylog"
RECORDED = ProbeCapture(packets=12, bytes=4000, dropped=0, addresses=("127.0.0.1",), port=443)


def flows(name: str, keylog: bool) -> list[FlowReport]:
    found: list[FlowReport] = []
    decrypt = KeyLogDecrypter.from_file(GOLDEN / f"{name}.keys") if keylog else None
    run_pcap(GOLDEN / f"{name}.pcap", on_flow=found.append, decrypt=decrypt)
    return found


def report(cause_id: str) -> Report:
    cause = Cause(
        id=cause_id,
        confidence=0.9,
        summary="from the probes",
        evidence=(Evidence(check="handshake.default", observation="the probe's own"),),
    )
    verdict = Verdict.HEALTHY if cause_id == "healthy" else Verdict.FAULT
    return Report(
        command="diagnose", target=None, verdict=verdict, causes=(cause,), checks=(), duration_ms=1.0
    )


def wire(r: Report) -> list[str]:
    return [e.observation for e in r.causes[0].evidence if e.check == CHECK_ID]


def test_a_decisive_flow_of_the_same_cause_is_quoted_with_its_wire_words() -> None:
    out = with_wire_evidence(report("cert-expired"), RECORDED, flows("tls13-expired-gnutls", keylog=True))
    quoted = wire(out)
    assert quoted[0].startswith("captured flow #1 ") and "had expired" in quoted[0]
    assert any("sent alert bad_certificate (42)" in q and "expired on 2023-01-31" in q for q in quoted)
    assert any(q.startswith("decrypted with the key log:") for q in quoted)
    assert out.causes[0].evidence[0].check == "handshake.default"  # the probes' evidence stays first
    assert out.verdict is Verdict.FAULT and [c.id for c in out.causes] == ["cert-expired"]


def test_a_candidate_flow_adds_nothing() -> None:
    """Without the key log the capture's first cause is a candidate (cert-untrusted at 0.35): it proves
    nothing, even for a diagnosis of the same cause."""
    found = flows("tls13-expired-gnutls", keylog=False)
    assert found[0].causes[0].id == "cert-untrusted" and found[0].causes[0].confidence < 0.5
    assert wire(with_wire_evidence(report("cert-untrusted"), RECORDED, found)) == []


def test_a_flow_of_another_cause_adds_nothing() -> None:
    out = with_wire_evidence(report("firewall-reset"), RECORDED, flows("tls13-expired-gnutls", keylog=True))
    assert wire(out) == []


def test_healthy_cites_the_completed_flows_and_the_check_lists_them() -> None:
    out = with_wire_evidence(report("healthy"), RECORDED, flows("tls13-healthy", keylog=True))
    assert wire(out) == [
        "1 of 1 captured flow(s) completed: " + flows("tls13-healthy", keylog=True)[0].summary.describe()
    ]
    (check,) = [c for c in out.checks if c.id == CHECK_ID]
    assert "1 TLS flow(s): completed 1" in check.summary
    assert out.extra["capture"]["flows"][0]["outcome"] == "completed"
