"""`tlsdoctor scan` over a long path, against sslyze and nmap's ssl-enum-ciphers, in one run.

    python bench/scan_rtt.py            (run by hand; needs nginx, openssl, nmap, and sslyze in a
                                         separate venv: python3 -m venv /work/venv-sslyze &&
                                         /work/venv-sslyze/bin/pip install sslyze)

Two nginx servers on loopback, built the way bench/scan_bench.sh builds its server: a modern one
(TLS 1.2-1.3, ECDHE with AEAD only) and a legacy one (TLS 1.0-1.2, every suite OpenSSL still
has at security level 0, DHE included: ~60 TLS 1.2 suites). Each sits behind the delay relay
(tlsdoctor.testing.delay, its own process) at ONE_WAY_MS (default 50 ms each way: a 100 ms
round trip) and is also scanned directly (loopback). Per target and path, RUNS rounds
(default 3) of: tlsdoctor, sslyze, nmap (nmap through the relay only), whole processes, wall
time. Prints every run, the medians, the ratios the issue asks for (scan <= 1/4 of sslyze and
below nmap through the relay, <= 1/3 of sslyze on loopback), and tlsdoctor's own account of its
critical path (scan.round_trips: sequential waves, next to the floor the answers force).
Environment: RUNS, ONE_WAY_MS, SSLYZE, NMAP, SKIP_NMAP=1, SKIP_LOOPBACK=1, BASELINE_SRC (another
checkout's src/, scanned the same way as "baseline": before and after in one run).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tlsdoctor.testing.nginx import NGINX, Site, running

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python")
TLSDOCTOR = os.environ.get("TLSDOCTOR", str(ROOT / ".venv" / "bin" / "tlsdoctor"))
SSLYZE = os.environ.get("SSLYZE", "/work/venv-sslyze/bin/sslyze")
NMAP = os.environ.get("NMAP", shutil.which("nmap") or "/usr/bin/nmap")
RUNS = int(os.environ.get("RUNS", "3"))
ONE_WAY_MS = float(os.environ.get("ONE_WAY_MS", "50"))
BASELINE_SRC = os.environ.get("BASELINE_SRC", "")  # e.g. a main checkout's src/: "before" beside "after"

SERVERS = {
    "modern": ("TLSv1.2 TLSv1.3", "ECDHE+AESGCM:ECDHE+CHACHA20"),
    "legacy": ("TLSv1 TLSv1.1 TLSv1.2", "ALL:!aNULL:!eNULL:!PSK:!SRP:@SECLEVEL=0"),
}


def keys(work: Path) -> None:
    """An RSA and an ECDSA self-signed certificate, and RFC 7919's ffdhe2048 for DHE."""
    run = ["openssl", "req", "-x509", "-nodes", "-days", "30", "-subj", "/CN=localhost"]
    san = ["-addext", "subjectAltName=DNS:localhost"]
    subprocess.run([*run, "-newkey", "rsa:2048", "-keyout", work / "rsa.key", "-out", work / "rsa.pem", *san],
                   check=True, capture_output=True)  # fmt: skip
    subprocess.run([*run, "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-keyout", work / "ec.key",
                    "-out", work / "ec.pem", *san], check=True, capture_output=True)  # fmt: skip
    subprocess.run(["openssl", "genpkey", "-genparam", "-algorithm", "DH", "-pkeyopt", "group:ffdhe2048",
                    "-out", work / "dh.pem"], check=True, capture_output=True)  # fmt: skip


@contextmanager
def process(cmd: list[str], **kw: Any) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(cmd, text=True, **kw)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)  # our own child, by its PID
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(5)


@contextmanager
def nginx(work: Path, name: str) -> Iterator[int]:
    """nginx as production runs it (a master, two workers), both keys() certificates, every curve."""
    protocols, ciphers = SERVERS[name]
    tls = (
        f"ssl_certificate {work}/ec.pem; ssl_certificate_key {work}/ec.key; ssl_dhparam {work}/dh.pem;\n"
        f"    ssl_protocols {protocols}; ssl_ciphers '{ciphers}';\n"
        "    ssl_ecdh_curve X25519:prime256v1:secp384r1:secp521r1; ssl_prefer_server_ciphers on;"
    )
    site = Site(cert=work / "rsa.pem", key=work / "rsa.key", tls=tls, listen=" http2")
    with running(work / name, site, master=True, workers=2, connections=1024) as port:
        yield port


@contextmanager
def relay(port: int) -> Iterator[int]:
    cmd = [
        PYTHON,
        "-m",
        "tlsdoctor.testing.delay",
        "--to",
        f"127.0.0.1:{port}",
        "--one-way-ms",
        str(ONE_WAY_MS),
    ]
    with process(cmd, stdout=subprocess.PIPE) as proc:
        assert proc.stdout is not None
        yield int(proc.stdout.readline())


def timed(cmd: list[str]) -> tuple[float, str]:
    start = time.monotonic()
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
    return time.monotonic() - start, out.stdout


