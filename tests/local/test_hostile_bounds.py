"""Hostile peers for the parsers the fuzz targets cover, through the real CLI (issue 10 item 10).

Each case: a real server on loopback sends what the fuzzers taught us to fear (a certificate that
loads but does not decode, a STARTTLS greeting that never ends, a line that never ends, a banner
that drips, a nameserver's Extended DNS Error text with escapes). The run ends within a bound of
the step timeout, with no crashed check, no traceback, bounded memory, and a terminal-safe report.
"""

from __future__ import annotations

import json
import resource
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dns.edns
import dns.message
import pytest

from tlsdoctor.testing.base import FaultServer
from tlsdoctor.testing.dnsserver import DnsServer
from tlsdoctor.testing.hostile import JunkCertificateServer

pytestmark = pytest.mark.timeout(90)

CLI = [sys.executable, "-m", "tlsdoctor"]
TIMEOUT = 2.0
BOUND = 2.5 * TIMEOUT + 3.0  # the diagnose budget (2.5 x --timeout) plus interpreter start on a busy CPU
CRASHES = Path(__file__).resolve().parents[1] / "fuzz_crashes"


def run(*args: str) -> tuple[subprocess.CompletedProcess[bytes], float]:
    start = time.monotonic()
    proc = subprocess.run(
        [*CLI, *args], capture_output=True, timeout=60, check=False, stdin=subprocess.DEVNULL
    )
    return proc, time.monotonic() - start


def peak_child_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def assert_no_crash(proc: subprocess.CompletedProcess[bytes]) -> dict[str, Any]:
    assert b"Traceback" not in proc.stderr, proc.stderr.decode()
    assert proc.returncode in (0, 1), proc.stderr.decode()
    report: dict[str, Any] = json.loads(proc.stdout)
    crashed = [c["id"] for c in report["checks"] if c["status"] == "error"]
    assert not crashed, f"checks crashed: {crashed}"
    return report


def undecodable_certificate() -> bytes:
    """The certificate fuzz_certs found first: it loads, but its public key does not decode."""
    data = (CRASHES / "certs" / "crash-56121c5dbb3f8ddfcbf2ebdcf09693d71d376e5b").read_bytes()[1:]
    for _ in range(3):  # fuzz_certs.chain_of: three length-prefixed blobs, then the rest
        n = int.from_bytes(data[:2], "big")
        data = data[2 + n :]
    return data


def test_certificate_that_does_not_decode_is_a_finding() -> None:
    with JunkCertificateServer(junk=undecodable_certificate()) as server:
        target = f"127.0.0.1:{server.port}"
        diagnosed, took = run("diagnose", target, "--timeout", str(TIMEOUT), "--no-proxy", "--json")
        scanned, _ = run("scan", target, "--timeout", str(TIMEOUT), "--json")
    assert_no_crash(diagnosed)
    assert took < BOUND
    report = assert_no_crash(scanned)
    problems = [p["detail"] for c in report["scan"]["certificates"] for p in c["problems"]]
    assert any("does not parse" in d for d in problems), problems


class GreetingServer(FaultServer):
    """Writes ``chunk`` every ``pause`` seconds until the client leaves or ``limit`` bytes went out."""

    def __init__(self, chunk: bytes, pause: float = 0.0, limit: int = 64 << 20) -> None:
        super().__init__()
        self.chunk, self.pause, self.limit = chunk, pause, limit

    def handle(self, conn: socket.socket) -> None:
        sent = 0
        try:
            while sent < self.limit and not self.stopping.is_set():
                conn.sendall(self.chunk)
                sent += len(self.chunk)
                if self.pause and self.sleep(self.pause):
                    return
        except OSError:
            return


@pytest.fixture(
    params=[
        pytest.param(
            (b"220-mx.example \x1b[2J endless multi-line greeting\r\n" * 64, 0.0), id="endless-lines"
        ),
        pytest.param((b"220 " + b"A" * 65536, 0.0), id="line-without-end"),
        pytest.param((b"2", 0.4), id="slow-drip"),
    ]
)
def greeting(request: pytest.FixtureRequest) -> Iterator[GreetingServer]:
    chunk, pause = request.param
    with GreetingServer(chunk, pause) as server:
        yield server


def test_starttls_greeting_that_never_ends(greeting: GreetingServer) -> None:
    args = ["diagnose", f"127.0.0.1:{greeting.port}", "--starttls", "smtp", "--timeout", str(TIMEOUT)]
    proc, took = run(*args, "--no-proxy", "--json")
    report = assert_no_crash(proc)
    assert report["verdict"] != "healthy"
    assert took < BOUND, f"{took:.1f} s"
    assert peak_child_rss_mb() < 300
    human, _ = run(*args, "--no-proxy")
    assert b"\x1b" not in human.stdout


class EdeServer(DnsServer):
    """Answers with an Extended DNS Error (RFC 8914) whose EXTRA-TEXT carries terminal escapes."""

    def handle(self, query: dns.message.Message) -> dns.message.Message | None:
        response = super().handle(query)
        if response is not None:
            text = "blocked by policy \x1b]52;c;aGFja2Vk\x07\x1b[2J\u202e"
            response.use_edns(0, options=[dns.edns.EDEOption(dns.edns.EDECode.BLOCKED, text)])
        return response


def test_dns_extended_error_text_is_exact_in_json_and_escaped_on_the_terminal() -> None:
    server = EdeServer({"site.test": ["127.0.0.1"]}).start()
    try:
        args = [
            "diagnose",
            "site.test:9",
            "--resolver",
            f"127.0.0.1:{server.port}",
            "--timeout",
            str(TIMEOUT),
        ]
        human, took = run(*args, "--no-proxy")
        machine, _ = run(*args, "--no-proxy", "--json")
    finally:
        server.stop()
    assert took < BOUND
    for raw in (b"\x1b", b"\x07", "\u202e".encode()):
        assert raw not in human.stdout and raw not in machine.stdout
    assert b"Traceback" not in human.stderr, human.stderr.decode()
    details = [
        o.get("detail", "")
        for c in json.loads(machine.stdout)["checks"]
        for o in c["data"].get("observations", [])
    ]
    assert any("blocked by policy \x1b]52;c;aGFja2Vk\x07\x1b[2J\u202e" in d for d in details), details
