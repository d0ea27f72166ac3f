"""A TLS 1.3-only server's stapled OCSP response and SCTs travel in its encrypted Certificate (RFC 8446
§4.4.2.1); the scan reads them by decrypting the flight with its own key share. Against servers we did not
write (openssl s_server, nginx) with an openssl-CLI PKI, and against testing/flight13.py's spoiled flights,
which must end in a said problem, never a crash."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from scan_servers import NGINX, OPENSSL

from tlsdoctor.commands.scan import run_scan
from tlsdoctor.context import Context, Options
from tlsdoctor.report.envelope import envelope
from tlsdoctor.scan.offers import Offer, suites_for
from tlsdoctor.scan.prober import Prober, ScanTarget
from tlsdoctor.testing.flight13 import Tls13FlightServer
from tlsdoctor.testing.ocsp import ocsp_response, sample_scts, serverinfo_pem
from tlsdoctor.testing.processes import free_port, serving
from tlsdoctor.wire.codepoints import ProtocolVersion

needs_tools = pytest.mark.skipif(NGINX is None or OPENSSL is None, reason="nginx and openssl are needed")


def _openssl(*args: str, cwd: Path) -> None:
    assert OPENSSL is not None
    subprocess.run([OPENSSL, *args], cwd=cwd, capture_output=True, check=True)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A P-256 root and an RSA leaf with the must-staple feature, by the openssl CLI."""
    d = tmp_path_factory.mktemp("tls13-pki")
    ca = ["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign"]
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
             "ca.key", "-out", "ca.pem", "-days", "30", "-subj", "/CN=tls13 root", *ca, cwd=d)  # fmt: skip
    _openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "leaf.key", cwd=d)
    _openssl("req", "-new", "-key", "leaf.key", "-subj", "/CN=localhost", "-out", "leaf.csr", cwd=d)
    (d / "leaf.cnf").write_text(
        "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\ntlsfeature=status_request\n"
        "authorityInfoAccess=OCSP;URI:http://ocsp.example.test\n"
    )
    _openssl("x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
             "-days", "20", "-extfile", "leaf.cnf", "-out", "leaf.pem", cwd=d)  # fmt: skip
    return d


