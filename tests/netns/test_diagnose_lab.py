"""`tlsdoctor diagnose` through the middlebox lab: one test per cause, each fault set with the real mechanism.

Every test runs the real CLI in the client namespace, at the default options (no ``--timeout``: 5 s) and
with ``--timeout 3`` (the ``timeout`` fixture), and asserts ``causes[0].id`` and the time it took; the
diagnosis time, the top cause and its evidence are printed (``pytest -s`` shows them).
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import pytest

from tlsdoctor.testing.lab import (
    BLOCKED_NAME,
    DNS_SERVER,
    MID_CLIENT_IP,
    NAME,
    NXDOMAIN_NAME,
    SERVER_IP,
    SERVFAIL_NAME,
    Lab,
)

pytestmark = pytest.mark.netns

# Issue 9: any lab fault at default options (5 s) in <= 12.5 s; issue 4: with --timeout 3 in <= 10 s.
BUDGET_S = {None: 12.5, "3": 10.0}


@pytest.fixture(params=[None, "3"], ids=["default", "timeout3"])
def timeout(request: pytest.FixtureRequest) -> str | None:
    """The --timeout to pass: none (the default options a user starts with), or 3 s."""
    value: str | None = request.param
    return value


def diagnose(
    lab: Lab,
    timeout: str | None,
    *extra: str,
    target: str = f"{SERVER_IP}:443",
    name: str | None = NAME,
    label: str = "",
) -> dict[str, Any]:
    """Run ``tlsdoctor diagnose --json`` in the client namespace; print the time and the evidence."""
    argv = [
        sys.executable,
        "-m",
        "tlsdoctor",
        "diagnose",
        target,
        "--ca-file",
        str(lab.ca_file),
        "--json",
        *(["--timeout", timeout] if timeout else []),
        *extra,
    ]
    if name:
        argv += ["--servername", name]
    start = time.monotonic()
    r = lab.run_in("client", argv, timeout=40)
    elapsed = time.monotonic() - start
    report: dict[str, Any] = json.loads(r.stdout)
    causes = report["causes"]
    top = causes[0] if causes else {"id": None, "confidence": 0, "evidence": []}
    shown = f"{label or top['id']} @ --timeout {timeout or 'default'}"
    print(f"\n[{shown}] {elapsed:.1f} s -> {top['id']} ({top['confidence']})")
    for ev in top["evidence"][:3]:
        print(f"    {ev['check']}: {ev['observation']}")
    report["_elapsed"] = elapsed
    report["_budget"] = BUDGET_S[timeout]
    return report


def top(report: dict[str, Any]) -> str | None:
    return report["causes"][0]["id"] if report["causes"] else None


def assert_cause(report: dict[str, Any], cause: str) -> None:
    ranked = [(c["id"], c["confidence"]) for c in report["causes"][:4]]
    assert top(report) == cause, ranked
    assert report["_elapsed"] <= report["_budget"], f"diagnosis took {report['_elapsed']:.1f} s"


def test_healthy(lab: Lab, timeout: str | None) -> None:
    assert_cause(diagnose(lab, timeout, label="healthy"), "healthy")


def test_firewall_reset(lab: Lab, timeout: str | None) -> None:
    lab.set_fault("inject-reset")
    report = diagnose(lab, timeout, label="inject-reset")
    assert_cause(report, "firewall-reset")
    assert report["causes"][0]["confidence"] >= 0.85  # the capture's TTL comparison, as root


def test_firewall_drop(lab: Lab, timeout: str | None) -> None:
    lab.set_fault("drop-hello")
    assert_cause(diagnose(lab, timeout, label="drop-hello"), "firewall-drop")


def test_sni_filtered(lab: Lab, timeout: str | None) -> None:
    lab.set_fault("sni-filter")  # filters hellos naming BLOCKED_NAME
    assert_cause(diagnose(lab, timeout, name=BLOCKED_NAME, label="sni-filter"), "sni-filtered")


@pytest.mark.parametrize(("max_len", "action"), [(512, "reset"), (1000, "reset"), (1000, "drop")])
def test_clienthello_too_large(lab: Lab, timeout: str | None, max_len: int, action: str) -> None:
    """A box that resets, or silently drops, hello segments over ``max_len`` IP bytes. At 512 even the
    default client's padded hello dies; at 1000 only the post-quantum one does ("curl works, Chrome
    fails"). Dropped, the post-quantum hello ends only at its deadline, and its confirmation re-runs must
    still fit in the check's deadline: hello.size keeps its evidence (never ``error``)."""
    lab.set_fault("large-hello", max_len=max_len, action=action)
    report = diagnose(lab, timeout, label=f"large-hello (> {max_len} B: {action})")
    assert_cause(report, "clienthello-too-large")
    size = next(c for c in report["checks"] if c["id"] == "hello.size")
    assert size["status"] != "error", size
    if max_len > 600:  # the default hello passes: hello.size alone holds the evidence
        assert size["status"] == "fail", size


