"""tlsdoctor's exporter against Debian's blackbox_exporter, side by side in one run (by hand, not CI).

    .venv/bin/python bench/exporter_bench.py [--seconds 15] [--soak 100000] [--batch 1000]

Needs Debian's nginx (the healthy endpoint, so the server is not what is measured), hey (the load
generator, Go: not the bottleneck) and prometheus-blackbox-exporter. Both exporters probe the same
nginx with a full TLS handshake (no resumption) and the same trust anchor; tlsdoctor runs with
``--share-window 0`` so every probe is a probe of its own, as blackbox_exporter's are; the mixed
phase also runs against a second exporter with the shipped defaults (probes of a target within 2 s
share one diagnosis).

Phases:
  healthy  hey -c 32 for --seconds against each (alternated, twice): probes/s, p50, p99, errors
  mixed    a Prometheus-like scraper: 100 targets, 10 of them silent, each scraped every 2 s with a
           2 s scrape timeout for --seconds: how many scrapes were not answered within the timeout
  soak     hey -n --soak -c 32 against tlsdoctor: RSS before and after (and blackbox_exporter's)
  batch    tlsdoctor diagnose --targets with --batch loopback targets, 10 % broken: wall time
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from tlsdoctor.testing import LeafSpec, Pki, TlsServer
from tlsdoctor.testing.nginx import Site, running
from tlsdoctor.testing.processes import free_port, serving
from tlsdoctor.testing.tcpfaults import RefusedServer, ResetAfterHelloServer

SCRAPE_TIMEOUT_S = 2.0


def daemon(
    command: list[str], port: int, what: str
) -> contextlib.AbstractContextManager[subprocess.Popen[bytes]]:
    """A server under test, asked to stop with SIGTERM (the exporter drains) before it is killed."""
    return serving(command, port, what, grace=10.0)


def rss_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) in MB."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line
    )
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def hey(
    url: str, *, seconds: float | None = None, count: int | None = None, concurrency: int = 32
) -> dict[str, float]:
    args = [
        "hey",
        "-c",
        str(concurrency),
        "-t",
        "10",
        "-H",
        f"X-Prometheus-Scrape-Timeout-Seconds: {SCRAPE_TIMEOUT_S * 5}",
    ]
    args += ["-z", f"{seconds}s"] if seconds else ["-n", str(count)]
    out = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = float(re.search(r"50%+ in ([\d.]+) secs", out).group(1))  # type: ignore[union-attr]
    p99 = float(re.search(r"99%+ in ([\d.]+) secs", out).group(1))  # type: ignore[union-attr]
    codes = {int(c): int(n) for c, n in re.findall(r"\[(\d+)\]\s+(\d+) responses", out)}
    failed = sum(int(n) for n in re.findall(r"^\s+\[(\d+)\]\s+Get ", out, re.MULTILINE))  # hey's errors
    errors = sum(n for c, n in codes.items() if c != 200) + failed
    return {"rate": rate, "p50": p50, "p99": p99, "ok": codes.get(200, 0), "errors": errors}


async def scrape_mix(base: str, targets: list[str], seconds: float) -> tuple[int, int, float]:
    """Scrape every target every SCRAPE_TIMEOUT_S seconds, staggered, as Prometheus would:
    (scrapes, not answered in time, slowest answer)."""
    import aiohttp

    late = 0
    done = 0
    slowest = 0.0
    headers = {"X-Prometheus-Scrape-Timeout-Seconds": str(SCRAPE_TIMEOUT_S)}
    timeout = aiohttp.ClientTimeout(total=SCRAPE_TIMEOUT_S)
    end = time.monotonic() + seconds

    async def one_target(session: aiohttp.ClientSession, target: str, offset: float) -> None:
        nonlocal late, done, slowest
        await asyncio.sleep(offset)
        while time.monotonic() < end:
            start = time.monotonic()
            try:
                async with session.get(f"{base}&target={target}", headers=headers, timeout=timeout) as answer:
                    await answer.read()
                    ok = answer.status == 200
            except (TimeoutError, aiohttp.ClientError):
                ok = False
            took = time.monotonic() - start
            slowest = max(slowest, took)
            done += 1
            late += not ok or took > SCRAPE_TIMEOUT_S
            await asyncio.sleep(max(0.0, SCRAPE_TIMEOUT_S - took))

    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        step = SCRAPE_TIMEOUT_S / len(targets)
        await asyncio.gather(*(one_target(session, t, i * step) for i, t in enumerate(targets)))
    return done, late, slowest


@contextlib.contextmanager
def silent_servers(count: int) -> Iterator[list[int]]:
    """``count`` silent endpoints in a process of their own: a tlsdoctor playbook opens a dozen
    connections to a silent endpoint, and a thread per connection in the measuring process would
    make the scraper itself late."""
    code = (
        "import sys, time\n"
        "from tlsdoctor.testing.tcpfaults import SilentServer\n"
        f"servers = [SilentServer().start() for _ in range({count})]\n"
        "print(' '.join(str(s.port) for s in servers), flush=True)\n"
        "sys.stdin.read()\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        yield [int(p) for p in proc.stdout.readline().split()]
    finally:
        proc.kill()
        proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--soak", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--phases", default="healthy,mixed,soak,batch")
    opts = parser.parse_args()
    phases = set(opts.phases.split(","))
    for tool in ("nginx", "hey", "prometheus-blackbox-exporter"):
        if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists():
            raise SystemExit(f"needs {tool} (apt-get install)")
    work = Path(tempfile.mkdtemp(prefix="exporter-bench-"))
    with contextlib.ExitStack() as stack:
        pki = stack.enter_context(Pki())
        files = pki.issue("bench", LeafSpec())
        site = Site(cert=files.chain_file, key=files.key_file, name=None, listen=" backlog=4096")
        no_resumption = "ssl_session_cache off; ssl_session_tickets off;"
        nginx_port = stack.enter_context(running(work / "nginx", site, http=no_resumption, connections=4096))
        silent = stack.enter_context(silent_servers(10))
        (work / "exporter.yml").write_text(
            f"modules:\n  bench:\n    servername: localhost\n    ca_file: {files.ca_file}\n    timeout: 2\n"
        )
        (work / "blackbox.yml").write_text(
            "modules:\n  bench:\n    prober: tcp\n    timeout: 2s\n    tcp:\n      tls: true\n"
            f"      tls_config: {{ca_file: {files.ca_file}, server_name: localhost}}\n"
        )
        td_port, bb_port, shared_port = free_port(), free_port(), free_port()
        td = stack.enter_context(
            daemon(
                [
                    sys.executable,
                    "-m",
                    "tlsdoctor",
                    "exporter",
                    "--listen",
                    f"127.0.0.1:{td_port}",
                    "--config",
                    str(work / "exporter.yml"),
                    "--share-window",
                    "0",
                    "--max-diagnoses",
                    "10000",
                ],
                td_port,
                "tlsdoctor exporter",
            )
        )
        # The mixed phase scrapes like Prometheus, so it gets the exporter as shipped: its defaults,
        # single-flight included (a silent target's diagnosis is shared by the scrapes that meet it).
        stack.enter_context(
            daemon(
                [
                    sys.executable,
                    "-m",
                    "tlsdoctor",
                    "exporter",
                    "--listen",
                    f"127.0.0.1:{shared_port}",
                    "--config",
                    str(work / "exporter.yml"),
                ],
                shared_port,
                "tlsdoctor exporter (defaults)",
            )
        )
        bb = stack.enter_context(
            daemon(
                [
                    "prometheus-blackbox-exporter",
                    f"--config.file={work / 'blackbox.yml'}",
                    f"--web.listen-address=127.0.0.1:{bb_port}",
                ],
                bb_port,
                "blackbox_exporter",
            )
        )
        urls = {
            "tlsdoctor": f"http://127.0.0.1:{td_port}/probe?module=bench",
            "blackbox": f"http://127.0.0.1:{bb_port}/probe?module=bench",
            "tlsdoctor (defaults)": f"http://127.0.0.1:{shared_port}/probe?module=bench",
        }
        healthy = f"127.0.0.1:{nginx_port}"
        print(
            f"# rss at start: tlsdoctor {rss_mb(td.pid)[0]:.0f} MB, blackbox {rss_mb(bb.pid)[0]:.0f} MB",
            flush=True,
        )
        if "healthy" in phases:
            runs: dict[str, list[dict[str, float]]] = {"tlsdoctor": [], "blackbox": []}
            hey(f"{urls['tlsdoctor']}&target={healthy}", count=500)  # warm-up: contexts, imports
            hey(f"{urls['blackbox']}&target={healthy}", count=500)
            pids = {"tlsdoctor": td.pid, "blackbox": bb.pid}
            for _ in range(2):
                for tool in ("blackbox", "tlsdoctor"):
                    cpu = cpu_s(pids[tool])
                    got = hey(f"{urls[tool]}&target={healthy}", seconds=opts.seconds)
                    got["cpu_ms"] = (cpu_s(pids[tool]) - cpu) * 1000 / max(1.0, got["ok"])
                    runs[tool].append(got)
            print("| healthy, 32 concurrent | probes/s | p50 ms | p99 ms | non-200 | exporter CPU ms/probe |")
            print("|---|---|---|---|---|---|")
            for tool, got in runs.items():
                rate = statistics.median(r["rate"] for r in got)
                p50 = statistics.median(r["p50"] for r in got) * 1000
                p99 = max(r["p99"] for r in got) * 1000
                errors = sum(r["errors"] for r in got)
                cpu_ms = statistics.median(r["cpu_ms"] for r in got)
                print(
                    f"| {tool} | {rate:.0f} | {p50:.0f} | {p99:.0f} | {errors} | {cpu_ms:.2f} |", flush=True
                )
            ratio = statistics.median(r["rate"] for r in runs["tlsdoctor"]) / statistics.median(
                r["rate"] for r in runs["blackbox"]
            )
            print(f"# tlsdoctor / blackbox probes/s: {ratio:.2f}", flush=True)
        if "mixed" in phases:
            targets = [healthy] * 90 + [f"127.0.0.1:{port}" for port in silent]
            print(
                f"| 100 targets, 10 silent, every {SCRAPE_TIMEOUT_S:.0f} s "
                f"| scrapes | late or failed | slowest s |"
            )
            print("|---|---|---|---|")
            for tool in ("blackbox", "tlsdoctor", "tlsdoctor (defaults)"):
                done, late, slowest = asyncio.run(scrape_mix(urls[tool], targets, opts.seconds * 2))
                print(f"| {tool} | {done} | {late} | {slowest:.2f} |", flush=True)
        if "soak" in phases:
            before = rss_mb(td.pid)
            start = time.monotonic()
            got = hey(f"{urls['tlsdoctor']}&target={healthy}", count=opts.soak)
            after = rss_mb(td.pid)
            print(
                f"# soak: {opts.soak} probes in {time.monotonic() - start:.0f} s ({got['rate']:.0f}/s, p99 "
                f"{got['p99'] * 1000:.0f} ms, non-200 {got['errors']:.0f}); tlsdoctor RSS {before[0]:.0f} -> "
                f"{after[0]:.0f} MB (peak {after[1]:.0f} MB); blackbox RSS {rss_mb(bb.pid)[0]:.0f} MB",
                flush=True,
            )
        if "batch" in phases:
            broken = opts.batch // 10
            faults = [
                stack.enter_context(ResetAfterHelloServer()),
                stack.enter_context(RefusedServer()),
                stack.enter_context(TlsServer(leaf=LeafSpec(valid_from_days=-90, valid_until_days=-2))),
            ]
            lines = [healthy] * (opts.batch - broken)
            ports = [f.port for f in faults]
            for i in range(broken):  # every tenth line a broken one, as in a real inventory
                # the silent ones spread over the ten silent servers: each holds 32 connections and a
                # backlog of 64, and a playbook opens a dozen (past that, SYNs would be dropped)
                port = ports[i % 4] if i % 4 < 3 else silent[(i // 4) % len(silent)]
                lines.insert(i * 10, f"127.0.0.1:{port}")
            listing = work / "targets.txt"
            listing.write_text("\n".join(lines) + "\n")
            start = time.monotonic()
            proc = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "tlsdoctor",
                    "diagnose",
                    "--targets",
                    str(listing),
                    "--json",
                    "--concurrency",
                    "32",
                    "--servername",
                    "localhost",
                    "--ca-file",
                    str(files.ca_file),
                ],
                capture_output=True,
                text=True,
                check=False,
            )
            took = time.monotonic() - start
            import json

            reports = [json.loads(line) for line in proc.stdout.splitlines()]
            verdicts: dict[str, int] = {}
            for r in reports:
                verdicts[r["verdict"]] = verdicts.get(r["verdict"], 0) + 1
            print(
                f"# batch: {len(lines)} targets ({broken} broken: reset, refused, expired, silent) "
                f"in {took:.1f} s, "
                f"exit {proc.returncode}, {len(reports)} reports, verdicts {verdicts}",
                flush=True,
            )
            doubtful = Counter(r["causes"][0]["id"] for r in reports if r["verdict"] == "inconclusive")
            slow = sorted(r["duration_ms"] for r in reports if r["verdict"] != "healthy")
            if slow:
                print(
                    f"# batch: broken targets' reports took p50 {slow[len(slow) // 2] / 1000:.1f} s, "
                    f"max {slow[-1] / 1000:.1f} s; inconclusive by top candidate {dict(doubtful)}",
                    flush=True,
                )
            print(proc.stderr[-1200:])
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
