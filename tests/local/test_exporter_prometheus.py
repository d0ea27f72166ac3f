"""The real system: Debian's Prometheus, started with deploy/prometheus.yml and deploy/tlsdoctor.rules.yml
(rewritten only where a test must: the ports, the targets, a 2 s scrape and 1 s evaluation interval, and
the alert's ``for`` cut to 0 s), scrapes ``tlsdoctor exporter`` against loopback endpoints: healthy,
reset, silent, expired, and a proxy that refuses CONNECT (Debian's tinyproxy with ``ConnectPort 443``).
Debian's blackbox_exporter probes the same endpoints beside it. The test asks Prometheus' HTTP API for
each target's top ``tlsdoctor_cause`` and for the alerts firing, as a user's dashboard would."""

from __future__ import annotations

import contextlib
import json
import shutil
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from exporter_process import exporter

from tlsdoctor.testing import FaultServer
from tlsdoctor.testing.endpoints import running
from tlsdoctor.testing.processes import free_port, serving, tinyproxy

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
PROMETHEUS = shutil.which("prometheus")
BLACKBOX = shutil.which("prometheus-blackbox-exporter")
TINYPROXY = shutil.which("tinyproxy") or (
    "/usr/bin/tinyproxy" if Path("/usr/bin/tinyproxy").exists() else None
)
pytestmark = pytest.mark.skipif(
    PROMETHEUS is None or BLACKBOX is None or TINYPROXY is None,
    reason="needs prometheus, prometheus-blackbox-exporter and tinyproxy (apt-get install them)",
)
DIRECT = {"healthy": "healthy", "reset-after-hello": "firewall-reset", "silent": "firewall-drop"}
EXPECTED = {**DIRECT, "expired": "cert-expired", "proxy-refused": "proxy-error"}
CONVERGE_S = 60.0


def daemon(command: list[str], port: int, what: str) -> contextlib.AbstractContextManager[object]:
    """A server the test needs (asked to stop with SIGTERM first); Prometheus can take seconds to bind."""
    return serving(command, port, what, grace=10.0, timeout=20.0)


def prometheus_config(
    targets: dict[str, str], exporter_address: str, blackbox_address: str, rules: Path
) -> dict[str, Any]:
    """deploy/prometheus.yml with the test's targets and ports; its relabelling kept as shipped."""
    config = yaml.safe_load((DEPLOY / "prometheus.yml").read_text())
    config["global"].update(scrape_interval="2s", scrape_timeout="2s", evaluation_interval="1s")
    config["rule_files"] = [str(rules)]
    template = next(job for job in config["scrape_configs"] if job["job_name"] == "tlsdoctor")
    relabel = template["relabel_configs"]
    assert relabel[-1]["target_label"] == "__address__"
    relabel[-1]["replacement"] = exporter_address

    def job(name: str, module: str, names: list[str], address: str = exporter_address) -> dict[str, Any]:
        labels = [dict(r) for r in relabel]
        labels[-1]["replacement"] = address
        return {
            "job_name": name,
            "metrics_path": template["metrics_path"],
            "params": {"module": [module]},
            "static_configs": [{"targets": [targets[n] for n in names], "labels": {"vantage": "test"}}],
            "relabel_configs": labels,
        }

    config["scrape_configs"] = [
        job("tlsdoctor", "lab", [*DIRECT, "expired"]),
        job("tlsdoctor-proxy", "proxied", ["proxy-refused"]),
        {"job_name": "tlsdoctor-exporter", "static_configs": [{"targets": [exporter_address]}]},
        {**job("blackbox", "tls_connect", list(EXPECTED), blackbox_address), "metrics_path": "/probe"},
    ]
    return config


def query(base: str, promql: str) -> list[dict[str, Any]]:
    url = f"{base}/api/v1/query?{urllib.parse.urlencode({'query': promql})}"
    with urllib.request.urlopen(url, timeout=10) as answer:
        data = json.load(answer)
    assert data["status"] == "success", data
    result: list[dict[str, Any]] = data["data"]["result"]
    return result


@pytest.fixture
def endpoints(tmp_path: Path) -> Iterator[tuple[dict[str, str], Path]]:
    """name -> host:port of every endpoint, and the CA to trust; the proxy's target is the healthy one."""
    with running("healthy", "reset-after-hello", "silent", "expired") as servers:
        assert TINYPROXY is not None
        with tinyproxy(tmp_path, "ConnectPort 443", program=TINYPROXY) as proxy_port:
            healthy: FaultServer = servers["healthy"]
            targets = {name: f"127.0.0.1:{server.port}" for name, server in servers.items()}
            targets["proxy-refused"] = f"localhost:{healthy.port}"  # the healthy one, through the proxy
            (tmp_path / "proxy").write_text(f"http://127.0.0.1:{proxy_port}")
            assert healthy.ca_file is not None
            yield targets, healthy.ca_file


