"""Server faults are not the client's (issue 10 item 4) and the handshake is not the end (issue 9 item 10).

Protocol-violating servers from tlsdoctor.testing.hostile; nginx enforcing ``ssl_verify_client``
after the handshake (its 400 page); a TLS 1.3 server that hangs up right after the handshake.
Each diagnosis runs at default options and asserts ``causes[0].id``.
"""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from variant_servers import NGINX, OpensslPki, cases

from tlsdoctor.testing import FaultServer
from tlsdoctor.testing.hostile import start_hostile
from tlsdoctor.testing.tlsservers import TlsServer


def run(host: str, port: int, servername: str, ca_file: Path | None) -> tuple[int, dict[str, Any]]:
    args = [
        sys.executable,
        "-m",
        "tlsdoctor",
        "diagnose",
        f"{host}:{port}",
        "--json",
        "--servername",
        servername,
    ]
    if ca_file is not None:
        args += ["--ca-file", str(ca_file)]
    proc = subprocess.run(args, capture_output=True, timeout=90, check=False)
    assert b"Traceback" not in proc.stderr, proc.stderr.decode()
    return proc.returncode, json.loads(proc.stdout)


def brief(report: dict[str, Any]) -> str:
    return json.dumps(
        [(c["id"], c["confidence"], c["summary"], c["fixes"]) for c in report["causes"][:3]], indent=1
    )


def diagnose_server(server: FaultServer) -> tuple[int, dict[str, Any]]:
    try:
        return run(server.host, server.port, server.servername, server.ca_file)
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("name", "expected", "words"),
    [
        ("unknown-alert", "server-closed", "no RFC assigns"),
        ("unoffered-suite", "cipher-mismatch", "never offered"),
        ("hrr-loop", "server-closed", "HelloRetryRequest"),
        ("huge-server-hello", "server-not-tls", "claims"),
        ("junk-certificate", "server-closed", "not a DER certificate"),
        # A ServerHello, then silence at every segment size: not a path-MTU black hole.
        ("choose-then-silent", "server-overloaded", "mid-handshake"),
    ],
)
def test_protocol_violation_is_the_servers_fault(name: str, expected: str, words: str) -> None:
    status, report = diagnose_server(start_hostile(name))
    top = report["causes"][0] if report["causes"] else {"id": "(none)"}
    assert top["id"] == expected, brief(report)
    assert words in top["summary"], brief(report)
    assert status == 1 and report["verdict"] == "fault"
    # Never: lower the client's security level for a server that breaks the protocol.
    for cause in report["causes"]:
        assert cause["id"] != "client-tls-policy" or cause["confidence"] < 0.5, brief(report)
    assert not any("SECLEVEL" in f or "enable one of its suites" in f for f in top["fixes"]), brief(report)


class ClosesAfterHandshake(TlsServer):
    """TLS 1.3; optionally asks for a client certificate; completes the handshake, then hangs up
    without an alert (a TLS 1.3 server rejecting a missing certificate after its Finished, or
    an application that drops the connection)."""

    ask = True

    def setup(self) -> None:
        super().setup()
        self.context.minimum_version = ssl.TLSVersion.TLSv1_3
        if self.ask:
            self.context.verify_mode = ssl.CERT_OPTIONAL
            assert self.ca_file is not None
            self.context.load_verify_locations(cafile=str(self.ca_file))
        self.context.num_tickets = 0

    def after_handshake(self, tls: ssl.SSLSocket) -> None:
        socket.socket.shutdown(tls, socket.SHUT_RDWR)  # FIN, no close_notify, no alert
        tls.close()


class ClosesWithoutAsking(ClosesAfterHandshake):
    ask = False


def test_tls13_close_after_certificate_request_is_client_cert_required() -> None:
    server = ClosesAfterHandshake().start()
    status, report = diagnose_server(server)
    assert report["causes"][0]["id"] == "client-cert-required", brief(report)
    assert status == 1


def test_tls13_close_after_handshake_without_request_is_not_healthy() -> None:
    server = ClosesWithoutAsking().start()
    status, report = diagnose_server(server)
    assert report["causes"][0]["id"] == "server-closed", brief(report)
    assert status == 1


@pytest.fixture(scope="module")
def pki() -> Iterator[OpensslPki]:
    with tempfile.TemporaryDirectory(prefix="variants-") as d:
        yield OpensslPki(Path(d))


@pytest.mark.skipif(NGINX is None, reason="needs nginx")
@pytest.mark.parametrize("case", ["nginx-verify-client", "nginx13-verify-client"])
def test_nginx_400_no_required_certificate_is_client_cert_required(pki: OpensslPki, case: str) -> None:
    with cases(pki)[case] as port:
        status, report = run("127.0.0.1", port, "localhost", pki.ca_file)
    top = report["causes"][0]
    assert top["id"] == "client-cert-required", brief(report)
    assert "400" in top["summary"], brief(report)
    assert status == 1 and report["verdict"] == "fault"


def test_alert_then_garbage_still_gets_a_candidate_and_a_next_step() -> None:
    status, report = diagnose_server(start_hostile("alert-then-garbage"))
    assert report["causes"], brief(report)
    top = report["causes"][0]
    assert top["id"] == "cipher-mismatch" and "openssl s_client" in top["summary"], brief(report)
    assert status == 1
