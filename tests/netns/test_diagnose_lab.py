"""`tlsdoctor diagnose` through the middlebox lab: one test per cause, each fault set with the real mechanism.

Every test runs the real CLI in the client namespace with ``--timeout 3`` and asserts ``causes[0].id``;
the diagnosis time and the top cause's evidence are printed (``pytest -s`` shows them).
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

BUDGET_S = 10.0  # issue 4: with --timeout 3 every lab fault is diagnosed in <= 10 s


def diagnose(
    lab: Lab, *extra: str, target: str = f"{SERVER_IP}:443", name: str | None = NAME, label: str = ""
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
        "--timeout",
        "3",
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
    print(f"\n[{label or top['id']}] {elapsed:.1f} s -> {top['id']} ({top['confidence']})")
    for ev in top["evidence"][:3]:
        print(f"    {ev['check']}: {ev['observation']}")
    report["_elapsed"] = elapsed
    return report


def top(report: dict[str, Any]) -> str | None:
    return report["causes"][0]["id"] if report["causes"] else None


def assert_cause(report: dict[str, Any], cause: str) -> None:
    ranked = [(c["id"], c["confidence"]) for c in report["causes"][:4]]
    assert top(report) == cause, ranked
    assert report["_elapsed"] <= BUDGET_S, f"diagnosis took {report['_elapsed']:.1f} s"


def test_healthy(lab: Lab) -> None:
    assert_cause(diagnose(lab, label="healthy"), "healthy")


def test_firewall_reset(lab: Lab) -> None:
    lab.set_fault("inject-reset")
    report = diagnose(lab, label="inject-reset")
    assert_cause(report, "firewall-reset")
    assert report["causes"][0]["confidence"] >= 0.85  # the capture's TTL comparison, as root


def test_firewall_drop(lab: Lab) -> None:
    lab.set_fault("drop-hello")
    assert_cause(diagnose(lab, label="drop-hello"), "firewall-drop")


def test_sni_filtered(lab: Lab) -> None:
    lab.set_fault("sni-filter")  # filters hellos naming BLOCKED_NAME
    assert_cause(diagnose(lab, name=BLOCKED_NAME, label="sni-filter"), "sni-filtered")


def test_clienthello_too_large(lab: Lab) -> None:
    lab.set_fault("large-hello")
    assert_cause(diagnose(lab, label="large-hello"), "clienthello-too-large")


def test_path_mtu_blackhole(lab: Lab) -> None:
    lab.set_fault("mtu-blackhole")
    report = diagnose(lab, label="mtu-blackhole")
    assert_cause(report, "path-mtu-blackhole")
    assert report["causes"][0]["confidence"] >= 0.9
    # The UDP path-MTU probe: 1500-byte datagrams vanish with no ICMP, 1280 bytes get through.
    assert "path.mtu: UDP packets of 1500+ bytes (DF) to 198.18.2.2 vanish with no ICMP" in evidence(report)


def test_path_mtu_measured_when_icmp_flows(lab: Lab) -> None:
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
    assert_cause(diagnose(lab, label="narrow-link (ICMP allowed)"), "healthy")  # the server's MSS fits


def test_tcp_refused(lab: Lab) -> None:
    lab.set_fault("tcp-refused")
    assert_cause(diagnose(lab, label="tcp-refused"), "tcp-refused")


def evidence(report: dict[str, Any]) -> str:
    """The top cause's summary and evidence lines, as one text."""
    top = report["causes"][0]
    return "\n".join([top["summary"], *(f"{e['check']}: {e['observation']}" for e in top["evidence"])])


def test_tcp_timeout(lab: Lab) -> None:
    lab.set_fault("tcp-timeout")  # mid drops the SYNs to :443 in FORWARD; its own TTL expiry still answers
    report = diagnose(lab, label="tcp-timeout")
    assert_cause(report, "tcp-timeout")
    text = evidence(report)
    assert "path.trace.198.18.2.2" in text, text
    assert f"last hop that answers is {MID_CLIENT_IP} (hop 1" in text, text


def test_host_unreachable(lab: Lab) -> None:
    lab.set_fault("host-unreachable")  # mid REJECTs with icmp-host-unreachable
    report = diagnose(lab, label="host-unreachable")
    assert_cause(report, "host-unreachable")
    text = evidence(report)
    assert f"ICMP host unreachable from {MID_CLIENT_IP}" in text, text  # IP_RECVERR names the router
    assert f"hop 2: host unreachable from {MID_CLIENT_IP}" in text, text


def test_proxy_required(lab: Lab) -> None:
    info = lab.set_fault("block-direct", proxy="open")
    report = diagnose(lab, "--proxy", info["proxy_url"], label="block-direct + open proxy")
    assert_cause(report, "proxy-required")


@pytest.mark.parametrize("kind", ["auth", "deny"])
def test_proxy_error(lab: Lab, kind: str) -> None:
    info = lab.set_fault("block-direct", proxy=kind)
    report = diagnose(lab, "--proxy", info["proxy_url"], label=f"block-direct + {kind} proxy")
    assert_cause(report, "proxy-error")


def test_tls_interception(lab: Lab) -> None:
    lab.set_fault("intercept")
    assert_cause(diagnose(lab, label="intercept"), "tls-interception")


def leaf_fingerprint(lab: Lab) -> str:
    """The SHA-256 of the real server's leaf, as a user would have noted it beforehand."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    assert lab.pki is not None
    leaf = x509.load_pem_x509_certificate(lab.pki.leaf.read_bytes())
    return leaf.fingerprint(hashes.SHA256()).hex(":").upper()


def test_tls_interception_by_expected_fingerprint(lab: Lab) -> None:
    lab.set_fault("intercept")
    report = diagnose(lab, "--expect-fingerprint", leaf_fingerprint(lab), label="intercept + fingerprint")
    assert_cause(report, "tls-interception")
    assert any("fingerprint" in e["observation"] for e in report["causes"][0]["evidence"]), evidence(report)


def test_expected_fingerprint_matches_on_the_healthy_path(lab: Lab) -> None:
    assert_cause(
        diagnose(lab, "--expect-fingerprint", leaf_fingerprint(lab), label="healthy + fingerprint"), "healthy"
    )


def test_server_overloaded(lab: Lab) -> None:
    lab.set_fault("overloaded")
    assert_cause(diagnose(lab, label="overloaded"), "server-overloaded")


def test_network_unstable(lab: Lab) -> None:
    """Random loss: a single lost packet can make one single-shot probe disagree with its twin (the
    default hello lost, the small-MSS retry passing); the re-runs of the pair (path.reproduce) and the
    kernel's retransmission counters must make network-unstable outrank the differential causes."""
    lab.set_fault("loss", probability=0.1)
    # Random loss is random: a run can see too few losses to show. Up to 3 runs (bounded); any
    # differential cause in between still fails the test, only "healthy" earns a re-run.
    for _ in range(3):
        report = diagnose(lab, "--repeat", "20", label="loss 10% + --repeat 20")
        if top(report) != "healthy":
            break
    assert_cause(report, "network-unstable")
    assert report["causes"][0]["confidence"] >= 0.6


@pytest.mark.parametrize(("name", "cause"), [(NXDOMAIN_NAME, "dns-nxdomain"), (SERVFAIL_NAME, "dns-failure")])
def test_dns(lab: Lab, name: str, cause: str) -> None:
    report = diagnose(lab, "--resolver", DNS_SERVER, target=f"{name}:443", name=None, label=f"dns {name}")
    assert_cause(report, cause)
