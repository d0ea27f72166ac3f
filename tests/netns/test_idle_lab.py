"""``diagnose --idle`` through the middlebox lab: Debian's nginx in the server namespace, reached through
the mid router, at default options (no --timeout). Port IDLE_PORT has ``keepalive_timeout 1s``; port 443
keeps nginx's default (75 s), the near miss."""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import pytest

from tlsdoctor.testing.lab import NAME, SERVER_IP, Lab
from tlsdoctor.testing.lab.services import IDLE_PORT

pytestmark = pytest.mark.netns


def diagnose_idle(lab: Lab, port: int, idle: str) -> tuple[dict[str, Any], float]:
    argv = [sys.executable, "-m", "tlsdoctor", "diagnose", f"{SERVER_IP}:{port}", "--servername", NAME,
            "--ca-file", str(lab.ca_file), "--json", "--idle", idle]  # fmt: skip
    start = time.monotonic()
    result = lab.run_in("client", argv, timeout=40)
    elapsed = time.monotonic() - start
    report: dict[str, Any] = json.loads(result.stdout)
    (check,) = [c for c in report["checks"] if c["id"] == "idle"]
    print(f"\n[--idle {idle} :{port}] {elapsed:.1f} s -> {report['causes'][0]['id']}: {check['summary']}")
    return report, elapsed


def test_nginx_keepalive_1s_is_server_idle_close(lab: Lab) -> None:
    report, elapsed = diagnose_idle(lab, IDLE_PORT, "3")
    assert [c["id"] for c in report["causes"][:2]] == ["server-idle-close", "client-write-after-close"]
    (check,) = [c for c in report["checks"] if c["id"] == "idle"]
    (seen,) = check["data"]["observations"]
    assert seen["response"].startswith("HTTP/1.1 200") and 800 <= seen["ended_ms"] <= 2500, seen
    assert seen["write_error"] in ("EPIPE", "ECONNRESET"), seen
    assert elapsed <= 12.5


def test_nginx_default_keepalive_is_healthy(lab: Lab) -> None:
    report, _ = diagnose_idle(lab, 443, "3")
    assert report["causes"][0]["id"] == "healthy", report["causes"][:3]
    (check,) = [c for c in report["checks"] if c["id"] == "idle"]
    assert check["status"] == "pass" and "still open" in check["summary"]
