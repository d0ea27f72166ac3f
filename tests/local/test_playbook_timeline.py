"""The diagnose playbook over a long path (the delay relay, 50 ms each way): the TLS probes start with TCP,
the variants go out as one wave once the default fails, and the report's timeline says so
(``checks[].started_ms``, ``critical_path``)."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from tlsdoctor.testing import FaultServer, start_endpoint
from tlsdoctor.testing.delay import running_relay

ONE_WAY_MS = 50.0
RTT_MS = 2 * ONE_WAY_MS


def diagnose_through_relay(server: FaultServer) -> dict[str, Any]:
    with running_relay(server.host, server.port, one_way_ms=ONE_WAY_MS) as relay:
        args = [sys.executable, "-m", "tlsdoctor", "diagnose", f"{server.servername}:{relay.port}"]
        args += ["--connect-to", "127.0.0.1", "--json"]
        if server.ca_file:
            args += ["--ca-file", str(server.ca_file)]
        proc = subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode in (0, 1), proc.stderr
    assert "Traceback" not in proc.stderr
    report: dict[str, Any] = json.loads(proc.stdout)
    return report


@pytest.fixture(scope="module")
def reports() -> Iterator[dict[str, dict[str, Any]]]:
    found: dict[str, dict[str, Any]] = {}
    for name in ("healthy", "expired"):
        server = start_endpoint(name)
        try:
            found[name] = diagnose_through_relay(server)
        finally:
            server.stop()
    yield found


def checks(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["id"]: c for c in report["checks"]}


def test_every_check_has_a_start_and_ends_within_the_run(reports: dict[str, dict[str, Any]]) -> None:
    for report in reports.values():
        for c in report["checks"]:
            assert isinstance(c["started_ms"], float | int), c
            assert 0 <= c["started_ms"] <= report["duration_ms"]
            assert c["started_ms"] + c["duration_ms"] <= report["duration_ms"] + 1


def test_tls_probes_start_with_tcp_not_after_it(reports: dict[str, dict[str, Any]]) -> None:
    got = checks(reports["healthy"])
    tcp = next(c for i, c in got.items() if i.startswith("tcp."))
    assert tcp["waited_for"] == "dns"
    for probe in ("handshake.default", "hello.size"):
        # Released by DNS (or by the trust material loading meanwhile), like the TCP check, not by it.
        assert got[probe]["waited_for"] in ("dns", "trust"), got[probe]


def test_healthy_critical_path_is_a_chain_ending_the_run(reports: dict[str, dict[str, Any]]) -> None:
    report = reports["healthy"]
    assert report["verdict"] == "healthy"
    path = report["critical_path"]
    steps = path["steps"]
    # The first step waited for no check (at most for the trust material, which is no check).
    assert steps[0]["waited_for"] not in {c["id"] for c in report["checks"]}
    for before, after in itertools.pairwise(steps):
        assert after["waited_for"] == before["check"]
        assert after["started_ms"] >= before["started_ms"] + before["duration_ms"] - 1
    assert "handshake.default" in [s["check"] for s in steps]
    # TLS 1.3 (one round trip) and its session ticket, read to know the server accepted our Finished.
    (default,) = [s for s in steps if s["check"] == "handshake.default"]
    assert default["round_trips"] >= 2
    # The sum, or null when a step could not say how many it spent (a repeat's totals).
    counts = [s["round_trips"] for s in steps]
    assert path["round_trips"] == (None if None in counts else sum(counts))


def test_variants_go_out_as_one_wave_once_the_default_failed(reports: dict[str, dict[str, Any]]) -> None:
    report = reports["expired"]
    assert report["causes"][0]["id"] == "cert-expired"
    got = checks(report)
    default = got["handshake.default"]
    # The certificate fetches went out with the default handshake, not after it failed.
    for fetch in (got["handshake.no-verify"], got["handshake.unrelated-name"]):
        assert fetch["status"] == "pass" and fetch["started_ms"] < default["started_ms"] + RTT_MS / 2
    first = ("handshake.default", "handshake.no-verify", "handshake.unrelated-name")  # with the default
    wave = [c for i, c in got.items() if i.startswith("handshake.") and i not in first]
    assert len(wave) >= 5 and all(c["status"] != "skip" for c in wave)
    starts = [c["started_ms"] for c in wave]
    # Together, not one after another: less than one round trip between the first and the last (each
    # builds its client context as it starts, which the shared CPU may slow, but none waits for another).
    assert max(starts) - min(starts) < RTT_MS
    # Released by the default's end (or by its head start, while it was still out: no releaser).
    assert {c["waited_for"] for c in wave} <= {"handshake.default", None}, wave
    assert min(starts) <= default["started_ms"] + default["duration_ms"] + RTT_MS


def test_distance_is_not_taken_for_loss(reports: dict[str, dict[str, Any]]) -> None:
    """The relay's kernel answers the TCP connect at once, so the handshake's two round trips (hello ->
    server flight, Finished -> ticket) are all the path's distance: they are measured, each about one
    RTT, and the automatic stability repeat (started by signs of loss) does not run."""
    got = checks(reports["healthy"])
    (attempt,) = [o for o in got["handshake.default"]["data"]["observations"] if o["kind"] == "handshake"]
    assert len(attempt["turns_ms"]) == 2, attempt
    assert all(RTT_MS * 0.9 <= t < RTT_MS + 150 for t in attempt["turns_ms"]), attempt
    assert got.get("path.stability", {"status": "skip"})["status"] == "skip"
