"""diagnose's hard deadlines against slow and silent loopback servers (issue 10 item 3, issue 9 item 10).

A working server whose every handshake takes 1.9 s is healthy, and diagnosing it at ``--timeout 2`` takes
at most 2.5 timeouts: no concurrency ramp (it runs only on a failure symptom), and the short automatic
repeat its slow handshake starts is bounded by half a timeout.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

from tlsdoctor.testing.hostile import start_hostile

TIMEOUT = 2.0


def run_diagnose(host: str, port: int, *extra: str) -> tuple[dict[str, object], float]:
    argv = [sys.executable, "-m", "tlsdoctor", "diagnose", f"{host}:{port}", "--json", *extra]
    start = time.monotonic()
    r = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    elapsed = time.monotonic() - start
    return json.loads(r.stdout), elapsed


def test_slow_handshake_server_is_healthy_within_two_and_a_half_timeouts() -> None:
    server = start_hostile("slow-handshake")
    try:
        args = ["--timeout", str(TIMEOUT), "--servername", "localhost"]
        report, elapsed = run_diagnose(server.host, server.port, *args, "--ca-file", str(server.ca_file))
    finally:
        server.stop()
    causes = report["causes"]
    checks = report["checks"]
    assert isinstance(causes, list) and isinstance(checks, list)
    assert causes[0]["id"] == "healthy", causes[:3]
    # ... with a note that says so (issue 9 item 10): slow, nothing lost, the server's own work
    assert "slow handshakes with no packet lost" in str(causes[0]["summary"]), causes[0]["summary"]
    ramp = [c for c in checks if c["id"] == "server.ramp"]
    assert not ramp, ramp  # slow is not broken: the ramp needs a failure symptom
    assert elapsed <= 2.5 * TIMEOUT, f"{elapsed:.1f} s"
