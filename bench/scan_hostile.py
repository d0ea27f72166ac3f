"""`tlsdoctor scan` (or `diagnose`, `--command diagnose`) against each hostile server
(tlsdoctor.testing.hostile) and a stopped helper process: exit status, wall time, peak RSS
(/usr/bin/time -v) and verdict per case, for issue 10's before/after table.

    .venv/bin/python bench/scan_hostile.py [--command scan|diagnose] [--src DIR] [--timeout S]
        [--cap S] [CASE ...]

`--src` is the `src/` directory whose tlsdoctor runs the scan (an exported older commit gives the "before"
column; the servers always come from this checkout). `--cap` kills a scan that runs longer (reported as
"killed"). The `helper-stopped` case scans a healthy server and SIGSTOPs the scan's helper process as soon
as it exists; it is killed by PID at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from tlsdoctor.testing import TlsServer
from tlsdoctor.testing.base import FaultServer
from tlsdoctor.testing.hostile import HOSTILE, start_hostile

ROOT = Path(__file__).resolve().parent.parent


def children(pid: int) -> list[int]:
    with contextlib.suppress(OSError):
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
        return [int(p) for p in text.split()]
    return []


def run_case(
    name: str, server: FaultServer, src: Path, timeout: float, cap: float, command: str = "scan"
) -> dict[str, object]:
    cmd = ["/usr/bin/time", "-v", sys.executable, "-m", "tlsdoctor", command, f"127.0.0.1:{server.port}"]
    cmd += ["--timeout", str(timeout), "--json"]
    if server.ca_file:
        cmd += ["--ca-file", str(server.ca_file)]
    env = {**os.environ, "PYTHONPATH": str(src), "NO_COLOR": "1"}
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    stopped: list[int] = []
    if name == "helper-stopped":  # time -> python (the scan) -> python (the helper)
        deadline = time.monotonic() + 5.0
        while not stopped and time.monotonic() < deadline and proc.poll() is None:
            for scan_pid in children(proc.pid):
                for helper in children(scan_pid):
                    os.kill(helper, signal.SIGSTOP)
                    stopped.append(helper)
            time.sleep(0.002)
    killed = False
    try:
        out, err = proc.communicate(timeout=cap)
    except subprocess.TimeoutExpired:
        killed = True
        for pid in [*stopped, *children(proc.pid)]:  # the helper holds the pipes open: it goes too
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        for scan_pid in children(proc.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(scan_pid, signal.SIGKILL)
        out, err = proc.communicate()
    finally:
        for pid in stopped:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    wall = time.monotonic() - start
    rss = re.search(rb"Maximum resident set size \(kbytes\): (\d+)", err)
    status = re.search(rb"Exit status: (\d+)", err)
    verdict, partial, protocols = "-", None, ""
    with contextlib.suppress(ValueError):
        report = json.loads(out)
        verdict = report.get("verdict", "-")
        scan = report.get("scan") or {}
        partial = scan.get("partial")
        protocols = ",".join(p["version"] for p in scan.get("protocols", []) if p.get("supported"))
        causes = [c["id"] for c in report.get("causes", [])][:2]
        verdict = f"{verdict} ({', '.join(causes)})"
    return {
        "case": name,
        "exit": "killed" if killed else (int(status.group(1)) if status else proc.returncode),
        "wall_s": round(wall, 2),
        "rss_mb": round(int(rss.group(1)) / 1024, 1) if rss else None,
        "verdict": verdict,
        "supported": protocols,
        "partial": partial,
        "helper_stopped": bool(stopped) if name == "helper-stopped" else None,
        "stderr": err.decode(errors="replace").split("\tCommand being timed")[0].strip()[-300:],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("cases", nargs="*", default=[*HOSTILE, "helper-stopped"])
    parser.add_argument("--command", choices=("scan", "diagnose"), default="scan")
    parser.add_argument("--src", type=Path, default=ROOT / "src")
    parser.add_argument("--timeout", type=float, default=5.0)
    parser.add_argument("--cap", type=float, default=300.0)
    args = parser.parse_args()
    for name in args.cases:
        if name == "helper-stopped" and args.command != "scan":
            continue  # only scan forks a helper
        server: FaultServer = TlsServer().start() if name == "helper-stopped" else start_hostile(name)
        try:
            row = run_case(name, server, args.src, args.timeout, args.cap, args.command)
        finally:
            server.stop()
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
