"""The scan's version and suite part alone, and the whole scan, against sslyze, as whole processes, one run.

    python bench/scan_parts.py                 (run by hand; needs nginx, openssl, and sslyze in its own venv:
                                                python3 -m venv /work/venv-sslyze &&
                                                /work/venv-sslyze/bin/pip install sslyze)
    python bench/scan_parts.py part HOST:PORT [SERVERNAME]
                                               (the part alone: the version probes, then every supported
                                                version's suites in order; JSON on stdout)

Issue 14 asks that "the version and suite part alone keeps <= 1/3 of sslyze" while the full scan stays
<= 1/2 of sslyze's default scan. There is no command-line switch for a part of the scan, so the part runs
here as its own process through the library: ``scanner.scan(phases=(cipher-suites,), clients=False)``,
the very schedule, gate and probes of the whole scan (a phase's module loads only when the phase runs, so
this process imports what the part needs and nothing more). Its suite lists are checked against the full
scan's. As extra context, sslyze with only its cipher-suite commands (--sslv2 ... --tlsv1_3).

Servers: bench/scan_full.py's "modern" (TLS 1.2-1.3, ECDHE AEAD) and "legacy" (TLS 1.0-1.2, every suite
OpenSSL 3 has at @SECLEVEL=0, NULL and anonymous ones included). Per server, RUNS rounds (default 7) of the
four commands in turn (after one warm-up round), each a whole process: wall time and CPU seconds
(user + system, the process and its children, from wait4). Prints the medians, the per-round ratios'
medians (each ratio from one round, so a machine whose load drifts compares like with like), and the load.
Environment: RUNS, SSLYZE, NGINX, TLSDOCTOR.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

RUNS = int(os.environ.get("RUNS", "7"))
SSLYZE_SUITES = ["--sslv2", "--sslv3", "--tlsv1", "--tlsv1_1", "--tlsv1_2", "--tlsv1_3"]


def part(target: str, servername: str | None) -> None:
    """The version wave and the cipher-suites phase of a scan, nothing else; protocols as JSON."""
    import asyncio

    from tlsdoctor.scan.prober import ScanTarget
    from tlsdoctor.scan.scanner import PHASES, scan
    from tlsdoctor.wire.registry import suite_name

    host, _, port = target.rpartition(":")
    suites = tuple(p for p in PHASES if p[0] == "cipher-suites")
    st = ScanTarget(address=host, port=int(port), servername=servername, verify_name=servername or host)
    data = asyncio.run(scan(st, phases=suites, clients=False))
    out = [
        {"version": p.version, "supported": p.supported, "server_order": p.server_order,
         "cipher_suites": [suite_name(s) for s in p.suites] if p.version != "SSLv2" else p.suites}
        for p in data.protocols
    ]  # fmt: skip
    print(json.dumps({"protocols": out, "handshakes": data.handshakes, "round_trips": data.round_trips}))


def run(cmd: list[str]) -> tuple[float, float, str]:
    """One whole process: wall seconds, CPU seconds (its own and its reaped children's), stdout."""
    import subprocess
    import tempfile
    import time

    start = time.monotonic()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.DEVNULL)
        _, _, usage = os.wait4(proc.pid, 0)
        proc.returncode = 0  # reaped by wait4
        wall = time.monotonic() - start
        out.seek(0)
        text = out.read().decode()
    return wall, usage.ru_utime + usage.ru_stime, text


def commands(full: Any, port: int) -> dict[str, list[str]]:
    target = f"127.0.0.1:{port}"
    return {
        "full": [full.TLSDOCTOR, "scan", target, "--servername", "localhost", "--json"],
        "part": [full.rtt.PYTHON, __file__, "part", target, "localhost"],
        "sslyze": [full.SSLYZE, target, "--quiet"],
        "sslyze-suites": [full.SSLYZE, target, "--quiet", *SSLYZE_SUITES],
    }


def suites_of(text: str, key: str) -> dict[str, list[Any]]:
    doc = json.loads(text)
    protocols = doc["scan"]["protocols"] if key == "full" else doc["protocols"]
    return {p["version"]: p["cipher_suites"] for p in protocols if p["supported"]}


def ratio(walls: dict[str, list[float]], a: str, b: str) -> float:
    """The median of the per-round ratios a/b (each from one round: like with like as the load drifts)."""
    import statistics

    return statistics.median(x / y for x, y in zip(walls[a], walls[b], strict=True))


def main() -> None:
    import statistics
    import tempfile
    from contextlib import ExitStack
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import scan_full as full  # bench/ is not a package: the servers and keys are scan_full's (scan_rtt's)

    with ExitStack() as stack, tempfile.TemporaryDirectory(prefix="scan-parts.") as tmp:
        work = full.keys(Path(tmp))
        ports = {name: stack.enter_context(full.rtt.nginx(work, name)) for name in ("modern", "legacy")}
        print(f"load before: {os.getloadavg()}  servers {ports}", flush=True)
        for name, port in ports.items():
            cmds = commands(full, port)
            walls: dict[str, list[float]] = {k: [] for k in cmds}
            cpus: dict[str, list[float]] = {k: [] for k in cmds}
            lists: dict[str, dict[str, list[Any]]] = {}
            for i in range(RUNS + 1):  # round 0: warm-up (page cache, bytecode), not counted
                for key, cmd in cmds.items():
                    wall, cpu, text = run(cmd)
                    if key in ("full", "part"):
                        lists[key] = suites_of(text, key)
                    if i:
                        walls[key].append(wall)
                        cpus[key].append(cpu)
            med = statistics.median
            print(f"\n{name} (port {port}), {RUNS} rounds, load now {os.getloadavg()[0]:.2f}")
            print("  command          wall s   cpu s")
            for key in cmds:
                print(f"  {key:14s} {med(walls[key]):7.3f} {med(cpus[key]):7.3f}")

            print(
                "  ratios (median of per-round ratios): "
                f"full/sslyze {ratio(walls, 'full', 'sslyze'):.3f} (<= 0.5), "
                f"part/sslyze {ratio(walls, 'part', 'sslyze'):.3f} (<= 0.333), "
                f"part/sslyze-suites {ratio(walls, 'part', 'sslyze-suites'):.3f}"
            )
            same = lists.get("full") == lists.get("part")
            print(f"  the part's suite lists equal the full scan's: {same}")


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "part":
        part(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None)
    else:
        main()
