"""Each recorded capture (tests/golden/pcap/, made by make_captures.py with tcpdump against the project's
endpoints) names the cause it shows, per flow and in the summary, through `tlsdoctor pcap`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tlsdoctor.cli import main
from tlsdoctor.commands.pcap import run_pcap
from tlsdoctor.model import Verdict

GOLDEN = Path(__file__).parent.parent / "golden" / "pcap"

# fixture -> (the flow's outcome, the cause ranked first, exit status)
FIXTURES: dict[str, tuple[str, str, int]] = {
    "healthy-tls13": ("completed", "healthy", 0),
    "healthy-tls12": ("completed", "healthy", 0),
    "refused": ("refused", "tcp-refused", 1),
    "reset-after-hello": ("reset", "firewall-reset", 1),
    "close-after-hello": ("server-closed", "server-closed", 1),
    "silent": ("no-answer", "firewall-drop", 1),
    "plain-http": ("not-tls", "server-not-tls", 1),
    "expired-tls12": ("client-alert", "cert-expired", 1),
    "not-yet-valid-tls12": ("client-alert", "cert-not-yet-valid", 1),
    "wrong-host-tls12": ("client-alert", "cert-hostname-mismatch", 1),
    "self-signed-tls12": ("client-alert", "cert-untrusted", 1),
    "untrusted-tls13": ("client-alert", "cert-untrusted", 1),
    "missing-intermediate-tls12": ("client-alert", "cert-chain-incomplete", 1),
    "tls10-only": ("server-alert", "protocol-mismatch", 1),
    "no-common-cipher": ("server-alert", "cipher-mismatch", 1),
    "client-cert-required-tls12": ("server-alert", "client-cert-required", 1),
    "client-cert-required-tls13": ("server-alert", "client-cert-required", 1),
    "sni-required": ("server-alert", "sni-required", 1),
    # the netns lab (make_lab_captures.py): curl through a fault in the middlebox, captured at the client
    "lab-healthy": ("completed", "healthy", 0),
    "lab-narrow-link": ("completed", "healthy", 0),
    "lab-inject-reset": ("reset", "firewall-reset", 1),
    "lab-drop-hello": ("no-answer", "firewall-drop", 1),
    "lab-mtu-blackhole": ("stalled", "path-mtu-blackhole", 1),
    "lab-host-unreachable": ("unreachable", "host-unreachable", 1),
    "lab-tcp-timeout": ("syn-timeout", "tcp-timeout", 1),
}


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_fixture_names_its_cause(name: str) -> None:
    outcome, cause, status = FIXTURES[name]
    report = run_pcap(GOLDEN / f"{name}.pcap")
    flows = report.extra["flows"]
    assert [f["outcome"] for f in flows] == [outcome]
    assert flows[0]["causes"][0]["id"] == cause
    assert report.causes[0].id == cause
    assert report.exit_status == status
    assert flows[0]["events"], "every flow has a timeline"


def test_every_fixture_file_is_in_the_table() -> None:
    assert {p.stem for p in GOLDEN.glob("*.pcap")} <= set(FIXTURES) | {
        p.stem for p in GOLDEN.glob("lab-*.pcap")
    }


def test_injected_reset_is_told_by_its_ttl() -> None:
    """The endpoint's RST carries TTL 250 while its SYN-ACK has loopback's 64: the capture says forged."""
    flow = run_pcap(GOLDEN / "reset-after-hello.pcap").extra["flows"][0]
    top = flow["causes"][0]
    assert top["confidence"] >= 0.9
    assert "TTL 250" in top["summary"] and "64" in top["summary"]
    rst = [e for e in flow["events"] if e["what"].startswith("RST")]
    assert rst and rst[0]["from"] == "server" and "unlike the server's other packets (64)" in rst[0]["what"]


def test_lab_reset_forged_one_hop_away() -> None:
    """mid forges the RST with its own TTL 64; nginx's packets cross mid and arrive with 63."""
    flow = run_pcap(GOLDEN / "lab-inject-reset.pcap").extra["flows"][0]
    assert "TTL 64" in flow["causes"][0]["summary"] and "TTL 63" in flow["causes"][0]["summary"]


