"""The hello matrix against the loopback endpoints: the diagnosis each pattern leads to, and hostile peers.

In-process (one event loop, the endpoint's threads alongside): faster than the CLI, which
test_diagnose_endpoints.py runs for every endpoint in DEMO, large-hello-reset included.
"""

from __future__ import annotations

import asyncio
import time
import tracemalloc
from pathlib import Path

import pytest

from tlsdoctor import runner
from tlsdoctor.checks import hello as hello_check
from tlsdoctor.checks.hello import MATRIX, PROBE_CAP, SIZE, HelloCheck
from tlsdoctor.commands.diagnose import diagnose
from tlsdoctor.context import Context, Options
from tlsdoctor.model import CheckResult, Report, Status, Verdict
from tlsdoctor.net.route import Route
from tlsdoctor.observations.hello import HelloEnd, HelloProbe
from tlsdoctor.target import normalize_host
from tlsdoctor.testing import FaultServer


def context(server: FaultServer, timeout: float) -> Context:
    _, is_ip = normalize_host(server.servername) if server.servername else ("", True)
    return Context(
        options=Options(
            host=server.host,
            port=server.port,
            host_is_ip=True,
            timeout=timeout,
            servername=None if is_ip else server.servername,
            ca_file=Path(server.ca_file) if server.ca_file else None,
        )
    )


def run_diagnose(server: FaultServer, timeout: float = 2.0) -> Report:
    return asyncio.run(diagnose(context(server, timeout)))


def run_matrix(server: FaultServer, timeout: float) -> tuple[CheckResult, float]:
    """Every probe (SIZE and MATRIX) in one check; the wall time it took."""
    check = HelloCheck("hello.all", SIZE + MATRIX, Route(server.host))
    start = time.monotonic()
    result = asyncio.run(runner.run_one(check, context(server, timeout)))
    return result, time.monotonic() - start


def check(report: Report, check_id: str) -> CheckResult:
    return next(c for c in report.checks if c.id == check_id)


def probes(result: CheckResult) -> dict[str, HelloProbe]:
    return {o.probe: o for o in result.observations if isinstance(o, HelloProbe)}


@pytest.mark.parametrize("endpoint", ["healthy"], indirect=True)
def test_healthy_stays_healthy_and_the_pq_hello_passes(endpoint: FaultServer) -> None:
    report = run_diagnose(endpoint)
    assert report.verdict is Verdict.HEALTHY, report.causes
    size = check(report, "hello.size")
    assert size.status is Status.PASS, size.summary
    pq = probes(size)["pq-large"]
    assert pq.end is HelloEnd.SERVER_HELLO and pq.version == "TLSv1.3"
    assert pq.hello_bytes > 1500  # two TCP segments' worth, as a browser's is
    assert check(report, "hello.matrix").status is Status.SKIP


@pytest.mark.parametrize("endpoint", ["large-hello-reset"], indirect=True)
def test_large_hello_reset_is_too_large_although_the_default_works(endpoint: FaultServer) -> None:
    report = run_diagnose(endpoint)
    assert check(report, "handshake.default").status is Status.PASS
    assert check(report, "hello.size").status is Status.FAIL
    assert report.verdict is Verdict.FAULT
    top = report.causes[0]
    assert top.id == "clienthello-too-large", report.causes
    assert any("pq-large" in e.observation for e in top.evidence)


@pytest.mark.parametrize("endpoint", ["sni-filter"], indirect=True)
def test_sni_filter_other_names_pass(endpoint: FaultServer) -> None:
    report = run_diagnose(endpoint)
    top = report.causes[0]
    assert top.id == "sni-filtered", report.causes
    assert top.confidence >= 0.9
    seen = probes(check(report, "hello.matrix"))
    assert seen["sni-neutral"].accepted and seen["sni-random"].accepted and seen["sni-none"].accepted
    assert all(p.died for p in probes(check(report, "hello.size")).values())


@pytest.mark.parametrize("endpoint", ["reset-after-hello"], indirect=True)
def test_reset_after_hello_every_hello_is_reset(endpoint: FaultServer) -> None:
    result, _ = run_matrix(endpoint, timeout=2.0)
    hellos = [p for p in probes(result).values() if p.is_tls]
    assert len(hellos) == 11 and all(p.end is HelloEnd.RESET and p.died for p in hellos)
    report = run_diagnose(endpoint)
    assert report.causes[0].id in ("firewall-reset", "server-closed"), report.causes
    assert "crafted hellos" in report.causes[0].summary


@pytest.mark.parametrize("endpoint", ["silent"], indirect=True)
def test_silent_every_probe_times_out_within_one_deadline(endpoint: FaultServer) -> None:
    result, took = run_matrix(endpoint, timeout=1.0)
    seen = probes(result)
    assert len(seen) == 12  # eleven hellos and the HTTP request, all concurrent
    assert all(p.end is HelloEnd.TIMEOUT and p.bytes_received == 0 for p in seen.values())
    assert took < 1.0 + 0.8  # one deadline, plus the HTTP probe's grace at most


@pytest.mark.parametrize("endpoint", ["huge-length", "endless", "slow-drip"], indirect=True)
def test_hostile_peers_end_within_the_deadline_with_bounded_memory(endpoint: FaultServer) -> None:
    tracemalloc.start()
    try:
        result, took = run_matrix(endpoint, timeout=1.0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    seen = probes(result)
    assert result.status is not Status.ERROR, result.error
    assert seen and took < 1.0 + 0.8
    for p in seen.values():
        assert p.elapsed_ms + p.connect_ms < 1000 + 200, p.describe()
        assert p.bytes_received <= PROBE_CAP, p.describe()
        assert not p.accepted
    assert peak < 16 * 2**20, f"{peak} bytes held at the peak"


@pytest.mark.parametrize("endpoint", ["healthy"], indirect=True)
def test_a_prepared_check_sends_the_bytes_it_built_ahead(
    endpoint: FaultServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """diagnose builds hello.size's bytes before the default handshake's clock starts; running the
    prepared check must not build them again (on the loop, inside that window)."""
    ctx = context(endpoint, 2.0)
    ready = HelloCheck("hello.size", SIZE, Route(endpoint.host), size_only=True).prepared(ctx)
    assert ready.payloads is not None and all(p.data for p in ready.payloads)

    def no_building(*_args: object) -> None:
        raise AssertionError("a prepared check built a payload while running")

    monkeypatch.setattr(hello_check, "payload_for", no_building)
    result = asyncio.run(runner.run_one(ready, ctx))
    seen = probes(result)
    assert result.status is Status.PASS, result.summary
    for probe, payload in zip(SIZE, ready.payloads, strict=True):
        assert payload.data is not None and seen[probe.name].hello_bytes == len(payload.data)
        assert seen[probe.name].end is HelloEnd.SERVER_HELLO
