"""`tlsdoctor pcap --keylog`: recorded TLS 1.3 failures (tests/golden/keylog/, tcpdump while Python's
client or GnuTLS's, writing their key logs, talked to openssl s_server or nginx) read without the key
log (what the capture cannot show, and the candidates) and with it (the cause itself)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tlsdoctor.cli import main
from tlsdoctor.commands.pcap import run_pcap
from tlsdoctor.pcap.unseal import KeyLogDecrypter

GOLDEN = Path(__file__).parent.parent / "golden" / "keylog"
CERT_CANDIDATES = {"cert-untrusted", "cert-expired", "cert-hostname-mismatch"}

# fixture -> (outcome, first cause) without the key log, then with it
FIXTURES: dict[str, tuple[tuple[str, str], tuple[str, str]]] = {
    "tls13-healthy": (("completed", "healthy"), ("completed", "healthy")),
    "tls12-healthy": (("completed", "healthy"), ("completed", "healthy")),
    "tls13-untrusted-gnutls": (("client-abort", "cert-untrusted"), ("client-alert", "cert-untrusted")),
    "tls13-expired-gnutls": (("client-abort", "cert-untrusted"), ("client-alert", "cert-expired")),
    "tls13-wrong-host-gnutls": (
        ("client-abort", "cert-untrusted"),
        ("client-alert", "cert-hostname-mismatch"),
    ),
    "tls13-client-cert-required": (
        ("server-alert", "client-cert-required"),
        ("server-alert", "client-cert-required"),
    ),
    "tls13-nginx-client-cert-400": (("completed", "healthy"), ("completed", "client-cert-required")),
    "tls13-0rtt-resumed": (("completed", "healthy"), ("completed", "healthy")),
}


def flow_of(name: str, keylog: bool) -> dict[str, object]:
    decrypt = KeyLogDecrypter.from_file(GOLDEN / f"{name}.keys") if keylog else None
    report = run_pcap(GOLDEN / f"{name}.pcap", decrypt=decrypt)
    (flow,) = report.extra["flows"]
    assert isinstance(flow, dict)
    return flow


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_fixture_with_and_without_its_key_log(name: str) -> None:
    for keylog, (outcome, cause) in zip((False, True), FIXTURES[name], strict=True):
        flow = flow_of(name, keylog)
        causes = flow["causes"]
        assert isinstance(causes, list)
        assert (flow["outcome"], causes[0]["id"]) == (outcome, cause), (keylog, causes[:3])


def test_every_fixture_has_its_key_log_and_a_row() -> None:
    assert {p.stem for p in GOLDEN.glob("*.pcap")} == set(FIXTURES)
    assert {p.stem for p in GOLDEN.glob("*.keys")} == set(FIXTURES)


@pytest.mark.parametrize(
    "name", ["tls13-untrusted-gnutls", "tls13-expired-gnutls", "tls13-wrong-host-gnutls"]
)
def test_without_the_key_log_the_report_says_what_it_cannot_see(name: str) -> None:
    """TLS 1.3: the certificate and the client's alert are encrypted: the certificate causes are named
    as candidates, weakly, with what would settle them."""
    causes = flow_of(name, keylog=False)["causes"]
    assert isinstance(causes, list)
    assert {c["id"] for c in causes[:3]} == CERT_CANDIDATES
    assert all(c["confidence"] < 0.5 for c in causes)
    assert "a key log (--keylog) or `tlsdoctor diagnose HOST` would settle which" in causes[0]["summary"]
    assert "TLS 1.3 encrypts the certificate and the alert" in causes[0]["summary"]


@pytest.mark.parametrize(
    ("name", "alert"),
    [
        ("tls13-untrusted-gnutls", "bad_certificate (42)"),
        ("tls13-client-cert-required", "certificate_required (116)"),
    ],
)
def test_decrypted_alert_and_chain_are_on_the_timeline(name: str, alert: str) -> None:
    events = flow_of(name, keylog=True)["events"]
    assert isinstance(events, list)
    whats = [e["what"] for e in events]
    assert any(w.startswith("decrypted alert fatal") and w.endswith(alert) for w in whats), whats
    chain = [w for w in whats if w.startswith("decrypted Certificate (2 certificate(s); leaf CN=localhost")]
    assert len(chain) == 1 and "issuer CN=Keylog Fixture Intermediate" in chain[0]
    times = [e["t_ms"] for e in events]
    assert times == sorted(times), "decrypted messages sit where they happened"


def test_decrypted_evidence_names_the_chain_judged_at_capture_time() -> None:
    causes = flow_of("tls13-expired-gnutls", keylog=True)["causes"]
    assert isinstance(causes, list)
    evidence = " ".join(e["observation"] for e in causes[0]["evidence"])
    assert "expired on 2023-01-31, before the capture" in evidence


def test_nginx_answer_to_a_missing_client_certificate_is_read_from_the_decrypted_bytes() -> None:
    causes = flow_of("tls13-nginx-client-cert-400", keylog=True)["causes"]
    assert isinstance(causes, list)
    assert causes[0]["confidence"] == 0.9 and "HTTP 400 Bad Request" in causes[0]["summary"]


def test_key_log_of_another_capture_decrypts_nothing_and_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    """The untrusted capture with the expired one's key log: no line for its client random."""
    status = main(
        [
            "pcap",
            str(GOLDEN / "tls13-untrusted-gnutls.pcap"),
            "--keylog",
            str(GOLDEN / "tls13-expired-gnutls.keys"),
            "--json",
        ]
    )
    report = json.loads(capsys.readouterr().out)
    assert status == 1
    (check,) = [c for c in report["checks"] if c["id"] == "pcap.keylog"]
    assert check["status"] == "warn" and "not decrypted 1" in check["summary"]
    (flow,) = report["flows"]
    assert flow["outcome"] == "client-abort" and {c["id"] for c in flow["causes"][:3]} == CERT_CANDIDATES


def test_a_key_log_that_is_not_one_is_exit_2_before_any_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    junk = tmp_path / "keys.log"
    junk.write_bytes(b"\x00\x01binary junk\n")
    status = main(["pcap", str(GOLDEN / "tls13-healthy.pcap"), "--keylog", str(junk)])
    out, err = capsys.readouterr()
    assert status == 2 and out == ""
    expected = "is not an SSLKEYLOGFILE (line 1: 2 fields, expected LABEL CLIENT_RANDOM SECRET)"
    assert err.strip() == f"tlsdoctor: error: key log '{junk}' {expected}"


def test_0rtt_data_sent_before_the_server_hello_is_decrypted() -> None:
    """s_client resuming with early data: its records precede the ServerHello that names the suite."""
    events = flow_of("tls13-0rtt-resumed", keylog=True)["events"]
    assert isinstance(events, list)
    whats = [(e["from"], e["what"]) for e in events]
    early = whats.index(("client", "decrypted application data: 'GET /early HTTP/1.0\\r\\n\\r\\n'"))
    hello = next(i for i, (_, w) in enumerate(whats) if w.startswith("ServerHello"))
    assert early < hello
    assert ("server", "decrypted Finished (48 bytes)") in whats
    assert not any(w.startswith("not decrypted") for _, w in whats)
