"""The exporter's probe logic in process (exporter/probe.py), against real loopback servers: the fast
path racing the playbook, and a diagnosis nobody can share cancelled at its deadline."""

from __future__ import annotations

import asyncio

from tlsdoctor.exporter.modules import Module
from tlsdoctor.exporter.probe import Path, Prober
from tlsdoctor.testing import start_endpoint
from tlsdoctor.testing.hostile import SlowHandshakeServer


def test_a_slow_healthy_endpoint_is_answered_by_its_handshake() -> None:
    """The handshake takes longer than the head start (0.4 x 6 s), so the playbook starts beside it;
    the handshake then passes (2.7 s < the 3 s step) and answers: healthy, by the fast path."""
    server = SlowHandshakeServer(delay=2.7).start()
    try:
        options = {"servername": "localhost", "ca_file": str(server.ca_file), "timeout": 5}
        prober = Prober({"m": Module("m", options)}, share_window=0)

        async def run() -> tuple[str, bool, int]:
            result = await prober.probe(f"127.0.0.1:{server.port}", "m", 6.0)
            await asyncio.sleep(0.2)
            return result.path, result.success, prober.in_flight

        path, success, left = asyncio.run(run())
    finally:
        server.stop()
    assert (path, success) == (Path.FAST, True)
    assert left == 0  # the playbook started beside it was stopped


def test_an_unshared_diagnosis_stops_at_its_deadline() -> None:
    server = start_endpoint("healthy")
    try:
        options = {"servername": "localhost", "ca_file": str(server.ca_file), "idle": 5}
        prober = Prober({"held": Module("held", options)}, share_window=0)

        async def run() -> tuple[str, bool, int, str]:
            result = await prober.probe(f"127.0.0.1:{server.port}", "held", 1.0)
            await asyncio.sleep(0.2)
            return result.path, result.success, prober.in_flight, prober.recent[-1].path

        path, success, left, kept = asyncio.run(run())
    finally:
        server.stop()
    assert (path, success) == (Path.PARTIAL, False)
    assert left == 0  # cancelled: with sharing off, no later probe could use its answer
    assert kept == Path.PARTIAL  # and the page lists what was answered