def test_path_mtu_blackhole(lab: Lab, timeout: str | None) -> None:
    lab.set_fault("mtu-blackhole")
    report = diagnose(lab, timeout, label="mtu-blackhole")
    assert_cause(report, "path-mtu-blackhole")
    assert report["causes"][0]["confidence"] >= 0.9
    # The UDP path-MTU probe: 1500-byte datagrams vanish with no ICMP, 1280 bytes get through.
    assert "path.mtu: UDP packets of 1500+ bytes (DF) to 198.18.2.2 vanish with no ICMP" in evidence(report)
    # The difference was re-run (started while the default was still silent) and held every time.
    (again,) = [c for c in report["checks"] if c["id"] == "path.reproduce"]
    assert again["status"] == "pass" and "first attempt: timeout" in again["summary"], again


def test_path_mtu_measured_when_icmp_flows(lab: Lab, timeout: str | None) -> None:
    """A narrow link that signals properly: the UDP probe learns 1280 from mid's ICMP, as tracepath would."""
    lab.set_fault("narrow-link", mtu=1280)
    code = (
        "import asyncio,sys\nfrom tlsdoctor.net.pmtu import measure\n"
        "m=asyncio.run(measure(sys.argv[1],1.0))\n"
        "print(m.icmp_mtu, m.icmp_from, m.route_mtu)\nprint(m.describe())"
    )
    r = lab.run_python("client", code, SERVER_IP, timeout=20)
    mtu, router, route_mtu = r.stdout.decode().split("\n")[0].split()
    # Either the probe's own ICMP names mid, or the kernel already learned 1280 from mid's ICMP to an
    # earlier packet (a retransmission left over from the previous test can teach it first).
    learned = route_mtu == "1280" and mtu == "None"
    assert learned or (mtu, router) == ("1280", MID_CLIENT_IP), r.stdout.decode() + r.stderr.decode()
    assert_cause(
        diagnose(lab, timeout, label="narrow-link (ICMP allowed)"), "healthy"
    )  # the server's MSS fits


def test_tcp_refused(lab: Lab, timeout: str | None) -> None:
    lab.set_fault("tcp-refused")
    assert_cause(diagnose(lab, timeout, label="tcp-refused"), "tcp-refused")


def evidence(report: dict[str, Any]) -> str:
    """The top cause's summary and evidence lines, as one text."""
    top = report["causes"][0]
    return "\n".join([top["summary"], *(f"{e['check']}: {e['observation']}" for e in top["evidence"])])


def test_tcp_timeout(lab: Lab, timeout: str | None) -> None:
    lab.set_fault("tcp-timeout")  # mid drops the SYNs to :443 in FORWARD; its own TTL expiry still answers
    report = diagnose(lab, timeout, label="tcp-timeout")
    assert_cause(report, "tcp-timeout")
    text = evidence(report)
    assert "path.trace.198.18.2.2" in text, text
    assert f"last hop that answers is {MID_CLIENT_IP} (hop 1" in text, text


def test_host_unreachable(lab: Lab, timeout: str | None) -> None:
    lab.set_fault("host-unreachable")  # mid REJECTs with icmp-host-unreachable
    report = diagnose(lab, timeout, label="host-unreachable")
    assert_cause(report, "host-unreachable")
    text = evidence(report)
    assert f"ICMP host unreachable from {MID_CLIENT_IP}" in text, text  # IP_RECVERR names the router
    assert f"hop 2: host unreachable from {MID_CLIENT_IP}" in text, text


def test_proxy_required(lab: Lab, timeout: str | None) -> None:
    info = lab.set_fault("block-direct", proxy="open")
    report = diagnose(lab, timeout, "--proxy", info["proxy_url"], label="block-direct + open proxy")
    assert_cause(report, "proxy-required")


@pytest.mark.parametrize("kind", ["auth", "deny"])
def test_proxy_error(lab: Lab, timeout: str | None, kind: str) -> None:
    info = lab.set_fault("block-direct", proxy=kind)
    report = diagnose(lab, timeout, "--proxy", info["proxy_url"], label=f"block-direct + {kind} proxy")
    assert_cause(report, "proxy-error")


def test_tls_interception(lab: Lab, timeout: str | None) -> None:
    lab.set_fault("intercept")
    assert_cause(diagnose(lab, timeout, label="intercept"), "tls-interception")


