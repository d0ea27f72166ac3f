"""Diagnosis through a real CONNECT proxy (Debian's tinyproxy) on 127.0.0.1: a working tunnel and a 407."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tlsdoctor.testing import FaultServer
from tlsdoctor.testing.processes import tinyproxy

TINYPROXY = shutil.which("tinyproxy") or (
    "/usr/bin/tinyproxy" if Path("/usr/bin/tinyproxy").exists() else None
)
pytestmark = pytest.mark.skipif(
    TINYPROXY is None, reason="tinyproxy is not installed (apt-get install tinyproxy)"
)


@pytest.fixture(params=["open", "auth"])
def proxy(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    settings = ["MaxClients 20", *(["BasicAuth lab labpass"] if request.param == "auth" else [])]
    with tinyproxy(tmp_path, *settings, program=str(TINYPROXY)) as port:
        yield request.param, f"http://127.0.0.1:{port}"


def diagnose(server: FaultServer, proxy_url: str) -> tuple[int, dict[str, object]]:
    args = [
        sys.executable,
        "-m",
        "tlsdoctor",
        "diagnose",
        f"127.0.0.1:{server.port}",
        "--servername",
        "localhost",
        "--json",
        "--timeout",
        "3",
        "--proxy",
        proxy_url,
        "--ca-file",
        str(server.ca_file),
    ]
    proc = subprocess.run(args, capture_output=True, timeout=60, check=False)
    assert b"Traceback" not in proc.stderr, proc.stderr.decode()
    return proc.returncode, json.loads(proc.stdout)


def test_tunnel_through_real_proxy(proxy: tuple[str, str], healthy: FaultServer) -> None:
    mode, url = proxy
    status, report = diagnose(healthy, url)
    causes = report["causes"]
    assert isinstance(causes, list)
    top = causes[0]["id"]
    if mode == "open":
        assert top == "healthy", causes
        assert status == 0
        tunnel = [c for c in report["checks"] if c["id"] == "proxy"]  # type: ignore[union-attr,index]
        assert tunnel and tunnel[0]["status"] == "pass"
    else:
        assert top == "proxy-error", causes
        assert "407" in json.dumps(causes[0])
        assert status == 1


def test_https_url_for_a_plain_http_proxy(tmp_path: Path, healthy: FaultServer) -> None:
    """``--proxy https://`` against a proxy that speaks plain HTTP: a common misconfiguration."""
    with tinyproxy(tmp_path, program=str(TINYPROXY)) as port:
        status, report = diagnose(healthy, f"https://127.0.0.1:{port}")
    causes = report["causes"]
    assert isinstance(causes, list)
    assert causes[0]["id"] == "proxy-error", causes
    assert "plain HTTP" in json.dumps(causes[0])
    assert status == 1
