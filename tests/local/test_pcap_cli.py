"""`tlsdoctor pcap` as a user runs it (a subprocess): exit status, the JSON contract, one-line errors, the
human report streaming each flow, and the demo's recorded capture."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

GOLDEN = Path(__file__).parent.parent / "golden" / "pcap"
CLI = [sys.executable, "-m", "tlsdoctor"]


def run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [*CLI, *args], capture_output=True, timeout=timeout, check=False, stdin=subprocess.DEVNULL
    )


def test_healthy_capture_exits_0_and_fault_exits_1() -> None:
    assert run("pcap", str(GOLDEN / "healthy-tls12.pcap")).returncode == 0
    assert run("pcap", str(GOLDEN / "lab-inject-reset.pcap")).returncode == 1


def test_json_envelope() -> None:
    proc = run("pcap", str(GOLDEN / "lab-mtu-blackhole.pcap"), "--json")
    assert proc.returncode == 1, proc.stderr.decode()
    doc = json.loads(proc.stdout)
    assert doc["schema"] == "tlsdoctor.report/1" and doc["command"] == "pcap"
    assert doc["causes"][0]["id"] == "path-mtu-blackhole"
    assert doc["flows"][0]["server"] == "198.18.2.2:443" and doc["flows"][0]["sni"] == "www.lab.test"
    assert [c["id"] for c in doc["checks"]] == ["pcap.read", "pcap.flows"]


def test_not_a_capture_is_one_line_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "notes.txt"
    bad.write_text("not a capture\n")
    proc = run("pcap", str(bad))
    err = proc.stderr.decode()
    assert proc.returncode == 2 and err.count("\n") == 1 and "not a pcap or pcapng capture" in err
    assert proc.stdout == b""


def test_human_report_streams_the_ladder_then_the_summary() -> None:
    proc = run("pcap", str(GOLDEN / "tls10-only.pcap"))
    out = proc.stdout.decode()
    assert out.index("flow #1") < out.index("Most likely cause")
    assert "alert fatal protocol_version (70)" in out and "protocol-mismatch" in out


def test_demo_analyses_its_own_recorded_endpoints() -> None:
    proc = run("demo", "--only", "pcap", "--json")
    doc = json.loads(proc.stdout)
    rows = doc["results"]
    assert proc.returncode == 0, rows
    assert len(rows) >= 12 and all(r["ok"] for r in rows)
    assert {r["endpoint"] for r in rows} >= {"pcap: reset-after-hello", "pcap: expired", "pcap: silent"}
