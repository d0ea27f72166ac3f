"""End to end: `tlsdoctor diagnose --starttls PROTO` in a subprocess against the STARTTLS endpoints.

Each protocol upgraded correctly is healthy; a refused upgrade (PostgreSQL 'N', MySQL without CLIENT_SSL) and
a plaintext port diagnosed without --starttls are server-not-tls, naming the protocol and the option to use.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from tlsdoctor.testing import FaultServer


def diagnose(server: FaultServer, *extra: str, timeout: float = 2.0) -> tuple[int, dict[str, Any]]:
    args = [
        sys.executable,
        "-m",
        "tlsdoctor",
        "diagnose",
        f"{server.host}:{server.port}",
        "--json",
        "--timeout",
        str(timeout),
        "--servername",
        "localhost",
        *extra,
    ]
    if server.ca_file:
        args += ["--ca-file", str(server.ca_file)]
    proc = subprocess.run(args, capture_output=True, timeout=60, check=False)
    assert proc.returncode in (0, 1), proc.stderr.decode()
    assert b"Traceback" not in proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def starttls_data(report: dict[str, Any]) -> list[dict[str, Any]]:
    return (
        [
            d
            for c in report["checks"]
            if c["id"] == "handshake.default"
            for d in c["data"]["observations"]
            if d["kind"] == "starttls"
        ]
        if report["checks"]
        else []
    )


UPGRADES = [
    ("smtp-banner", "smtp"),
    ("imap-starttls", "imap"),
    ("pop3-starttls", "pop3"),
    ("ftp-starttls", "ftp"),
    ("postgres-ssl", "postgres"),
    ("ldap-starttls", "ldap"),
    ("xmpp-starttls", "xmpp"),
    ("mysql-ssl", "mysql"),
]


@pytest.mark.parametrize(("endpoint", "proto"), UPGRADES, indirect=["endpoint"])
def test_upgrade_then_tls_is_healthy(endpoint: FaultServer, proto: str) -> None:
    status, report = diagnose(endpoint, "--starttls", proto)
    assert report["causes"][0]["id"] == "healthy", json.dumps(report["causes"][:2], indent=1)
    assert status == 0
    default = next(c for c in report["checks"] if c["id"] == "handshake.default")
    assert default["status"] == "pass"
    # the reach phase measures TCP only; the preamble belongs to the handshake's connection
    assert all(c["status"] == "pass" for c in report["checks"] if c["id"].startswith("tcp."))


@pytest.mark.parametrize("endpoint", ["postgres-no-ssl"], indirect=True)
def test_postgres_answering_n_is_server_not_tls(endpoint: FaultServer) -> None:
    status, report = diagnose(endpoint, "--starttls", "postgres")
    top = report["causes"][0]
    assert status == 1 and report["verdict"] == "fault"
    assert top["id"] == "server-not-tls", json.dumps(report["causes"][:2], indent=1)
    assert "PostgreSQL" in top["summary"] and "does not support SSL" in top["summary"]
    assert any("'N'" in e["observation"] for e in top["evidence"])


@pytest.mark.parametrize("endpoint", ["mysql-no-ssl"], indirect=True)
def test_mysql_without_client_ssl_is_server_not_tls(endpoint: FaultServer) -> None:
    status, report = diagnose(endpoint, "--starttls", "mysql")
    top = report["causes"][0]
    assert status == 1 and top["id"] == "server-not-tls", json.dumps(report["causes"][:2], indent=1)
    assert "CLIENT_SSL" in top["summary"]


@pytest.mark.parametrize(
    ("endpoint", "proto"),
    [
        ("smtp-banner", "smtp"),
        ("imap-starttls", "imap"),
        ("pop3-starttls", "pop3"),
        ("ftp-starttls", "ftp"),
        ("xmpp-starttls", "xmpp"),
        ("mysql-ssl", "mysql"),
    ],
    indirect=["endpoint"],
)
def test_plaintext_port_without_starttls_names_the_option(endpoint: FaultServer, proto: str) -> None:
    status, report = diagnose(endpoint)
    top = report["causes"][0]
    assert status == 1 and top["id"] == "server-not-tls", json.dumps(report["causes"][:2], indent=1)
    assert f"--starttls {proto}" in top["summary"], top["summary"]


@pytest.mark.parametrize("endpoint", ["smtp-banner"], indirect=True)
def test_wrong_starttls_names_the_right_one(endpoint: FaultServer) -> None:
    status, report = diagnose(endpoint, "--starttls", "postgres")
    top = report["causes"][0]
    assert status == 1 and top["id"] == "server-not-tls"
    assert "--starttls smtp" in top["summary"] and "SMTP" in top["summary"]


@pytest.mark.parametrize("endpoint", ["healthy"], indirect=True)
def test_starttls_on_an_implicit_tls_port_ends_within_the_deadline(endpoint: FaultServer) -> None:
    """SMTP waits for a greeting a TLS server never sends: one timeout, no hang, and not healthy."""
    import time

    begin = time.monotonic()
    status, report = diagnose(endpoint, "--starttls", "smtp", timeout=1.0)
    assert time.monotonic() - begin < 10
    assert status == 1
    default = next(c for c in report["checks"] if c["id"] == "handshake.default")
    assert "no answer" in default["summary"] and "greeting" in default["summary"]


@pytest.mark.parametrize("endpoint", ["healthy"], indirect=True)
def test_client_first_starttls_on_an_implicit_tls_port_is_not_healthy(endpoint: FaultServer) -> None:
    """OpenSSL closes on the SSLRequest without an alert: the preamble's EOF is the evidence."""
    status, report = diagnose(endpoint, "--starttls", "postgres")
    default = next(c for c in report["checks"] if c["id"] == "handshake.default")
    assert status == 1 and default["status"] == "fail"
    assert "answer to SSLRequest" in default["summary"], default["summary"]


def test_unknown_starttls_protocol_is_a_usage_error() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "tlsdoctor", "diagnose", "127.0.0.1:1", "--starttls", "gopher"],
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 2
    assert b"invalid choice" in proc.stderr
