"""``diagnose --capture`` / ``--capture-file``: the probes' own packets recorded (AF_PACKET, root),
kept as a pcap that tcpdump reads, with the probes' key log beside it; without privileges, a usage
error before anything runs. tcpdump, run alongside, is the independent witness of what was on the wire.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tlsdoctor.pcap.keylog import read_keylog
from tlsdoctor.testing import FaultServer

TCPDUMP = shutil.which("tcpdump")

IS_ROOT = os.geteuid() == 0
needs_root = pytest.mark.skipif(not IS_ROOT, reason="needs root to record packets (CI runs as root)")


def diagnose_args(server: FaultServer, *extra: str) -> list[str]:
    args = [sys.executable, "-m", "tlsdoctor", "diagnose", f"{server.host}:{server.port}", "--json"]
    args += ["--timeout", "2", "--servername", server.servername, *extra]
    if server.ca_file:
        args += ["--ca-file", str(server.ca_file)]
    return args


def run(args: list[str], *, as_nobody: bool = False) -> subprocess.CompletedProcess[bytes]:
    if as_nobody:
        args = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *args]
    proc = subprocess.run(args, capture_output=True, timeout=90, check=False)
    assert b"Traceback" not in proc.stderr
    return proc


def check(report: dict[str, Any], check_id: str) -> dict[str, Any]:
    found = [c for c in report["checks"] if c["id"] == check_id]
    assert len(found) == 1, [c["id"] for c in report["checks"]]
    return found[0]


def tcpdump_lines(pcap: Path, *bpf: str) -> list[str]:
    assert TCPDUMP is not None
    out = subprocess.run([TCPDUMP, "-r", str(pcap), "-n", *bpf], capture_output=True, timeout=30, check=True)
    return out.stdout.decode().splitlines()


def test_without_privileges_capture_is_a_usage_error(tmp_path: Path) -> None:
    """Refused before anything is sent: the target (a discard port nobody listens on) is never asked."""
    if IS_ROOT and shutil.which("setpriv") is None:
        pytest.skip("needs setpriv to drop root")
    pcap = tmp_path / "probes.pcap"
    for extra in (["--capture"], ["--capture-file", str(pcap)]):
        proc = run([sys.executable, "-m", "tlsdoctor", "diagnose", "127.0.0.1:9", *extra], as_nobody=IS_ROOT)
        assert proc.returncode == 2
        assert proc.stderr.decode().strip() == (
            "tlsdoctor: error: --capture needs root or CAP_NET_RAW (to open an AF_PACKET socket)"
        )
        assert proc.stdout == b""
    assert not pcap.exists()


@needs_root
@pytest.mark.parametrize("endpoint", ["healthy"], indirect=True)
def test_capture_file_that_cannot_be_written_fails_before_the_run(
    endpoint: FaultServer, tmp_path: Path
) -> None:
    proc = run(diagnose_args(endpoint, "--capture-file", str(tmp_path / "missing-dir" / "probes.pcap")))
    assert proc.returncode == 2
    assert (
        "cannot write --capture-file" in proc.stderr.decode()
        and "No such file or directory" in proc.stderr.decode()
    )


@needs_root
@pytest.mark.skipif(TCPDUMP is None, reason="needs tcpdump (Debian tcpdump), the independent witness")
@pytest.mark.parametrize("endpoint", ["healthy"], indirect=True)
def test_capture_file_keeps_the_probes_packets_and_key_log(endpoint: FaultServer, tmp_path: Path) -> None:
    pcap = tmp_path / "probes.pcap"
    witness = tmp_path / "witness.pcap"
    assert TCPDUMP is not None
    dump = subprocess.Popen(
        [TCPDUMP, "-i", "lo", "-n", "-U", "-w", str(witness), f"tcp port {endpoint.port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(1.0)  # tcpdump arms its socket
        proc = run(diagnose_args(endpoint, "--capture-file", str(pcap)))
        time.sleep(0.5)
    finally:
        dump.terminate()
        dump.wait(timeout=10)
    assert proc.returncode == 0, proc.stderr.decode()
    report = json.loads(proc.stdout)
    assert report["verdict"] == "healthy"
    recorded = check(report, "capture")["data"]["observations"][0]
    assert recorded["pcap"] == str(pcap) and recorded["keylog"] == str(pcap) + ".keys"

    ours = tcpdump_lines(pcap)
    assert len(ours) == recorded["packets"] > 0
    syn = "tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn"
    # Every connection the probes opened, as tcpdump saw them on the wire, is in our recording.
    witnessed = {line.split()[2] for line in tcpdump_lines(witness, syn)}
    assert witnessed and witnessed == {line.split()[2] for line in tcpdump_lines(pcap, syn)}

    keylog = read_keylog(Path(recorded["keylog"]))
    assert len(keylog) >= 1 and keylog.bad_lines == 0
    assert os.stat(recorded["keylog"]).st_mode & 0o077 == 0  # secrets: readable by the owner only


def capture_evidence(report: dict[str, Any]) -> list[str]:
    return [e["observation"] for e in report["causes"][0]["evidence"] if e["check"] == "capture"]


@needs_root
@pytest.mark.parametrize("endpoint", ["healthy"], indirect=True)
def test_healthy_endpoint_captured_flows_completed(endpoint: FaultServer) -> None:
    proc = run(diagnose_args(endpoint, "--capture"))
    assert proc.returncode == 0, proc.stderr.decode()
    report = json.loads(proc.stdout)
    assert report["causes"][0]["id"] == "healthy"
    flows = report["capture"]["flows"]
    assert flows and any(f["outcome"] == "completed" for f in flows)
    assert any("captured flow(s) completed" in e for e in capture_evidence(report))
    assert report["capture"]["pcap"] is None  # --capture alone keeps nothing


@needs_root
@pytest.mark.parametrize("endpoint", ["reset-after-hello"], indirect=True)
def test_injected_reset_is_shown_by_the_probes_own_packets(endpoint: FaultServer) -> None:
    """The endpoint's RST carries TTL 250, its SYN-ACK loopback's 64: the capture's TTLs are the evidence."""
    proc = run(diagnose_args(endpoint, "--capture"))
    report = json.loads(proc.stdout)
    assert proc.returncode == 1 and report["causes"][0]["id"] == "firewall-reset"
    evidence = capture_evidence(report)
    assert any("with TTL 250, while the peer's own packets had TTL 64" in e for e in evidence), evidence


