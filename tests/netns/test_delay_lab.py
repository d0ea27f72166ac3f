"""The lab's ``delay`` fault (NFQUEUE in mid + testing/lab/delayq.py): every packet on the client's link
waits, so TCP's own round trips count, as on a long path (this kernel has no sch_netem). Measured with
ping and a plain TLS client, then with a real diagnosis: healthy over the long path, and a fault set
beside the delay still found (the delay acts after the other faults' rules).
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

import pytest
from lab_clients import tls_client

from tlsdoctor.testing.lab import NAME, SERVER_IP, Lab

pytestmark = pytest.mark.netns

ONE_WAY_MS = 60.0
RTT_S = 2 * ONE_WAY_MS / 1000


def ping_ms(lab: Lab, count: int = 3) -> tuple[float, float]:
    """(min, max) round trip of ``count`` pings from the client to the server."""
    argv = ["ping", "-n", "-c", str(count), "-i", "0.2", "-W", "2", SERVER_IP]
    r = lab.run_in("client", argv, timeout=10 + count)
    found = re.search(rb"= ([\d.]+)/[\d.]+/([\d.]+)/", r.stdout)
    assert r.returncode == 0 and found, r.stdout.decode(errors="replace")
    return float(found.group(1)), float(found.group(2))


def ping_min_ms(lab: Lab) -> float:
    return ping_ms(lab)[0]


def diagnose(lab: Lab) -> dict[str, Any]:
    argv = [sys.executable, "-m", "tlsdoctor", "diagnose", f"{SERVER_IP}:443", "--servername", NAME]
    argv += ["--ca-file", str(lab.ca_file), "--json"]
    r = lab.run_in("client", argv, timeout=40)
    assert b"Traceback" not in r.stderr, r.stderr.decode(errors="replace")
    report: dict[str, Any] = json.loads(r.stdout)
    return report


def connect_ms(report: dict[str, Any]) -> list[float]:
    return [
        o["elapsed_ms"]
        for c in report["checks"]
        if c["id"].startswith("tcp")
        for o in c["data"]["observations"]
        if o["kind"] == "tcp-connect" and o["outcome"] == "connected"
    ]


def test_delay_lengthens_every_round_trip_and_clears(lab: Lab) -> None:
    assert ping_min_ms(lab) < 20  # the near miss: the lab's own path is fast
    (fast,) = tls_client(lab)
    assert fast["ok"] and fast["connect_s"] < 0.05, fast
    with lab.fault("delay", one_way_ms=ONE_WAY_MS) as info:
        assert info["rtt_ms"] == 2 * ONE_WAY_MS
        assert ping_min_ms(lab) >= 2 * ONE_WAY_MS - 1
        (slow,) = tls_client(lab)
        # TCP's SYN/SYN-ACK is one round trip; TLS 1.3 adds one more before the handshake completes.
        assert slow["ok"] and slow["connect_s"] >= RTT_S * 0.98, slow
        assert slow["handshake_s"] >= 2 * RTT_S * 0.98, slow
        assert slow["connect_s"] < 10 * RTT_S  # delayed, not lost and retransmitted
    (again,) = tls_client(lab)  # cleared: the rules and the delayer are gone
    assert again["ok"] and again["connect_s"] < 0.05, again


def test_diagnosis_over_the_delayed_path(lab: Lab) -> None:
    """Healthy far away: TCP's connect itself takes the round trip (through a relay it would not)."""
    lab.set_fault("delay", one_way_ms=ONE_WAY_MS)
    report = diagnose(lab)
    assert report["verdict"] == "healthy", report["causes"][:2]
    times = connect_ms(report)
    assert times and min(times) >= 2 * ONE_WAY_MS * 0.98, times


def test_a_fault_beside_the_delay_still_acts(lab: Lab) -> None:
    """The delay chain comes after the faults' rules: the injected reset still answers the hello."""
    lab.set_fault("inject-reset")
    lab.set_fault("delay", one_way_ms=ONE_WAY_MS)
    report = diagnose(lab)
    assert report["causes"][0]["id"] == "firewall-reset", [c["id"] for c in report["causes"][:3]]
    assert min(connect_ms(report)) >= 2 * ONE_WAY_MS * 0.98


def test_jitter_spreads_round_trips_within_its_bounds(lab: Lab) -> None:
    """Each packet waits one_way +- jitter (never reordered): round trips spread inside twice that."""
    lab.set_fault("delay", one_way_ms=ONE_WAY_MS, jitter_ms=20.0)
    low, high = ping_ms(lab, count=12)
    assert 2 * (ONE_WAY_MS - 20.0) - 1 <= low < high <= 2 * (ONE_WAY_MS + 20.0) + 60, (low, high)
    assert high - low >= 5, (low, high)  # spread, not a fixed delay
    (one,) = tls_client(lab)
    assert one["ok"], one
