"""``--idle S`` (checks/idle.py): a server that closes quiet connections, told from one that keeps them.

Against the fault server with a 1 s idle timeout, Debian's nginx with ``keepalive_timeout 1s`` (a
server we did not write: its keep-alive timer starts after a response, so the probe asks once over
HTTP/1.1 first), and the near misses that keep the connection for the whole hold.
"""

from __future__ import annotations

import json
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from scan_servers import NGINX, Certs, nginx

import tlsdoctor
from tlsdoctor.testing import FaultServer, Pki
from tlsdoctor.testing.base import abort
from tlsdoctor.testing.endpoints import running
from tlsdoctor.testing.tlsservers import IdleCloseServer, read_request

CLI = [sys.executable, "-m", "tlsdoctor"]


def diagnose(port: int, ca_file: Path | str, *extra: str) -> tuple[int, dict[str, Any], float]:
    start = time.monotonic()
    result = subprocess.run(
        [*CLI, "diagnose", f"127.0.0.1:{port}", "--servername", "localhost", "--ca-file", str(ca_file),
         "--timeout", "3", "--json", *extra],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.stdout, result.stderr
    return result.returncode, json.loads(result.stdout), time.monotonic() - start


def idle_data(report: dict[str, Any]) -> dict[str, Any]:
    (check,) = [c for c in report["checks"] if c["id"] == "idle"]
    # the idle hold's own observation (the runner may add a loop-stall note beside it under load)
    (seen,) = [o for o in check["data"]["observations"] if o["kind"] == "idle-hold"]
    return {"status": check["status"], "summary": check["summary"], **seen}


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, FaultServer]]:
    with running("idle-close", "healthy", "expired") as s:
        yield s


def test_server_closing_after_one_second_is_server_idle_close(servers: dict[str, FaultServer]) -> None:
    server = servers["idle-close"]
    status, report, elapsed = diagnose(server.port, server.ca_file, "--idle", "3")
    assert status == 1
    assert [c["id"] for c in report["causes"][:2]] == ["server-idle-close", "client-write-after-close"]
    seen = idle_data(report)
    assert seen["status"] == "fail"
    assert seen["ending"] in ("close-notify", "fin", "reset")
    assert 800 <= seen["ended_ms"] <= 2500, seen  # its idle timeout is 1 s
    assert seen["write_error"] in ("EPIPE", "ECONNRESET"), seen
    assert "held" not in seen["summary"]
    assert elapsed < 3 + 10  # the hold ends at the close, not at --idle


def test_server_keeping_the_connection_is_healthy(servers: dict[str, FaultServer]) -> None:
    """Near miss: the healthy server waits 5 s for a request; held 2 s, the connection is still open."""
    server = servers["healthy"]
    status, report, _ = diagnose(server.port, server.ca_file, "--idle", "2")
    assert status == 0, report["causes"]
    seen = idle_data(report)
    assert (seen["status"], seen["ending"], seen["write_error"]) == ("pass", "open", None)
    assert seen["ended_ms"] >= 1900 and "still open" in seen["summary"]


def test_idle_skipped_when_the_handshake_fails(servers: dict[str, FaultServer]) -> None:
    server = servers["expired"]
    status, report, _ = diagnose(server.port, server.ca_file, "--idle", "2")
    assert status == 1 and report["causes"][0]["id"] == "cert-expired"
    (check,) = [c for c in report["checks"] if c["id"] == "idle"]
    assert check["status"] == "skip"


class IdleResetServer(IdleCloseServer):
    """Aborts the quiet connection with an RST after 1 s, as some load balancers and NATs do."""

    def after_handshake(self, tls: ssl.SSLSocket) -> None:
        tls.settimeout(self.idle)
        try:
            read_request(tls)
        except TimeoutError:
            abort(tls)


def test_server_resetting_a_quiet_connection() -> None:
    server = IdleResetServer().start()
    try:
        status, report, _ = diagnose(server.port, server.ca_file, "--idle", "3")
    finally:
        server.stop()
    assert status == 1 and report["causes"][0]["id"] == "server-idle-close"
    seen = idle_data(report)
    assert (seen["ending"], seen["fin_ms"], seen["close_notify_ms"]) == ("reset", None, None), seen
    assert 800 <= seen["reset_ms"] <= 2500
    assert seen["write_error"] in ("EPIPE", "ECONNRESET") and seen["writes"] == 1, seen
    assert "RST at" in report["causes"][0]["summary"]


