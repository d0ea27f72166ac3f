"""The TLS probes start with TCP, not after it, when the name has several addresses and through a proxy
(commands/playbook.py: the route node and ``settled``), over the delay relay (50 ms each way).

Two loopback addresses for one name (127.0.0.1 and ::1, answered by a DNS server the test starts and
named with --resolver), each with a relay on the same port; then the first address dead, where the
probes must end up on the second; then Debian's tinyproxy behind a relay, where the default handshake
goes out through the proxy while the proxy check and the direct connect are still running.
"""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tlsdoctor.testing import FaultServer, start_endpoint
from tlsdoctor.testing.delay import running_relay
from tlsdoctor.testing.dnsserver import DnsServer
from tlsdoctor.testing.processes import tinyproxy

ONE_WAY_MS = 50.0
NAME = "two.route.test"
TINYPROXY = next((p for p in ("/usr/bin/tinyproxy", "/usr/sbin/tinyproxy") if Path(p).exists()), None)


@pytest.fixture(scope="module")
def healthy() -> Iterator[FaultServer]:
    server = start_endpoint("healthy")
    try:
        yield server
    finally:
        server.stop()


def ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
    except OSError:
        return False
    return True


needs_ipv6 = pytest.mark.skipif(not ipv6_loopback(), reason="no IPv6 loopback (::1) on this machine")


def run(args: list[str]) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-m", "tlsdoctor", "diagnose", *args, "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    report: dict[str, Any] = json.loads(proc.stdout)
    return report


def two_addresses(server: FaultServer, *, first_alive: bool) -> dict[str, Any]:
    """``NAME`` is 127.0.0.1 and ::1 (in that order: A before AAAA); a relay listens on [::1]:P and, when
    ``first_alive``, on 127.0.0.1:P too (else nothing does there: the connect is refused)."""
    with contextlib.ExitStack() as stack:
        six = stack.enter_context(
            running_relay(server.host, server.port, one_way_ms=ONE_WAY_MS, listen_host="::1")
        )
        if first_alive:
            stack.enter_context(
                running_relay(
                    server.host,
                    server.port,
                    one_way_ms=ONE_WAY_MS,
                    listen_host="127.0.0.1",
                    listen_port=six.port,
                )
            )
        dns = stack.enter_context(DnsServer({NAME: ["127.0.0.1", "::1"]}))
        assert server.ca_file is not None
        target = [f"{NAME}:{six.port}", "--resolver", dns.address, "--servername", "localhost"]
        return run([*target, "--ca-file", str(server.ca_file), "--timeout", "3"])


def checks(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["id"]: c for c in report["checks"]}


def attempt(check: dict[str, Any]) -> dict[str, Any]:
    (seen,) = [o for o in check["data"]["observations"] if o["kind"] == "handshake"]
    return dict(seen)


@needs_ipv6
def test_several_addresses_the_probes_start_with_tcp_on_the_first(healthy: FaultServer) -> None:
    report = two_addresses(healthy, first_alive=True)
    assert report["target"]["addresses"] == ["127.0.0.1", "::1"]
    got = checks(report)
    default = got["handshake.default"]
    assert default["status"] == "pass" and attempt(default)["address"] == "127.0.0.1"
    assert len([i for i in got if i.startswith("tcp.")]) == 2
    for probe in ("handshake.default", "hello.size"):
        # Released by DNS (or the trust material), like the TCP checks, not by them.
        released = got[probe]["waited_for"]
        assert released == "trust" or released.startswith("dns."), got[probe]


@needs_ipv6
def test_several_addresses_the_first_dead_the_probes_end_on_the_second(healthy: FaultServer) -> None:
    """Near miss of the guess: the first address refuses; TCP got through to ::1, and the probes that
    started on 127.0.0.1 ran again there."""
    report = two_addresses(healthy, first_alive=False)
    got = checks(report)
    refused = got["tcp.127.0.0.1"]["data"]["observations"][0]
    assert refused["outcome"] == "refused", refused
    for probe in ("handshake.default", "handshake.no-verify"):
        if got[probe]["status"] != "skip":  # the fetch is cancelled once the default succeeds
            assert attempt(got[probe])["address"] == "::1", got[probe]
    assert got["handshake.default"]["status"] == "pass", got["handshake.default"]
    assert got["hello.size"]["data"]["observations"][0]["address"] == "::1"


@pytest.mark.skipif(TINYPROXY is None, reason="tinyproxy is not installed (Debian package tinyproxy)")
def test_through_a_proxy_the_probes_do_not_wait_for_the_proxy_check(
    healthy: FaultServer, tmp_path: Path
) -> None:
    """tinyproxy behind the relay (every CONNECT costs a round trip): the default handshake starts as the
    proxy check does, not after it and the direct connect end."""
    assert TINYPROXY is not None and healthy.ca_file is not None
    with (
        tinyproxy(tmp_path, "MaxClients 40", program=TINYPROXY) as port,
        running_relay("127.0.0.1", port, one_way_ms=ONE_WAY_MS) as relay,
    ):
        target = [f"127.0.0.1:{healthy.port}", "--servername", "localhost"]
        via = ["--proxy", f"http://127.0.0.1:{relay.port}", "--timeout", "3"]
        report = run([*target, "--ca-file", str(healthy.ca_file), *via])
    assert report["verdict"] == "healthy", report["causes"][:2]
    got = checks(report)
    default, proxy = got["handshake.default"], got["proxy"]
    assert proxy["status"] == "pass"
    assert default["waited_for"] not in ("proxy", "tcp.127.0.0.1"), default
    # It went out before the proxy check had its answer (a CONNECT through the relay: >= 1 round trip).
    assert default["started_ms"] < proxy["started_ms"] + 2 * ONE_WAY_MS, (default, proxy)