@needs_root
@pytest.mark.parametrize("endpoint", ["client-cert-required"], indirect=True)
def test_probes_key_log_decrypts_the_servers_certificate_required(endpoint: FaultServer) -> None:
    """TLS 1.3 hides the server's refusal; the probes' own key log opens it on the wire."""
    proc = run(diagnose_args(endpoint, "--capture"))
    report = json.loads(proc.stdout)
    assert proc.returncode == 1 and report["causes"][0]["id"] == "client-cert-required"
    evidence = capture_evidence(report)
    decrypted = [e for e in evidence if e.startswith("decrypted with the key log")]
    assert decrypted and "the server's alert fatal certificate_required" in decrypted[0], evidence


@needs_root
@pytest.mark.parametrize("endpoint", ["healthy"], indirect=True)
def test_recording_follows_the_resolver_the_diagnosis_asks(endpoint: FaultServer) -> None:
    """A name only the --resolver server knows: the recording watches the addresses the diagnosis's
    own DNS checks answered (no getaddrinfo of its own, which knows nothing of that name)."""
    from tlsdoctor.testing.dnsserver import DnsServer

    with DnsServer({"capture.test": [endpoint.host]}) as dns:
        args = [sys.executable, "-m", "tlsdoctor", "diagnose", f"capture.test:{endpoint.port}", "--json"]
        args += ["--timeout", "2", "--servername", endpoint.servername, "--resolver", dns.address]
        proc = run([*args, "--ca-file", str(endpoint.ca_file), "--capture"])
    report = json.loads(proc.stdout)
    assert proc.returncode == 0 and report["target"]["addresses"] == [endpoint.host], proc.stderr.decode()
    recorded = check(report, "capture")["data"]["observations"][0]
    assert recorded["addresses"] == [endpoint.host] and recorded["packets"] > 0, recorded
    assert any(f["outcome"] == "completed" for f in report["capture"]["flows"])
