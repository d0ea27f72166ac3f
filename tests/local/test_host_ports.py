"""Ephemeral-port exhaustion for real, inside a network namespace this test creates (root only):
ip_local_port_range narrowed to ten ports, tcp_tw_reuse off, and loopback connections closed by
the client first, so that every port of the range waits in TIME_WAIT toward one destination.
Then `host` sees the range used up, and `diagnose`'s connect fails with EADDRNOTAVAIL."""

from __future__ import annotations

import json
import selectors
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tlsdoctor.testing.lab.netns import Namespaces, netns_available

pytestmark = pytest.mark.netns

PORT = 8443  # outside the narrowed range
LOW, HIGH = 40000, 40009

FILLER = """
import errno, os, socket, sys, time
port, go = int(sys.argv[1]), sys.argv[2]
server = socket.create_server(("127.0.0.1", port), backlog=64)

def churn(n):
    for _ in range(n):
        client = socket.create_connection(("127.0.0.1", port), timeout=5)
        accepted, _ = server.accept()
        client.close()  # the active close: this port now waits in TIME_WAIT
        time.sleep(0.02)
        accepted.close()

churn(8)
print("partial", flush=True)
deadline = time.monotonic() + 30
while not os.path.exists(go) and time.monotonic() < deadline:
    time.sleep(0.05)
churn(2)
try:
    socket.create_connection(("127.0.0.1", port), timeout=5)
    print("not exhausted", flush=True)
except OSError as exc:
    print(errno.errorcode.get(exc.errno, exc.errno), flush=True)
time.sleep(60)
"""


def read_line(proc: subprocess.Popen[bytes], timeout: float = 20.0) -> str:
    assert proc.stdout is not None
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        if not sel.select(timeout):
            raise AssertionError(f"the filler said nothing in {timeout} s")
    return proc.stdout.readline().decode().strip()


@pytest.fixture
def lab() -> Iterator[Namespaces]:
    ok, reason = netns_available()
    if not ok:
        pytest.skip(reason)
    ns = Namespaces(["client"])
    try:
        ns.create()
        ns.sysctl("client", "net.ipv4.ip_local_port_range", f"{LOW} {HIGH}")
        ns.sysctl("client", "net.ipv4.tcp_tw_reuse", "0")
        yield ns
    finally:
        ns.close()  # kills the filler by PID and deletes the namespace, TIME_WAIT sockets with it


def tlsdoctor(ns: Namespaces, *args: str) -> tuple[int, dict[str, Any]]:
    proc = ns.run_in("client", [sys.executable, "-m", "tlsdoctor", *args, "--json"], timeout=60)
    assert proc.stdout, proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def port_usage(data: dict[str, Any]) -> dict[str, Any]:
    (check,) = [c for c in data["checks"] if c["id"] == "host.ports"]
    (usage,) = [o for o in check["data"]["observations"] if o["kind"] == "port-usage"]
    return usage


def test_port_range_used_up(lab: Namespaces, tmp_path: Path) -> None:
    go = tmp_path / "go"
    argv = [sys.executable, "-c", FILLER, str(PORT), str(go)]
    filler = lab.spawn_in("client", argv, stdout=subprocess.PIPE)
    assert read_line(filler) == "partial"

    # Near miss: 8 of 10 ports held, in TIME_WAIT: noted, not a fault.
    _, data = tlsdoctor(lab, "host", "--no-ntp")
    usage = port_usage(data)
    assert (usage["low"], usage["high"], usage["busiest"]) == (LOW, HIGH, f"127.0.0.1:{PORT}")
    assert usage["busiest_count"] == 8 and usage["time_wait"] == 8
    assert "client-port-exhaustion" not in [c["id"] for c in data["causes"]]

    go.touch()
    assert read_line(filler) == "EADDRNOTAVAIL"  # the kernel agrees: the range is used up

    status, data = tlsdoctor(lab, "host", "--no-ntp")
    assert port_usage(data)["busiest_count"] == 10
    assert status == 1 and data["causes"][0]["id"] == "client-port-exhaustion"

    started = time.monotonic()
    status, data = tlsdoctor(lab, "diagnose", f"127.0.0.1:{PORT}", "--timeout", "2")
    assert time.monotonic() - started < 30
    top = data["causes"][0]
    assert status == 1 and top["id"] == "client-port-exhaustion" and top["confidence"] >= 0.95
    said = " ".join(e["observation"] for e in top["evidence"])
    assert "EADDRNOTAVAIL" in said and "10 of them to 127.0.0.1:8443" in said and "10 in TIME_WAIT" in said
