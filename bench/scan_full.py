"""`tlsdoctor scan` (the full scan) against sslyze, testssl.sh, sslscan and nmap on the same servers, one run.

    python bench/scan_full.py        (run by hand; needs nginx, openssl, /usr/bin/time, sslscan, nmap, testssl
                                      (Debian testssl.sh) and sslyze in its own venv: python3 -m venv
                                      /work/venv-sslyze && /work/venv-sslyze/bin/pip install sslyze)
    python bench/scan_full.py vulns  (each vulnerability probe against its crafted and its patched servers)

Servers (bench/scan_rtt.py's nginx and keys): "modern" (TLS 1.2-1.3, ECDHE with AEAD only) and "legacy"
(TLS 1.0-1.2, every suite OpenSSL 3 still has at @SECLEVEL=0, NULL and anonymous ones included).
Default mode: per server, every tool once under /usr/bin/time -v (wall time, peak RSS), the outputs kept in
OUT (default: a new /tmp/scan-full.* directory, printed) for the feature table; then tlsdoctor's grade,
profile and exit status at every --fail-on level, and the time its version and suite phases took (from
scan.round_trips: the versions wave and the cipher-suites phase end, in ms from the scan's start; there is
no switch that runs only that part). HOLD=FILE keeps the servers up afterwards (ports printed) until FILE
exists, so paired timings can be taken with another tool. TESTSSL_RUNS (default 1), SKIP_TESTSSL=1.
"vulns" mode: per contract id, the crafted server of tests/local/test_vulns.py (tlsdoctor.testing.vulnerable)
scanned by tlsdoctor, by sslyze's matching command and by testssl.sh's matching check, then the same
against the patched servers (nginx legacy, openssl s_server).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import scan_rtt as rtt  # bench/ is not a package: the servers and keys are scan_rtt's

from tlsdoctor.testing.nginx import NGINX
from tlsdoctor.testing.processes import free_port, serving

ROOT = rtt.ROOT
TLSDOCTOR = rtt.TLSDOCTOR
SSLYZE = rtt.SSLYZE
TESTSSL = os.environ.get("TESTSSL", shutil.which("testssl") or shutil.which("testssl.sh") or "testssl")
SSLSCAN = os.environ.get("SSLSCAN", shutil.which("sslscan") or "sslscan")
TESTSSL_RUNS = int(os.environ.get("TESTSSL_RUNS", "1"))
LEVELS = ("critical", "high", "medium", "low")

# The legacy server of the issue: TLS 1.0 on, NULL and anonymous suites allowed.
rtt.SERVERS["legacy"] = ("TLSv1 TLSv1.1 TLSv1.2", "ALL:COMPLEMENTOFALL:!PSK:!SRP:@SECLEVEL=0")


def timed(name: str, cmd: list[str], out: Path) -> dict[str, Any]:
    """One run of ``cmd`` under /usr/bin/time -v: wall seconds, peak RSS (MiB), exit status."""
    tfile = out / f"{name}.time"
    with (out / f"{name}.out").open("w") as so, (out / f"{name}.err").open("w") as se:
        proc = subprocess.run(
            ["/usr/bin/time", "-v", "-o", str(tfile), *cmd], stdout=so, stderr=se, timeout=1800
        )
    text = tfile.read_text()
    m, s = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+(?:\.\d+)?)$", text, re.M).groups()  # type: ignore[union-attr]
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", text).group(1))  # type: ignore[union-attr]
    return {"wall": int(m or 0) * 60 + float(s), "rss": rss / 1024, "rc": proc.returncode}


def keys(out: Path) -> Path:
    """scan_rtt's keys in OUT/keys, and ca.pem: both self-signed leaves, the anchors tlsdoctor is given
    (--ca-file, a private CA's role) so its grade judges the configuration, not the self-signing (T)."""
    work = out / "keys"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    rtt.keys(work)
    (work / "ca.pem").write_text((work / "rsa.pem").read_text() + (work / "ec.pem").read_text())
    return work


def tools(port: int, out: Path, name: str) -> dict[str, list[str]]:
    """Each tool's default scan of 127.0.0.1:port, machine-readable output into ``out``."""
    target = f"127.0.0.1:{port}"
    ca = str(out / "keys" / "ca.pem")
    return {
        "tlsdoctor": [TLSDOCTOR, "scan", target, "--servername", "localhost", "--ca-file", ca, "--json"],
        "sslyze": [SSLYZE, target, f"--json_out={out / f'{name}-sslyze.json'}", "--quiet"],
        "sslscan": [SSLSCAN, "--no-colour", "--show-sigs", f"--xml={out / f'{name}-sslscan.xml'}", target],
        "nmap": [rtt.NMAP, "-Pn", "-n", "-p", str(port), "--script", "ssl-enum-ciphers", "127.0.0.1"],
        "testssl": [
            TESTSSL,
            "--color",
            "0",
            "--warnings",
            "off",
            "--jsonfile",
            str(out / f"{name}-testssl.json"),
            target,
        ],
    }


def version_suite_ms(doc: dict[str, Any]) -> float:
    """When the scan knew every version and every suite list: the cipher-suites phase's end (ms)."""
    phases = doc["scan"]["round_trips"]["phases"]
    return max(phases[p]["ended_ms"] for p in ("versions", "cipher-suites") if p in phases)


def main_mode(out: Path) -> None:
    results: dict[tuple[str, str], list[dict[str, Any]]] = {}
    with ExitStack() as stack:
        work = keys(out)
        ports = {name: stack.enter_context(rtt.nginx(work, name)) for name in ("modern", "legacy")}
        print(f"load before: {os.getloadavg()}  servers {ports}  outputs in {out}", flush=True)
        for name, port in ports.items():
            for tool, cmd in tools(port, out, name).items():
                runs = TESTSSL_RUNS if tool == "testssl" else 1
                if tool == "testssl" and os.environ.get("SKIP_TESTSSL"):
                    continue
                for i in range(runs):
                    (out / f"{name}-testssl.json").unlink(missing_ok=True)
                    r = timed(f"{name}-{tool}-{i}", cmd, out)
                    results.setdefault((name, tool), []).append(r)
                    print(
                        f"{name:6s} {tool:9s} {r['wall']:7.2f} s {r['rss']:7.1f} MiB rc {r['rc']}", flush=True
                    )
        print(f"load after: {os.getloadavg()}")
        for name, port in ports.items():
            doc = json.loads((out / f"{name}-tlsdoctor-0.out").read_text())
            scan = doc["scan"]
            vs = version_suite_ms(doc) / 1000
            print(
                f"\n{name}: grade {scan['grade']} profile {scan['profile']} verdict {doc['verdict']} "
                f"exit {results[(name, 'tlsdoctor')][0]['rc']}; versions+suites done at {vs:.2f} s of "
                f"{doc['duration_ms'] / 1000:.2f} s (round_trips {json.dumps(scan['round_trips']['phases'])})"
            )
            sev = sorted({w["severity"] for w in scan["weaknesses"]})
            vul = sorted(v["id"] for v in scan["vulnerabilities"] if v["vulnerable"])
            print(f"  weakness severities {sev}; vulnerable: {vul}")
            for level in LEVELS:
                cmd = [*tools(port, out, name)["tlsdoctor"][:-1], "--fail-on", level]  # human report
                r = timed(f"{name}-failon-{level}", cmd, out)
                print(f"  --fail-on {level:8s} exit {r['rc']}")
            sy = results[(name, "sslyze")][0]["wall"]
            td = results[(name, "tlsdoctor")][0]
            ts = [r["wall"] for r in results.get((name, "testssl"), [])]
            print(
                f"  ratios: full scan/sslyze {td['wall'] / sy:.3f} (<= 0.5), versions+suites/sslyze "
                f"{vs / sy:.3f} (<= 0.333), full scan/testssl "
                f"{td['wall'] / min(ts) if ts else float('nan'):.4f} (<= 0.05), "
                f"RSS tlsdoctor/sslyze {td['rss'] / results[(name, 'sslyze')][0]['rss']:.2f} (<= 1)"
            )
        if os.environ.get("HOLD"):
            stop = Path(os.environ["HOLD"])
            print(f"HOLD: servers up on {ports} until {stop} exists", flush=True)
            while not stop.exists():
                time.sleep(1)


# -- vulnerabilities -----------------------------------------------------------------------------

# contract id -> (sslyze command and the result field that says vulnerable, testssl.sh option and its id)
SSLYZE_VULN = {
    "heartbleed": ("--heartbleed", "heartbleed", "is_vulnerable_to_heartbleed"),
    "ccs-injection": ("--openssl_ccs", "openssl_ccs_injection", "is_vulnerable_to_ccs_injection"),
    "robot": ("--robot", "robot", "robot_result"),
    "renegotiation-insecure": ("--reneg", "session_renegotiation", "supports_secure_renegotiation"),
    "renegotiation-client-initiated": (
        "--reneg",
        "session_renegotiation",
        "is_vulnerable_to_client_renegotiation_dos",
    ),
    "crime-compression": ("--compression", "tls_compression", "supports_compression"),
    "downgrade-scsv": ("--fallback", "tls_fallback_scsv", "supports_fallback_scsv"),
}
TESTSSL_VULN = {
    "heartbleed": ("-H", "heartbleed"),
    "ccs-injection": ("-I", "CCS"),
    "robot": ("-BB", "ROBOT"),
    "ticketbleed": ("-T", "ticketbleed"),
    "renegotiation-insecure": ("-R", "secure_renego"),
    "renegotiation-client-initiated": ("-R", "secure_client_renego"),
    "crime-compression": ("-C", "CRIME_TLS"),
    "poodle-ssl3": ("-O", "POODLE_SSL"),
    "sweet32": ("-W", "SWEET32"),
    "freak": ("-F", "FREAK"),
    "logjam": ("-J", "LOGJAM"),
    "drown": ("-D", "DROWN"),
    "beast": ("-A", "BEAST"),
    "lucky13": ("-L", "LUCKY13"),
    "rc4": ("-4", "RC4"),
    "downgrade-scsv": ("-Z", "fallback_SCSV"),
}


def sslyze_says(vid: str, port: int, out: Path) -> str:
    if vid not in SSLYZE_VULN:
        return "-"
    flag, command, field = SSLYZE_VULN[vid]
    jfile = out / f"vuln-{vid}-{port}-sslyze.json"
    subprocess.run(
        [SSLYZE, f"127.0.0.1:{port}", flag, f"--json_out={jfile}", "--quiet"],
        timeout=600,
        check=False,
        capture_output=True,
    )
    try:
        res = json.loads(jfile.read_text())["server_scan_results"][0]["scan_result"][command]
    except (OSError, KeyError, IndexError, json.JSONDecodeError) as exc:
        return f"error {exc!r}"
    if res.get("status") != "COMPLETED":
        return f"{res.get('status')}: {str(res.get('error_reason'))[:40]}"
    value = res["result"][field]
    if vid in ("renegotiation-insecure", "downgrade-scsv"):  # the field says "supports the defence"
        return "vulnerable" if value is False else "ok"
    if vid == "robot":
        return str(value)
    return "vulnerable" if value else "ok"


def testssl_says(vid: str, port: int, out: Path) -> str:
    flag, tid = TESTSSL_VULN[vid]
    jfile = out / f"vuln-{vid}-{port}-testssl.json"
    jfile.unlink(missing_ok=True)
    cmd = [TESTSSL, "--color", "0", "--warnings", "off", flag, "--jsonfile", str(jfile), f"127.0.0.1:{port}"]
    subprocess.run(cmd, timeout=900, check=False, capture_output=True)
    try:
        found = [e for e in json.loads(jfile.read_text()) if e["id"] == tid]
    except (OSError, json.JSONDecodeError) as exc:
        return f"error {exc!r}"
    return "; ".join(f"{e['severity']}: {e['finding'][:50]}" for e in found) or "-"


def tlsdoctor_says(port: int, ca_file: Path | None) -> dict[str, dict[str, Any]]:
    cmd = [TLSDOCTOR, "scan", f"127.0.0.1:{port}", "--servername", "localhost", "--json"]
    if ca_file:
        cmd += ["--ca-file", str(ca_file)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    return {v["id"]: v for v in json.loads(out.stdout)["scan"]["vulnerabilities"]}


@contextmanager
def s_server(work: Path) -> Iterator[int]:
    port = free_port()
    cmd = ["openssl", "s_server", "-accept", f"127.0.0.1:{port}", "-cert", str(work / "rsa.pem"), "-key",
           str(work / "rsa.key"), "-www", "-quiet", "-cipher", "ALL:@SECLEVEL=0"]  # fmt: skip
    with serving(cmd, port, "openssl s_server"):
        yield port


def vulns_mode(out: Path) -> None:
    sys.path.insert(0, str(ROOT / "tests" / "local"))
    from test_vulns import FLAWED  # the crafted servers of the tests, one flaw each

    from tlsdoctor.testing.vulnerable import VulnerableServer

    only = set(os.environ.get("ONLY", "").split(",")) - {""}
    print(f"{'id':32s} {'server':8s} {'tlsdoctor':10s} {'sslyze':22s} testssl.sh", flush=True)
    for flaw, flaws in sorted(FLAWED.items()):
        vid = "poodle-ssl3" if flaw == "tls-poodle" else flaw
        if only and vid not in only:
            continue
        with VulnerableServer(flaws) as server:
            mine = tlsdoctor_says(server.port, server.ca_file)[vid]
            sy = sslyze_says(vid, server.port, out)
            ts = testssl_says(vid, server.port, out) if not os.environ.get("SKIP_TESTSSL") else "skipped"
        print(f"{flaw:32s} {'crafted':8s} {mine['vulnerable']!s:10s} {sy:22s} {ts}", flush=True)
    with tempfile.TemporaryDirectory(prefix="scan-full-keys.") as tmp, ExitStack() as stack:
        work = Path(tmp)
        rtt.keys(work)
        patched = {
            "nginx": stack.enter_context(rtt.nginx(work, "legacy")),
            "s_server": stack.enter_context(s_server(work)),
        }
        for name, port in patched.items():
            mine_all = tlsdoctor_says(port, None)
            for vid in TESTSSL_VULN:
                if only and vid not in only:
                    continue
                sy = sslyze_says(vid, port, out)
                ts = testssl_says(vid, port, out) if not os.environ.get("SKIP_TESTSSL") else "skipped"
                print(f"{vid:32s} {name:8s} {mine_all[vid]['vulnerable']!s:10s} {sy:22s} {ts}", flush=True)


def main() -> int:
    for tool in (NGINX or "nginx", SSLYZE, TESTSSL, SSLSCAN, rtt.NMAP, "openssl", "/usr/bin/time"):
        if not shutil.which(tool) and not Path(tool).exists():
            print(f"missing: {tool}", file=sys.stderr)
            return 2
    subprocess.run([rtt.PYTHON, "-m", "compileall", "-q", str(ROOT / "src" / "tlsdoctor")], check=True)
    out = Path(os.environ.get("OUT") or tempfile.mkdtemp(prefix="scan-full."))
    out.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    if sys.argv[1:] == ["vulns"]:
        vulns_mode(out)
    else:
        main_mode(out)
    print(f"bench took {time.monotonic() - start:.0f} s; outputs in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