def test_library_idle_keyword(servers: dict[str, FaultServer]) -> None:
    server = servers["idle-close"]
    report = tlsdoctor.diagnose(
        f"127.0.0.1:{server.port}", servername="localhost", ca_file=server.ca_file, timeout=3, idle=3
    )
    assert report.causes[0].id == "server-idle-close"


@pytest.fixture(scope="module")
def certs() -> Iterator[Certs]:
    with Pki() as pki:
        yield Certs(pki)


NGINX_TLS = {
    "protocols": "TLSv1.2 TLSv1.3",
    "ciphers": "HIGH",
    "curves": "X25519:prime256v1",
    "prefer": False,
}


@pytest.mark.skipif(NGINX is None, reason="nginx is not installed (Debian package nginx)")
@pytest.mark.parametrize(
    ("keepalive", "idle", "closes"), [("1s", "3", True), ("75s", "2", False), ("0", "2", False)]
)
def test_nginx_keepalive_timeout(
    certs: Certs, tmp_path: Path, keepalive: str, idle: str, closes: bool
) -> None:
    """1 s: closed after the response, an idle close. 75 s: held 2 s, open. 0: keep-alive off, nginx
    answers "Connection: close" and closes at once: announced, so a note, not server-idle-close."""
    with nginx(certs, tmp_path, directives=f"keepalive_timeout {keepalive};", **NGINX_TLS) as port:
        status, report, _ = diagnose(port, certs.ca_file, "--idle", idle)
    seen = idle_data(report)
    assert seen["response"] is not None and seen["response"].startswith("HTTP/1.1 200"), seen
    if closes:
        assert status == 1 and report["causes"][0]["id"] == "server-idle-close", report["causes"]
        assert 800 <= seen["ended_ms"] <= 2500, seen
        assert seen["write_error"] in ("EPIPE", "ECONNRESET"), seen
    elif keepalive == "0":
        assert status == 0, report["causes"]
        assert seen["announced_close"] and seen["status"] == "warn", seen
        assert seen["ending"] in ("fin", "close-notify") and seen["ended_ms"] < 1000, seen
    else:
        assert status == 0, report["causes"]
        assert seen["ending"] == "open" and not seen["announced_close"]


# the CLI's text, and the library's value of the same meaning (a str is refused by the library too)
BAD_IDLE: list[tuple[str, object]] = [
    ("-1", -1),
    ("nan", float("nan")),
    ("100000", 100000),
    ("0", 0),
    ("inf", float("inf")),
    ("1e3", "1e3"),
]


@pytest.mark.parametrize(("text", "value"), BAD_IDLE, ids=[t for t, _ in BAD_IDLE])
def test_bad_idle_values_are_usage_errors(text: str, value: object) -> None:
    argv = [*CLI, "diagnose", "127.0.0.1:1", "--idle", text]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 2
    assert result.stderr.startswith("tlsdoctor: error: invalid --idle") and "Traceback" not in result.stderr
    assert "at most 3600" in result.stderr
    with pytest.raises(ValueError, match="invalid --idle") as raised:
        tlsdoctor.diagnose("127.0.0.1:1", idle=value)  # type: ignore[arg-type]
    if not isinstance(value, float):  # nan and inf print as the CLI cannot spell them
        assert result.stderr.strip() == f"tlsdoctor: error: {raised.value}"


def test_idle_leaves_the_default_clients_alpn_offer_alone() -> None:
    """The hold offers http/1.1 only (so nginx's keep-alive timer runs), in a context of its own:
    the default client's shared context still offers h2 first afterwards (a server preferring h2
    picks it), as the report's alpn_offered says."""
    import asyncio
    import socket

    from tlsdoctor.checks.handshake import DEFAULT, build_context
    from tlsdoctor.checks.idle import IdleCheck
    from tlsdoctor.context import Context, Options
    from tlsdoctor.net.route import Route
    from tlsdoctor.testing import TlsServer

    def prefer_h2(context: ssl.SSLContext) -> None:
        context.set_alpn_protocols(["h2", "http/1.1"])

    with TlsServer(tweak=prefer_h2) as server:
        options = Options(
            host="127.0.0.1",
            port=server.port,
            servername="localhost",
            host_is_ip=True,
            ca_file=Path(str(server.ca_file)),
            scheme="https",
            idle=0.3,
        )
        ctx = Context(options=options)
        asyncio.run(IdleCheck(Route(address="127.0.0.1"), 0.3).run(ctx))
        default = build_context(ctx, DEFAULT)
        raw = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        with default.wrap_socket(raw, server_hostname="localhost") as tls:
            assert tls.selected_alpn_protocol() == "h2"
