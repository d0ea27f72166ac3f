"""End to end: `tlsdoctor diagnose --json` in a subprocess against each built-in broken endpoint.

One test per cause the loopback endpoints can show; each asserts ``causes[0].id``.
"""

from __future__ import annotations

import ipaddress
import json
import subprocess
import sys
from typing import Any

import pytest

from tlsdoctor.commands.demo import DEMO
from tlsdoctor.testing import ENDPOINTS, FaultServer


def diagnose(server: FaultServer, *extra: str, timeout: float = 2.0) -> tuple[int, dict[str, Any]]:
    args = [
        sys.executable,
        "-m",
        "tlsdoctor",
        "diagnose",
        f"{server.host}:{server.port}",
        "--json",
        "--timeout",
        str(timeout),
        *extra,
    ]
    try:
        ipaddress.ip_address(server.servername)
    except ValueError:
        args += ["--servername", server.servername]
    if server.ca_file:
        args += ["--ca-file", str(server.ca_file)]
    proc = subprocess.run(args, capture_output=True, timeout=60, check=False)
    assert proc.returncode in (0, 1), proc.stderr.decode()
    assert b"Traceback" not in proc.stderr
    return proc.returncode, json.loads(proc.stdout)


@pytest.mark.parametrize("endpoint", DEMO, indirect=True)
def test_endpoint_diagnosed_as_expected(endpoint: FaultServer, request: pytest.FixtureRequest) -> None:
    name = request.node.callspec.params["endpoint"]
    spec = ENDPOINTS[name]
    status, report = diagnose(endpoint)
    top = report["causes"][0]["id"]
    assert top == spec.expected or top in spec.also, json.dumps(report["causes"][:3], indent=1)
    assert status == (0 if spec.expected == "healthy" else 1)
    if spec.expected != "healthy":
        assert report["verdict"] == "fault"
        assert report["causes"][0]["evidence"], "a diagnosis without evidence"


@pytest.mark.parametrize("endpoint", ["client-cert-required"], indirect=True)
def test_client_certificate_presented_makes_it_healthy(endpoint: FaultServer) -> None:
    assert endpoint.client_cert_file and endpoint.client_key_file
    status, report = diagnose(
        endpoint, "--cert", str(endpoint.client_cert_file), "--key", str(endpoint.client_key_file)
    )
    assert report["causes"][0]["id"] == "healthy", report["causes"]
    assert status == 0


@pytest.mark.parametrize("endpoint", ["slow-drip", "endless", "huge-length"], indirect=True)
def test_hostile_peers_end_within_the_deadline(endpoint: FaultServer) -> None:
    import time

    start = time.monotonic()
    status, report = diagnose(endpoint, timeout=1.0)
    elapsed = time.monotonic() - start
    # Each phase has one deadline and variants run concurrently: a few timeouts at most, never a hang.
    assert elapsed < 10, elapsed
    assert status == 1
    assert report["verdict"] in ("fault", "inconclusive")


@pytest.mark.parametrize("endpoint", ["silent"], indirect=True)
def test_silent_endpoint_costs_about_one_timeout_per_phase(endpoint: FaultServer) -> None:
    import time

    start = time.monotonic()
    diagnose(endpoint, timeout=2.0)
    assert time.monotonic() - start < 2.0 * 2.5 + 1.5  # process start-up included