def test_lab_black_hole_is_the_hole_in_the_server_flight() -> None:
    flow = run_pcap(GOLDEN / "lab-mtu-blackhole.pcap").extra["flows"][0]
    assert "never arrived" in flow["causes"][0]["summary"]
    assert any("after a hole of" in e["what"] for e in flow["events"])


def test_timeline_of_a_healthy_tls13_handshake() -> None:
    flow = run_pcap(GOLDEN / "healthy-tls13.pcap").extra["flows"][0]
    whats = [e["what"].split(" (")[0] for e in flow["events"]]
    for step in ("SYN", "SYN-ACK", "ClientHello", "ServerHello", "encrypted handshake"):
        assert step in whats
    assert whats.index("SYN") < whats.index("ClientHello") < whats.index("ServerHello")
    hello = next(e for e in flow["events"] if e["what"].startswith("ClientHello"))
    assert "SNI localhost" in hello["what"] and "versions TLSv1.3" in hello["what"]
    assert flow["version"] == "TLSv1.3" and flow["rtt_ms"] is not None
    t = [e["t_ms"] for e in flow["events"]]
    assert t == sorted(t) and t[0] == 0


def test_certificate_is_read_from_a_tls12_flight() -> None:
    flow = run_pcap(GOLDEN / "expired-tls12.pcap").extra["flows"][0]
    cert = next(e for e in flow["events"] if e["what"].startswith("Certificate"))
    assert (
        "leaf CN=localhost" in cert["what"] and "issuer CN=tlsdoctor testing intermediate CA" in cert["what"]
    )
    alert = next(e for e in flow["events"] if e["what"].startswith("alert"))
    assert alert["from"] == "client" and "certificate_expired (45)" in alert["what"]


def test_json_flows_follow_the_contract(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["pcap", str(GOLDEN / "reset-after-hello.pcap"), "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert status == 1
    assert doc["command"] == "pcap" and doc["verdict"] == Verdict.FAULT.value
    flow = doc["flows"][0]
    assert set(flow) >= {"client", "server", "sni", "outcome", "causes", "events"}
    assert flow["client"].startswith("127.0.0.1:") and flow["server"].startswith("127.0.0.1:")
    assert {e["from"] for e in flow["events"]} <= {"client", "server", "icmp"}
    assert all(set(e) == {"t_ms", "from", "what"} for e in flow["events"])
    assert set(flow["causes"][0]) == {"id", "confidence", "summary", "evidence", "fixes"}


def test_human_report_has_a_ladder(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["pcap", str(GOLDEN / "close-after-hello.pcap")])
    out = capsys.readouterr().out
    assert status == 1
    assert "C --> S" in out and "C <-- S" in out
    assert "FIN after the client's ClientHello" in out
    assert "Most likely cause" in out and "server-closed" in out


@pytest.mark.parametrize(
    "name", ["tls13-untrusted-gnutls", "tls13-expired-gnutls", "tls13-wrong-host-gnutls"]
)
def test_tls13_encrypted_client_alert_names_candidates_without_a_key_log(name: str) -> None:
    """GnuTLS encrypts its alert in TLS 1.3 (the keylog fixtures, read here without their key log): the
    capture says the client hung up after the server's flight, names the certificate causes as candidates
    and what would settle it, and stays below a fault's confidence."""
    report = run_pcap(GOLDEN.parent / "keylog" / f"{name}.pcap")
    flow = report.extra["flows"][0]
    assert flow["outcome"] == "client-abort" and report.verdict is Verdict.INCONCLUSIVE
    ids = {c["id"] for c in flow["causes"]}
    assert {"cert-untrusted", "cert-expired", "cert-hostname-mismatch"} <= ids
    assert all(c["confidence"] < 0.5 and "--keylog" in c["summary"] for c in flow["causes"])
    assert any("19 bytes: an alert's size" in e["what"] and e["from"] == "client" for e in flow["events"])


def test_library_api() -> None:
    """``tlsdoctor.analyse_pcap`` is the command's report; a file that is no capture is ValueError."""
    import tlsdoctor

    report = tlsdoctor.analyse_pcap(str(GOLDEN / "lab-inject-reset.pcap"))
    assert report.to_dict()["flows"][0]["causes"][0]["id"] == "firewall-reset"
    with pytest.raises(ValueError, match="not a pcap or pcapng capture"):
        tlsdoctor.analyse_pcap(GOLDEN / "make_captures.py")
