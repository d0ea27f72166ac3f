"""Sessions and HTTP against real servers: nginx with a session cache, tickets, 0-RTT and HSTS;
nginx with none of them; ``openssl s_server -www`` without tickets. One HTTP request per scan."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from scan_servers import NGINX, OPENSSL, Certs, nginx, s_server

from tlsdoctor.commands.scan import run_scan
from tlsdoctor.context import Context, Options
from tlsdoctor.report.envelope import envelope
from tlsdoctor.testing import Pki

needs_openssl = pytest.mark.skipif(OPENSSL is None, reason="openssl binary not installed")
needs_nginx = pytest.mark.skipif(NGINX is None, reason="nginx not installed (apt-get install nginx-light)")
TLS = {
    "protocols": "TLSv1.2 TLSv1.3",
    "ciphers": "ECDHE+AESGCM",
    "curves": "X25519:prime256v1",
    "prefer": False,
}


@pytest.fixture(scope="module")
def certs() -> Iterator[Certs]:
    with Pki() as pki:
        yield Certs(pki)


def scan(port: int, certs: Certs) -> dict[str, Any]:
    options = Options(host="127.0.0.1", port=port, servername="localhost", host_is_ip=True, timeout=3.0,
                      ca_file=certs.ca_file)  # fmt: skip
    report: dict[str, Any] = envelope(asyncio.run(run_scan(Context(options=options))))["scan"]
    return report


@needs_nginx
def test_nginx_with_cache_tickets_early_data_and_hsts(certs: Certs, tmp_path: Path) -> None:
    directives = (
        'add_header Strict-Transport-Security "max-age=63072000; includeSubDomains" always; '
        "add_header X-Content-Type-Options nosniff always; "
        "ssl_session_cache shared:scan:1m; ssl_session_tickets on; ssl_early_data on;"
    )
    with nginx(certs, tmp_path, directives=directives, **TLS) as port:  # type: ignore[arg-type]
        result = scan(port, certs)
    s = result["sessions"]
    assert s["session_id"] is True and s["session_id_resumption"] is True
    assert s["session_ticket"] is True and s["session_ticket_resumption"] is True
    assert s["tls13_tickets"] >= 1 and s["tls13_resumption"] is True
    assert s["early_data"] is True and s["max_early_data"] == 16384  # nginx's ssl_early_data: 16 KB
    http = result["http"]
    assert http["status"] == 200 and http["server"].startswith("nginx")
    assert http["hsts"] == {"max_age": 63072000, "include_subdomains": True, "preload": False}
    assert http["headers"]["x-content-type-options"] == "nosniff"
    ids = {w["id"] for w in result["weaknesses"]}
    assert "early-data" in ids and "no-hsts" not in ids and "hsts-short" not in ids
    assert result["grade"] == "A+"


@needs_nginx
def test_nginx_without_cache_tickets_or_hsts(certs: Certs, tmp_path: Path) -> None:
    directives = "ssl_session_cache off; ssl_session_tickets off;"
    with nginx(certs, tmp_path, directives=directives, **TLS) as port:  # type: ignore[arg-type]
        result = scan(port, certs)
    s = result["sessions"]
    assert s["session_id_resumption"] is False and s["session_ticket"] is False
    assert s["session_ticket_resumption"] is None  # no ticket: nothing to try
    assert s["tls13_resumption"] is False and s["early_data"] is False
    assert result["http"]["status"] == 200 and result["http"]["hsts"] is None
    ids = {w["id"] for w in result["weaknesses"]}
    assert "no-hsts" in ids and "early-data" not in ids
    assert result["grade"] == "A" and any("HSTS" in why for why in result["grading"]["not_a_plus"])


@needs_openssl
def test_s_server_www_session_ids_without_tickets(certs: Certs) -> None:
    with s_server(certs, ["-tls1_2", "-no_ticket", "-www", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256"]) as port:
        result = scan(port, certs)
    s = result["sessions"]
    assert s["session_id"] is True and s["session_id_resumption"] is True  # s_server caches by default
    assert s["session_ticket"] is False
    assert "tls13_resumption" not in s  # TLS 1.2 only: no TLS 1.3 probe
    assert result["http"]["status"] == 200 and result["http"]["status_line"].startswith("HTTP/1.0 200")
