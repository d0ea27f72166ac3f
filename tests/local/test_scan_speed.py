"""How `tlsdoctor scan` spends round trips, against real servers on 127.0.0.1: every connection
is counted in the wave it ran in (``scan.round_trips``), the phases after the version wave run
side by side, and no more than ``--max-connections`` connections are ever open at the server."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from scan_servers import OPENSSL, Certs, s_server

from tlsdoctor.commands.scan import run_scan
from tlsdoctor.context import Context, Limits, Options
from tlsdoctor.report.envelope import envelope
from tlsdoctor.scan.scanner import PHASES
from tlsdoctor.testing import Pki

needs_openssl = pytest.mark.skipif(
    OPENSSL is None, reason="openssl binary not installed (.ci/scan-packages.txt)"
)


@pytest.fixture(scope="module")
def certs() -> Iterator[Certs]:
    with Pki() as pki:
        yield Certs(pki)


def scan(port: int, certs: Certs, *, max_connections: int = 16, timeout: float = 3.0) -> dict[str, Any]:
    options = Options(
        host="127.0.0.1",
        port=port,
        servername="localhost",
        host_is_ip=True,
        timeout=timeout,
        ca_file=certs.ca_file,
    )
    ctx = Context(options=options, limits=Limits(max_concurrency=max_connections))
    return envelope(asyncio.run(run_scan(ctx)))


@needs_openssl
def test_round_trips_count_every_connection_in_its_wave(certs: Certs) -> None:
    """The version probes are wave 1; every phase of PHASES depends on them and so starts in
    wave 2 or later; every connection the scan made is in some phase; the critical path is the deepest
    phase and never below the floor the answers force."""
    args = ["-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:AES128-SHA"]
    with s_server(certs, [*args, "-serverpref"], ecdsa=True) as port:
        report = scan(port, certs)
    rt = report["scan"]["round_trips"]
    phases = rt["phases"]
    assert phases["versions"]["connections"] == 6 and phases["versions"]["waves"] == [1, 1]
    assert {name for name, _ in PHASES} <= set(phases)
    for name, _ in PHASES:  # after the versions; the background ones when connections are free
        assert phases[name]["waves"][0] >= 2, (name, phases[name])
        assert phases[name]["started_ms"] >= phases["versions"]["ended_ms"] - 1
    assert phases["cipher-suites"]["waves"][0] == 2
    assert sum(p["connections"] for p in phases.values()) == report["scan"]["handshakes"]
    assert rt["critical_path"] == max(p["waves"][1] for p in phases.values())
    assert 2 <= rt["floor"] <= rt["critical_path"]
    assert rt["max_connections"] == 16
