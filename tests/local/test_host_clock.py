"""`tlsdoctor host` and the clock: the process's clock shifted by libfaketime (the `faketime`
Debian package, LD_PRELOAD), measured against a real NTP responder on 127.0.0.1 that answers
with the true time."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from tlsdoctor.wire import ntp

MAX_REPLIES = 50


@pytest.fixture
def ntp_responder() -> Iterator[str]:
    """An SNTP server answering with this (unfaked) process's clock, bounded in replies and time."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.1)
    stop = threading.Event()

    def serve() -> None:
        for _ in range(MAX_REPLIES * 100):
            if stop.is_set():
                return
            try:
                request, peer = sock.recvfrom(512)
            except TimeoutError:
                continue
            now = dt.datetime.now(dt.UTC)
            try:
                sock.sendto(ntp.build_reply(request, now, now), peer)
            except Exception:  # a malformed request gets no answer, as from a real server
                continue

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{sock.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(timeout=5)
        sock.close()


def host(ntp_server: str, *, shift: str | None) -> tuple[int, dict[str, Any]]:
    # A generous per-step timeout: the machine is shared, and the subject is the offset, not speed.
    argv = [sys.executable, "-m", "tlsdoctor", "host", "--ntp", ntp_server, "--timeout", "5", "--json"]
    env = dict(os.environ)
    if shift is not None:
        faketime = shutil.which("faketime")
        if faketime is None:
            pytest.skip("libfaketime's `faketime` is not installed (Debian package faketime)")
        argv = [faketime, "-f", shift, *argv]
        env["FAKETIME_DONT_FAKE_MONOTONIC"] = "1"  # time steps, the event loop's clock does not
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env, check=False)
    assert proc.stdout, proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def clock_offset(data: dict[str, Any]) -> float:
    (clock,) = [c for c in data["checks"] if c["id"] == "clock"]
    found = [o for o in clock["data"]["observations"] if o["kind"] == "clock-offset"]
    assert len(found) == 1, clock
    (obs,) = found
    return float(obs["offset_s"])


def test_clock_three_days_ahead(ntp_responder: str) -> None:
    status, data = host(ntp_responder, shift="+3d")
    assert clock_offset(data) == pytest.approx(-3 * 86400, abs=5)
    assert status == 1 and data["verdict"] == "fault"
    top = data["causes"][0]
    assert top["id"] == "client-clock-skew" and top["confidence"] >= 0.8
    assert "3 days ahead" in top["summary"]


def test_clock_near_miss_thirty_seconds_behind(ntp_responder: str) -> None:
    _, data = host(ntp_responder, shift="-30s")
    assert clock_offset(data) == pytest.approx(30, abs=5)
    assert "client-clock-skew" not in [c["id"] for c in data["causes"]]
    (clock,) = [c for c in data["checks"] if c["id"] == "clock"]
    assert clock["status"] == "warn"  # off by more than 5 s: worth a note, not a fault
