"""The default client offers ALPN (h2, http/1.1) only where the user's client would speak HTTP.

Against Debian's nginx with ``ssl`` + ``http2`` on a free loopback port: as an ``https://`` URL the
default handshake offers h2 and http/1.1 and nginx selects h2, shown in the Verified block and in the
JSON observation; the same server as ``host:PORT`` on a port that is not a well-known HTTPS port gets
no offer (RFC 7301 §3.2: an offer the endpoint's real clients never make could invent a failure).
An ``openssl s_server -alpn`` that accepts none of the offered protocols answers
no_application_protocol: the verdict must name ALPN, not blame the server's TLS setup blindly.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from scan_servers import NGINX, OPENSSL, Certs, nginx, s_server

from tlsdoctor.net.tls import HTTPS_PORTS
from tlsdoctor.testing import Pki

CLI = [sys.executable, "-m", "tlsdoctor"]
NGINX_TLS = {"protocols": "TLSv1.2 TLSv1.3", "ciphers": "HIGH", "curves": "X25519:prime256v1"}


@pytest.fixture(scope="module")
def certs() -> Iterator[Certs]:
    with Pki() as pki:
        yield Certs(pki)


def diagnose(target: str, ca_file: Path, *extra: str) -> tuple[int, str]:
    result = subprocess.run(
        [*CLI, "diagnose", target, "--connect-to", "127.0.0.1", "--ca-file", str(ca_file), "--timeout", "3",
         *extra],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.stdout, result.stderr
    return result.returncode, result.stdout


def default_attempt(report: dict[str, Any]) -> dict[str, Any]:
    (check,) = [c for c in report["checks"] if c["id"] == "handshake.default"]
    (seen,) = [o for o in check["data"]["observations"] if o["kind"] == "handshake"]
    return seen


@pytest.mark.skipif(NGINX is None, reason="nginx is not installed (Debian package nginx)")
def test_https_url_offers_alpn_and_nginx_selects_h2(certs: Certs, tmp_path: Path) -> None:
    with nginx(certs, tmp_path, prefer=False, **NGINX_TLS) as port:
        assert port not in HTTPS_PORTS
        status, text = diagnose(f"https://localhost:{port}/", certs.ca_file)
        status_json, raw = diagnose(f"https://localhost:{port}/", certs.ca_file, "--json")
        # Near miss: the same server as host:PORT, a port no HTTPS client assumes: nothing offered.
        plain_status, plain = diagnose(f"localhost:{port}", certs.ca_file)
        plain_json, plain_raw = diagnose(f"localhost:{port}", certs.ca_file, "--json")
    assert status == 0, text
    lines = [line.strip() for line in text.splitlines()]
    want = " h2 (offered h2, http/1.1)"
    assert any(line.startswith("ALPN") and line.endswith(want) for line in lines), text
    seen = default_attempt(json.loads(raw))
    assert status_json == 0 and seen["alpn_offered"] == ["h2", "http/1.1"] and seen["alpn"] == "h2", seen
    assert plain_status == 0 and plain_json == 0, plain
    assert "Verified" in plain and "ALPN" not in plain, plain
    near = default_attempt(json.loads(plain_raw))
    assert near["alpn_offered"] == [] and near["alpn"] is None, near


@pytest.mark.skipif(OPENSSL is None, reason="openssl is not installed (Debian package openssl)")
def test_no_application_protocol_names_alpn(certs: Certs) -> None:
    """A server speaking only another protocol refuses our HTTP offer: the evidence says so."""
    with s_server(certs, ["-alpn", "xmpp-client"]) as port:
        status, raw = diagnose(f"https://localhost:{port}/", certs.ca_file, "--json")
    report = json.loads(raw)
    seen = default_attempt(report)
    assert seen["outcome"] == "alert" and seen["alert"] == "no_application_protocol", seen
    assert status == 1  # the default client really fails here
    (check,) = [c for c in report["checks"] if c["id"] == "handshake.default"]
    assert "ALPN protocols offered (h2, http/1.1" in check["summary"], check["summary"]
    # No cause of the contract is "no ALPN in common": the cipher and policy rules must not claim it
    # (before, Python's unnamed alert read as our own policy's refusal: cipher-mismatch at 85%).
    blamed = {c["id"] for c in report["causes"]}
    assert not blamed & {"cipher-mismatch", "client-tls-policy", "protocol-mismatch"}, report["causes"]