def leaf_fingerprint(lab: Lab) -> str:
    """The SHA-256 of the real server's leaf, as a user would have noted it beforehand."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    assert lab.pki is not None
    leaf = x509.load_pem_x509_certificate(lab.pki.leaf.read_bytes())
    return leaf.fingerprint(hashes.SHA256()).hex(":").upper()


def test_tls_interception_by_expected_fingerprint(lab: Lab, timeout: str | None) -> None:
    lab.set_fault("intercept")
    report = diagnose(
        lab, timeout, "--expect-fingerprint", leaf_fingerprint(lab), label="intercept + fingerprint"
    )
    assert_cause(report, "tls-interception")
    assert any("fingerprint" in e["observation"] for e in report["causes"][0]["evidence"]), evidence(report)


def test_expected_fingerprint_matches_on_the_healthy_path(lab: Lab, timeout: str | None) -> None:
    assert_cause(
        diagnose(lab, timeout, "--expect-fingerprint", leaf_fingerprint(lab), label="healthy + fingerprint"),
        "healthy",
    )


def test_server_overloaded(lab: Lab, timeout: str | None) -> None:
    """Issue 9 item 7: a real server whose accept loop hangs, with a small listen backlog. The first
    connects complete in its kernel and never hear a ServerHello; later SYNs are dropped while those are
    held. A firewall dropping ClientHellos (test_firewall_drop) answers every SYN: the two must differ."""
    lab.set_fault("backlog-full")
    report = diagnose(lab, timeout, label="backlog-full")
    assert_cause(report, "server-overloaded")
    text = evidence(report)
    assert "listen backlog is full" in text, text
    assert "server.syn-retest" in text, text  # released, the SYN path was re-tested
    # Counts name connects to one address, never "N of M addresses" for a single address.
    summaries = [c["summary"] for c in report["causes"]]
    assert not any("addresses" in line for line in summaries), summaries


def test_slow_key_is_healthy(lab: Lab, timeout: str | None) -> None:
    """Issue 9 item 10 / issue 10 item 3: a working server whose every handshake takes 1.9 s is healthy
    (slow is not broken: no ramp, our own load never read as its overload), within 2.5 x the timeout."""
    lab.set_fault("slow-key", key_op=1.9)
    report = diagnose(lab, timeout, label="slow-key 1.9 s")
    assert_cause(report, "healthy")
    assert "slow handshakes with no packet lost" in report["causes"][0]["summary"], report["causes"][0]
    assert not any(c["id"] == "server.ramp" and c["status"] != "skip" for c in report["checks"])
    assert report["_elapsed"] <= 2.5 * float(timeout or 5), report["_elapsed"]


def test_network_unstable(lab: Lab, timeout: str | None) -> None:
    """Random loss: a single lost packet can make one single-shot probe disagree with its twin (the
    default hello lost, the small-MSS retry passing); the re-runs of the pair (path.reproduce) and the
    kernel's retransmission counters must make network-unstable outrank the differential causes."""
    lab.set_fault("loss", probability=0.1)
    # Random loss is random: a run can see too few losses to show. Up to 3 runs (bounded); any
    # differential cause in between still fails the test, only "healthy" earns a re-run.
    for _ in range(3):
        report = diagnose(lab, timeout, "--repeat", "20", label="loss 10% + --repeat 20")
        if top(report) != "healthy":
            break
    assert_cause(report, "network-unstable")
    assert report["causes"][0]["confidence"] >= 0.6


def test_network_unstable_without_repeat(lab: Lab, timeout: str | None) -> None:
    """Issue 9 item 6: the same random loss at the default options, no --repeat. The signs of loss in the
    first probes (retransmissions, a slow connect, a handshake far slower than its connect) must start a
    short repeat on their own, whose evidence names network-unstable. One run, no retries: the automatic
    repeat is sized so that a 10 % loss shows (see checks/ramp.py AUTO_*). Measured with
    bench/lab_table.py (20 runs per timeout): 2 of 40 runs saw too few losses and came out healthy, so
    one more run is allowed, for "healthy" only; any other cause fails at once (and 0 of 40 loss-free
    runs named network-unstable)."""
    lab.set_fault("loss", probability=0.1)
    for _ in range(2):
        report = diagnose(lab, timeout, label="loss 10%, no --repeat")
        if top(report) != "healthy":
            break
    assert_cause(report, "network-unstable")
    assert report["causes"][0]["confidence"] >= 0.6


@pytest.mark.parametrize(("name", "cause"), [(NXDOMAIN_NAME, "dns-nxdomain"), (SERVFAIL_NAME, "dns-failure")])
def test_dns(lab: Lab, timeout: str | None, name: str, cause: str) -> None:
    report = diagnose(
        lab, timeout, "--resolver", DNS_SERVER, target=f"{name}:443", name=None, label=f"dns {name}"
    )
    assert_cause(report, cause)