def tools(port: int, far: bool) -> dict[str, list[str]]:
    scan = ["scan", f"127.0.0.1:{port}", "--servername", "localhost", "--json"]
    cmds = {"tlsdoctor": [TLSDOCTOR, *scan]}
    if BASELINE_SRC:  # the same command on another checkout's code (before/after in one run)
        cmds["baseline"] = ["env", f"PYTHONPATH={BASELINE_SRC}", PYTHON, "-m", "tlsdoctor", *scan]
    cmds["sslyze"] = [SSLYZE, f"127.0.0.1:{port}", "--quiet"]
    if far and not os.environ.get("SKIP_NMAP"):
        cmds["nmap"] = [NMAP, "-Pn", "-n", "-p", str(port), "--script", "ssl-enum-ciphers", "127.0.0.1"]
    return cmds


def summary(doc: dict[str, Any]) -> tuple[dict[str, list[str]], dict[str, Any]]:
    scan = doc["scan"]
    suites = {p["version"]: p["cipher_suites"] for p in scan["protocols"] if p["supported"]}
    nan = float("nan")  # a baseline from before scan.round_trips existed
    rt = scan.get("round_trips") or {"critical_path": nan, "floor": nan, "phases": {}}
    return suites, rt | {"handshakes": scan["handshakes"]}


def report(
    times: dict[tuple[str, str, str], list[float]],
    waves: dict[tuple[str, str, str], list[dict[str, Any]]],
    lists: dict[tuple[str, str, str], dict[str, list[str]]],
) -> None:
    """Medians per target and path, the ratios, and the critical path next to its floor."""
    med = statistics.median
    nan = float("nan")
    print(
        "\nmedians (s)      tlsdoctor baseline   sslyze     nmap  td/sslyze  td/nmap  waves floor  base-waves"
    )
    for name, path in dict.fromkeys((n, p) for n, p, _ in times):
        got = {tool: med(times[(name, path, tool)]) for n, p, tool in times if (n, p) == (name, path)}
        td, sy, nm, base = got["tlsdoctor"], got["sslyze"], got.get("nmap", nan), got.get("baseline", nan)
        rts = waves[(name, path, "tlsdoctor")]
        crit = med(r["critical_path"] for r in rts)
        base_crit = med(
            r["critical_path"] for r in waves.get((name, path, "baseline"), [{"critical_path": nan}])
        )
        print(
            f"{name:6s} {path:8s} {td:8.2f} {base:8.2f} {sy:8.2f} {nm:8.2f}   {td / sy:8.3f} {td / nm:8.3f}"
            f"  {crit:5.1f} {rts[0]['floor']:5}  {base_crit:5.1f}"
        )
    for name in SERVERS:
        mine = lists.get((name, "relay", "tlsdoctor"))
        if mine is None:
            continue
        counts = {v: len(s) for v, s in mine.items()}
        same = {
            f"{p}/{t}": lists[(n, p, t)] == mine
            for n, p, t in lists
            if n == name and (p, t) != ("relay", "tlsdoctor")
        }
        print(f"{name}: suites per version {counts}; the same lists elsewhere: {same}")
    for (name, path, tool), rts in waves.items():
        phases = {k: v["waves"] for k, v in rts[-1]["phases"].items()}
        print(f"{name} {path} {tool}: last run's waves per phase {phases}")


def main() -> int:
    for tool in (NGINX or "nginx", SSLYZE, "openssl") + (() if os.environ.get("SKIP_NMAP") else (NMAP,)):
        if not shutil.which(tool) and not Path(tool).exists():
            print(f"missing: {tool}", file=sys.stderr)
            return 2
    subprocess.run([PYTHON, "-m", "compileall", "-q", str(ROOT / "src" / "tlsdoctor")], check=True)
    times: dict[tuple[str, str, str], list[float]] = {}
    waves: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    lists: dict[tuple[str, str, str], dict[str, list[str]]] = {}
    print(f"load before: {os.getloadavg()}  one way {ONE_WAY_MS} ms  runs {RUNS}")
    with tempfile.TemporaryDirectory(prefix="scan-rtt.") as tmp:
        work = Path(tmp)
        keys(work)
        with (
            nginx(work, "modern") as modern,
            nginx(work, "legacy") as legacy,
            relay(modern) as modern_far,
            relay(legacy) as legacy_far,
        ):
            targets = [("modern", "relay", modern_far), ("legacy", "relay", legacy_far)]
            if not os.environ.get("SKIP_LOOPBACK"):
                targets += [("modern", "loopback", modern), ("legacy", "loopback", legacy)]
            for i, (name, path, port) in ((i, t) for i in range(RUNS) for t in targets):
                for tool, cmd in tools(port, path == "relay").items():
                    wall, out = timed(cmd)
                    times.setdefault((name, path, tool), []).append(wall)
                    note = ""
                    if tool in ("tlsdoctor", "baseline"):
                        suites, rt = summary(json.loads(out))
                        lists.setdefault((name, path, tool), suites)
                        waves.setdefault((name, path, tool), []).append(rt)
                        note = f"waves {rt['critical_path']} (floor {rt['floor']}), {rt['handshakes']} hs"
                    print(f"run {i + 1} {name:6s} {path:8s} {tool:9s} {wall:6.2f} s  {note}", flush=True)
    print(f"load after: {os.getloadavg()}")
    report(times, waves, lists)
    return 0


if __name__ == "__main__":
    sys.exit(main())
