"""``tlsdoctor exporter`` against the built-in endpoints: the CLI in a subprocess, scraped over HTTP
as Prometheus scrapes it (the scrape-timeout header included)."""

from __future__ import annotations

import concurrent.futures
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from exporter_process import exporter, get, samples, top_cause, value

from tlsdoctor.testing import FaultServer
from tlsdoctor.testing.endpoints import running

NAMES = ("healthy", "reset-after-hello", "silent", "expired")


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, FaultServer]]]:
    with running(*NAMES) as servers:
        config = tmp_path_factory.mktemp("exporter") / "tlsdoctor.yml"
        ca = servers["healthy"].ca_file
        config.write_text(
            "modules:\n"
            f"  lab:\n    servername: localhost\n    ca_file: {json.dumps(str(ca))}\n    timeout: 2\n"
            f"  held:\n    servername: localhost\n    ca_file: {json.dumps(str(ca))}\n    idle: 5\n"
        )
        with exporter(config=config) as url:
            yield url, servers


def probe(url: str, server: FaultServer, module: str = "lab", scrape_timeout: float = 8) -> tuple[str, float]:
    status, body, seconds = get(
        f"{url}/probe?target=127.0.0.1:{server.port}&module={module}", scrape_timeout=scrape_timeout
    )
    assert status == 200, body
    return body, seconds


@pytest.mark.parametrize("name", NAMES)
def test_each_endpoint_gets_its_cause(lab: tuple[str, dict[str, FaultServer]], name: str) -> None:
    url, servers = lab
    body, _ = probe(url, servers[name])
    parsed = samples(body)
    assert top_cause(parsed) == servers[name].expected
    assert value(parsed, "tlsdoctor_probe_success") == (1.0 if name == "healthy" else 0.0)
    assert value(parsed, "tlsdoctor_probe_complete") == 1.0
    # Healthy costs one handshake; a failure runs the differential playbook.
    assert value(parsed, "tlsdoctor_probe_full_path") == (0.0 if name == "healthy" else 1.0)
    layers = {labels["layer"] for labels, _ in parsed["tlsdoctor_cause"]}
    assert "unknown" not in layers
    phases = {labels["phase"] for labels, _ in parsed["tlsdoctor_phase_duration_seconds"]}
    assert {"connect", "tls"} <= phases
    if name in ("healthy", "expired"):
        assert value(parsed, "tlsdoctor_cert_expiry_timestamp_seconds") > 0
    if name == "healthy":
        (info,) = parsed["tlsdoctor_tls_info"]
        assert info[0]["version"] in ("TLSv1.2", "TLSv1.3") and info[0]["cipher"]
        assert info[0]["group"] == "x25519"  # OpenSSL's first choice, read from the ServerHello


def test_the_scrape_deadline_is_honoured(lab: tuple[str, dict[str, FaultServer]]) -> None:
    """A module holding a healthy connection idle for 5 s (--idle), scraped with a 2 s timeout: the
    answer comes before the timeout, with what was established by then: marked incomplete, and not
    success (the check that would clear the endpoint had not ended)."""
    url, servers = lab
    body, seconds = probe(url, servers["healthy"], module="held", scrape_timeout=2)
    assert seconds < 2
    parsed = samples(body)
    assert value(parsed, "tlsdoctor_probe_success") == 0.0
    assert value(parsed, "tlsdoctor_probe_complete") == 0.0
    assert 1.0 < value(parsed, "tlsdoctor_probe_duration_seconds") < 2
    assert parsed["tlsdoctor_tls_info"]  # the default handshake had completed: that much was established


def test_probes_of_one_target_share_a_diagnosis(lab: tuple[str, dict[str, FaultServer]]) -> None:
    url, servers = lab
    target = servers["reset-after-hello"]
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: probe(url, target)[0], range(4)))
    assert all(top_cause(samples(a)) == "firewall-reset" for a in answers)
    _, own, _ = get(f"{url}/metrics")
    shared = [
        v for labels, v in samples(own)["tlsdoctor_exporter_probes_total"] if labels["path"] == "shared"
    ]
    assert sum(shared) >= 3


def test_bad_requests(lab: tuple[str, dict[str, FaultServer]]) -> None:
    url, _ = lab
    assert get(f"{url}/probe")[:2] == (400, "Target parameter is missing\n")
    status, body, _ = get(f"{url}/probe?target=localhost:443&module=nope")
    assert (status, body) == (400, "Unknown module 'nope'\n")
    status, body, _ = get(f"{url}/probe?target={quote('host:99999')}")
    assert status == 400 and "port" in body
    status, body, _ = get(f"{url}/probe?target={quote(chr(27) + '[2J:443')}")
    assert status == 400 and "\x1b" not in body
    assert get(f"{url}/report?id=nope")[0] == 404


def test_the_page_links_each_probe_to_its_report(lab: tuple[str, dict[str, FaultServer]]) -> None:
    url, servers = lab
    probe(url, servers["expired"])
    status, page, _ = get(f"{url}/")
    assert status == 200
    rows = [row for row in page.split("<tr>") if f"127.0.0.1:{servers['expired'].port}<" in row]
    assert rows and "cert-expired" in rows[0]
    link = rows[0].split('href="/report?id=')[1].split('"', 1)[0]
    status, report, _ = get(f"{url}/report?id={link}")
    assert status == 200 and "<!doctype html>" in report.lower()
    assert "cert-expired" in report


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--listen", "localhost:99999"], "invalid port"),
        (["--listen", "example.com:9219"], "expected an IP address"),
        (["--share-window", "-1"], "invalid --share-window"),
        (["--config", "/nonexistent.yml"], "cannot read --config"),
    ],
)
def test_bad_options_exit_2_in_one_line(args: list[str], message: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "tlsdoctor", "exporter", *args], capture_output=True, timeout=30, check=False
    )
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.decode().splitlines()
    assert len(lines) == 1 and message in lines[0], lines


def test_a_bad_module_stops_the_start(tmp_path: Path) -> None:
    config = tmp_path / "tlsdoctor.yml"
    config.write_text("modules:\n  smtp:\n    startls: smtp\n")
    proc = subprocess.run(
        [sys.executable, "-m", "tlsdoctor", "exporter", "--listen", "127.0.0.1:0", "--config", str(config)],
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.decode().strip().endswith("unknown option 'startls' (did you mean starttls?)")