def test_prometheus_scrapes_causes_and_fires_alerts(
    endpoints: tuple[dict[str, str], Path], tmp_path: Path
) -> None:
    targets, ca = endpoints
    proxy_url = (tmp_path / "proxy").read_text()
    modules = tmp_path / "exporter.yml"
    modules.write_text(
        yaml.safe_dump(
            {
                "modules": {
                    "lab": {"servername": "localhost", "ca_file": str(ca), "timeout": 2},
                    "proxied": {
                        "servername": "localhost",
                        "ca_file": str(ca),
                        "timeout": 2,
                        "proxy": proxy_url,
                    },
                }
            }
        )
    )
    blackbox_config = tmp_path / "blackbox.yml"
    blackbox_config.write_text(
        yaml.safe_dump(
            {
                "modules": {
                    "tls_connect": {
                        "prober": "tcp",
                        "timeout": "2s",
                        "tcp": {"tls": True, "tls_config": {"ca_file": str(ca), "server_name": "localhost"}},
                    }
                }
            }
        )
    )
    rules = tmp_path / "tlsdoctor.rules.yml"
    shipped = yaml.safe_load((DEPLOY / "tlsdoctor.rules.yml").read_text())
    for group in shipped["groups"]:
        for rule in group["rules"]:
            rule["for"] = "0s"  # the shipped 2m is a production choice; the test cannot wait for it
    rules.write_text(yaml.safe_dump(shipped))

    blackbox_port, prometheus_port = free_port(), free_port()
    assert BLACKBOX is not None and PROMETHEUS is not None
    blackbox = [
        BLACKBOX,
        f"--config.file={blackbox_config}",
        f"--web.listen-address=127.0.0.1:{blackbox_port}",
    ]
    with daemon(blackbox, blackbox_port, "blackbox_exporter"), exporter(config=modules) as exporter_url:
        config = tmp_path / "prometheus.yml"
        exporter_address = exporter_url.removeprefix("http://")
        config.write_text(
            yaml.safe_dump(prometheus_config(targets, exporter_address, f"127.0.0.1:{blackbox_port}", rules))
        )
        prometheus = [
            PROMETHEUS,
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{prometheus_port}",
        ]
        with daemon(prometheus, prometheus_port, "prometheus"):
            converged(f"http://127.0.0.1:{prometheus_port}", targets)


def ready(base: str, deadline: float) -> None:
    """Prometheus listens before its storage is ready (its API answers 503 until then): wait for /-/ready."""
    while True:
        try:
            with urllib.request.urlopen(f"{base}/-/ready", timeout=5) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            pytest.fail("prometheus was not ready")
        time.sleep(0.2)


def converged(base: str, targets: dict[str, str]) -> None:
    """Wait (bounded) until Prometheus holds every expected cause and alert; fail with what it held."""
    deadline = time.monotonic() + CONVERGE_S
    ready(base, deadline)
    by_target = {
        (("tlsdoctor-proxy" if n == "proxy-refused" else "tlsdoctor"), t): n for n, t in targets.items()
    }
    while True:
        top = {
            (s["metric"]["job"], s["metric"]["instance"]): s["metric"]["cause"]
            for s in query(base, "topk by (job, instance) (1, tlsdoctor_cause)")
        }
        causes = {name: top.get(key) for key, name in by_target.items()}
        firing = {
            (a["metric"]["job"], a["metric"]["instance"]): a["metric"].get("cause")
            for a in query(base, 'ALERTS{alertname="TLSEndpointFailing",alertstate="firing"}')
        }
        alerts = {name: firing.get(key) for key, name in by_target.items()}
        blackbox = {
            s["metric"]["instance"]: s["value"][1] for s in query(base, 'probe_success{job="blackbox"}')
        }
        wanted_alerts = {n: (None if c == "healthy" else c) for n, c in EXPECTED.items()}
        if causes == EXPECTED and alerts == wanted_alerts and len(blackbox) == len(set(targets.values())):
            break
        if time.monotonic() > deadline:
            pytest.fail(f"after {CONVERGE_S:.0f} s: causes {causes}, alerts {alerts}, blackbox {blackbox}")
        time.sleep(1)
    # Beside it, blackbox_exporter on the same endpoints: it knows that, not why.
    assert blackbox[targets["healthy"]] == "1"
    for name in ("reset-after-hello", "silent", "expired"):
        assert blackbox[targets[name]] == "0", name
    # The exporter's own health is scraped too.
    assert query(base, 'up{job="tlsdoctor-exporter"} == 1')