def _staple(pki: Path, out: Path, n: int, seed: str) -> list[Any]:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    leaf = x509.load_pem_x509_certificate((pki / "leaf.pem").read_bytes())
    ca = x509.load_pem_x509_certificate((pki / "ca.pem").read_bytes())
    ca_key = serialization.load_pem_private_key((pki / "ca.key").read_bytes(), None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    scts = sample_scts(n, now, seed=seed)
    out.write_bytes(ocsp_response(leaf, ca, ca_key, now, single_scts=scts))
    return scts


def _scan(port: int, pki: Path) -> dict[str, Any]:
    options = Options(host="127.0.0.1", port=port, servername="localhost", host_is_ip=True, timeout=3.0,
                      ca_file=pki / "ca.pem")  # fmt: skip
    scan: dict[str, Any] = envelope(asyncio.run(run_scan(Context(options=options))))["scan"]
    return scan


def _s_server(port: int, pki: Path, *extra: str) -> list[str]:
    assert OPENSSL is not None
    return [OPENSSL, "s_server", "-accept", f"127.0.0.1:{port}", "-tls1_3", "-cert", str(pki / "leaf.pem"),
            "-key", str(pki / "leaf.key"), *extra, "-quiet", "-naccept", "100000"]  # fmt: skip


@needs_tools
def test_s_server_tls13_only_staple_and_scts_from_the_encrypted_certificate(
    pki: Path, tmp_path: Path
) -> None:
    """openssl s_server, TLS 1.3 only, staples an OCSP response with 3 SCTs and sends 2 more in the leaf
    entry's signed_certificate_timestamp (a SERVERINFOV2 file): all five come out with their channels,
    stapling is true, and the must-staple leaf is not reported as unstapled."""
    in_ocsp = _staple(pki, tmp_path / "ocsp.der", 3, "ocsp13")
    in_tls = sample_scts(2, dt.datetime.now(dt.UTC).replace(microsecond=0), seed="tls13")
    (tmp_path / "ct.pem").write_bytes(serverinfo_pem(in_tls, tls13=True))
    port = free_port()
    extra = ("-status_file", str(tmp_path / "ocsp.der"), "-serverinfo", str(tmp_path / "ct.pem"))
    with serving(_s_server(port, pki, *extra), port, "openssl s_server"):
        scan = _scan(port, pki)
    assert [p["version"] for p in scan["protocols"] if p["supported"]] == ["TLSv1.3"]
    assert scan["features"]["ocsp_stapling"] is True
    leaf = scan["certificates"][0]["certificates"][0]
    assert leaf["must_staple"] is True
    expected = [(s.log_id.hex(), "tls-extension") for s in in_tls] + [
        (s.log_id.hex(), "ocsp") for s in in_ocsp
    ]
    assert [(s["log_id"], s["channel"]) for s in leaf["scts"]] == expected
    assert leaf["sct_problems"] == []
    assert any("decrypted TLS 1.3 flight" in n for n in scan["notes"])
    assert {"no-ocsp-stapling", "must-staple-unstapled"}.isdisjoint(w["id"] for w in scan["weaknesses"])


@needs_tools
def test_s_server_tls13_only_without_a_staple_says_so(pki: Path) -> None:
    """Near miss: the same server with no status file. Stapling is false (asked, and the whole flight
    read), not unknown; no SCT is delivered; both findings are raised (the leaf is must-staple)."""
    port = free_port()
    with serving(_s_server(port, pki), port, "openssl s_server"):
        scan = _scan(port, pki)
    assert scan["features"]["ocsp_stapling"] is False
    assert scan["certificates"][0]["certificates"][0]["scts"] == []
    found = [w["id"] for w in scan["weaknesses"]]
    assert "no-ocsp-stapling" in found and "must-staple-unstapled" in found  # the leaf demands it


@needs_tools
def test_nginx_tls13_only_stapling_file(pki: Path, tmp_path: Path) -> None:
    """nginx with ssl_protocols TLSv1.3 only and ssl_stapling_file: its 2 SCTs on the OCSP channel."""
    from tlsdoctor.testing.nginx import Site, running

    in_ocsp = _staple(pki, tmp_path / "ocsp.der", 2, "nginx13")
    tls = f"ssl_protocols TLSv1.3; ssl_stapling on; ssl_stapling_file {tmp_path / 'ocsp.der'};"
    with running(tmp_path, Site(cert=pki / "leaf.pem", key=pki / "leaf.key", tls=tls)) as port:
        scan = _scan(port, pki)
    assert [p["version"] for p in scan["protocols"] if p["supported"]] == ["TLSv1.3"]
    assert scan["features"]["ocsp_stapling"] is True
    scts = scan["certificates"][0]["certificates"][0]["scts"]
    assert [(s["log_id"], s["channel"]) for s in scts] == [(s.log_id.hex(), "ocsp") for s in in_ocsp]


@pytest.mark.parametrize(
    ("fault", "said"),
    [
        ("", ""),
        ("bad-tag", "does not decrypt with the server handshake key"),
        ("garbage", "does not decrypt with the server handshake key"),
        ("bad-certificate", "Certificate.certificate_list"),
    ],
)
def test_spoiled_flights_end_the_probe_with_a_said_problem(pki: Path, fault: str, said: str) -> None:
    """testing/flight13.py's server encrypts a real flight for the probe's share: read whole when
    healthy, and when spoiled the probe ends with the reason, no chain taken from it, no exception."""
    der = x509.load_pem_x509_certificate((pki / "leaf.pem").read_bytes()).public_bytes(
        serialization.Encoding.DER
    )
    with Tls13FlightServer((der,), fault=fault) as server:
        target = ScanTarget(address="127.0.0.1", port=server.port, servername="localhost",
                            verify_name="localhost", timeout=3.0)  # fmt: skip
        offer = Offer(version=ProtocolVersion.TLS1_3, suites=suites_for(ProtocolVersion.TLS1_3),
                      status_request=True, sct=True)  # fmt: skip
        result = asyncio.run(Prober(target).probe(offer, decrypt=True))
    assert result.server_hello is not None and result.end == "hello"
    if not fault:
        assert result.finished is True and result.certificates == (der,)
        assert result.certificate_status is False and result.sct_list is None
        return
    assert result.finished is None and result.certificates == ()
    assert said in (result.flight_problem or result.detail)


def test_a_finished_that_does_not_verify_is_a_note_in_the_scan(pki: Path) -> None:
    """A flight whose Finished does not match the transcript: the scan still reports the chain it
    decrypted (the AEAD proved the records), and says the Finished failed."""
    der = x509.load_pem_x509_certificate((pki / "leaf.pem").read_bytes()).public_bytes(
        serialization.Encoding.DER
    )
    with Tls13FlightServer((der,), fault="bad-finished") as server:
        scan = _scan(server.port, pki)
    assert scan["certificates"][0]["certificates"][0]["sha256"] == hashlib.sha256(der).hexdigest()
    assert any("Finished does not match the transcript" in n for n in scan["notes"])


@needs_tools
def test_a_hello_retry_request_is_answered_and_the_flight_still_read(pki: Path, tmp_path: Path) -> None:
    """s_server with only P-384: the probe's shares (X25519, P-256) draw a HelloRetryRequest, the second
    hello carries a P-384 share, and the flight decrypts under the transcript that starts with
    message_hash (RFC 8446 §4.4.1): its Finished verifies and the staple is read."""
    _staple(pki, tmp_path / "ocsp.der", 1, "hrr")
    port = free_port()
    extra = ("-groups", "P-384", "-status_file", str(tmp_path / "ocsp.der"))
    with serving(_s_server(port, pki, *extra), port, "openssl s_server"):
        target = ScanTarget(address="127.0.0.1", port=port, servername="localhost",
                            verify_name="localhost", timeout=3.0)  # fmt: skip
        offer = Offer(version=ProtocolVersion.TLS1_3, suites=suites_for(ProtocolVersion.TLS1_3),
                      groups=(0x001D, 0x0017, 0x0018), status_request=True, sct=True)  # fmt: skip
        result = asyncio.run(Prober(target).probe(offer, decrypt=True, retry_hrr=True))
    assert result.retried is not None and int(result.retried.key_share_group or 0) == 0x0018
    assert result.server_hello is not None and result.finished is True
    assert result.certificate_status is True and result.ocsp_response
