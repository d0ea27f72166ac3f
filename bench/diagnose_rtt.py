"""Benchmark (run by hand, not in CI): `tlsdoctor diagnose` over a long path, as whole processes.

Every server is Debian's nginx (certificates from tlsdoctor.testing's PKI) behind the delay relay
(tlsdoctor.testing.delay) at --one-way-ms each way, so a TLS round trip costs what it costs 50 ms away.
In ONE run, interleaved so that the shared CPU's noise falls on every row alike:

- healthy: `tlsdoctor diagnose` of a TLS 1.3 nginx next to curl's whole request to the same relay;
- each TLS-level fault: expired, untrusted, hostname, protocol (TLS 1.0 only), cipher, SNI, client cert;
- healthy on loopback (no relay).

For each row: the median wall time, the verdict and first cause (so a speed-up that changed a verdict
shows), the round trips on the run's critical path (the report's `critical_path`) and their lower bound.

    .venv/bin/python bench/diagnose_rtt.py [--runs 7] [--one-way-ms 50] [--only healthy,expired]
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tlsdoctor.testing import LeafSpec, Pki
from tlsdoctor.testing.delay import running_relay
from tlsdoctor.testing.nginx import Site, running

TLSDOCTOR = [sys.executable, "-m", "tlsdoctor"]
CURL = shutil.which("curl")


@dataclasses.dataclass(frozen=True)
class Case:
    """One server and what diagnosing it must say. ``bound``: the round trips to the server (TCP's own
    connect counted, as on a real path) that no schedule can avoid: the connect and the exchange that
    shows the fault (every other probe could in principle run beside it). NOTES says what the playbook's
    policy adds on top."""

    name: str
    expect: str  # the first cause id
    bound: int
    servers: tuple[
        tuple[str, str, str, str], ...
    ]  # (server_name, label of the cert, tls directives, default)
    target: str = "localhost"  # the name diagnose is given (an IP literal sends no SNI)


MODERN = "ssl_protocols TLSv1.2 TLSv1.3;"
NOTES = """Round trips count TCP's connect as one, as on a real path; through the relay the connect is free
(the relay's kernel answers the SYN), so a run's network time is about (round trips - 1) x RTT.
Bound: the connect and the exchange that shows the fault (healthy: connect, TLS 1.3, then the server's
session ticket or an HTTP answer that says it accepted our Finished; curl: connect, TLS, HTTP).
What the playbook adds on purpose: the differential variants go out only once the default failed (a
healthy server never sees them): +2 (their connect and hello) for faults the default alone cannot name;
the clock's HTTP Date probe after an expired certificate: its own connect, TLS and request."""
CASES: tuple[Case, ...] = (
    Case("healthy", "healthy", 3, (("localhost", "good", "ssl_protocols TLSv1.3;", ""),)),
    Case("expired", "cert-expired", 2, (("localhost", "expired", MODERN, ""),)),
    Case("untrusted", "cert-untrusted", 2, (("localhost", "self-signed", MODERN, ""),)),
    Case("hostname", "cert-hostname-mismatch", 2, (("localhost", "other-name", MODERN, ""),)),
    Case(
        "protocol",
        "protocol-mismatch",
        2,
        (("localhost", "good", "ssl_protocols TLSv1; ssl_ciphers 'HIGH:@SECLEVEL=0';", ""),),
    ),
    Case(
        "cipher",
        "cipher-mismatch",
        2,
        (("localhost", "good", "ssl_protocols TLSv1.2; ssl_ciphers 'AES128-SHA:@SECLEVEL=0';", ""),),
    ),
    Case(
        "sni",
        "sni-required",
        2,
        (
            ("_", "good", MODERN + " ssl_reject_handshake on;", " default_server"),
            ("sni.test", "good", MODERN, ""),
        ),
        target="127.0.0.1",
    ),
    Case(
        "client-cert",
        "client-cert-required",
        3,
        (("localhost", "good", MODERN + " ssl_verify_client on; ssl_client_certificate {client_ca};", ""),),
    ),
)


# Bytecode caches, as a user's installed package has them (a session may set PYTHONDONTWRITEBYTECODE,
# which would make every run compile every module again).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def run(cmd: list[str]) -> tuple[float, str]:
    start = time.monotonic()
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=ENV).stdout
    return time.monotonic() - start, out


@dataclasses.dataclass
class Row:
    name: str
    expect: str
    bound: int | None
    times: list[float] = dataclasses.field(default_factory=list)
    got: str = ""
    path_rtts: str = ""
    path: str = ""
    run_ms: list[float] = dataclasses.field(default_factory=list)


def summarise(row: Row, out: str) -> None:
    """What the last run reported: first cause, round trips and checks on the critical path."""
    try:
        report = json.loads(out)
    except json.JSONDecodeError:
        row.got = "no JSON"
        return
    causes = report.get("causes") or [{"id": "?"}]
    row.got = f"{report.get('verdict')}/{causes[0]['id']}"
    row.run_ms.append(float(report.get("duration_ms", 0.0)))
    path = report.get("critical_path")
    if isinstance(path, dict):
        trips = path.get("round_trips")
        row.path_rtts = "?" if trips is None else str(trips)
        row.path = " > ".join(
            f"{s['check']}@{s['started_ms']:.0f}+{s['duration_ms']:.0f}" for s in path["steps"]
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--one-way-ms", type=float, default=50.0)
    parser.add_argument("--only", default="", help="comma-separated case names")
    parser.add_argument(
        "--hold",
        action="store_true",
        help="start the servers and relays, print each case's diagnose and curl commands, and wait (for "
        "timing them side by side with another tool); stop with Ctrl-C",
    )
    args = parser.parse_args()
    wanted = {c for c in args.only.split(",") if c}
    cases = [c for c in CASES if not wanted or c.name in wanted]

    pki = Pki()
    certs = {
        "good": pki.issue("good"),
        "expired": pki.issue("expired", LeafSpec(valid_from_days=-30, valid_until_days=-1)),
        "self-signed": pki.issue("self-signed", LeafSpec(self_signed=True)),
        "other-name": pki.issue("other-name", LeafSpec(sans=("other.example",))),
    }
    ca_file = certs["good"].ca_file
    client_ca = pki.client_ca_file
    base = Path(tempfile.mkdtemp(prefix="diagnose-rtt-"))
    rows: list[Row] = []
    commands: list[tuple[Row, list[str]]] = []
    with contextlib.ExitStack() as stack:
        healthy_port = 0
        for case in cases:
            sites = [
                Site(cert=certs[label].chain_file, key=certs[label].key_file, name=name, listen=default,
                     tls=tls.format(client_ca=client_ca))
                for name, label, tls, default in case.servers
            ]  # fmt: skip
            port = stack.enter_context(running(base / case.name, *sites))
            relay = stack.enter_context(running_relay("127.0.0.1", port, one_way_ms=args.one_way_ms))
            target = f"{case.target}:{relay.port}"
            diagnose = [
                *TLSDOCTOR,
                "diagnose",
                target,
                "--connect-to",
                "127.0.0.1",
                "--ca-file",
                str(ca_file),
            ]
            row = Row(case.name, case.expect, case.bound)
            rows.append(row)
            commands.append((row, [*diagnose, "--json"]))
            if args.hold:
                print(case.name, " ".join(diagnose), flush=True)
            if case.name == "healthy":
                healthy_port = port
                if CURL:
                    curl = Row("curl (same relay)", "-", 3)
                    rows.append(curl)
                    url = f"https://localhost:{relay.port}/"
                    resolve = f"localhost:{relay.port}:127.0.0.1"
                    commands.append(
                        (
                            curl,
                            [
                                CURL,
                                "-s",
                                "-o",
                                "/dev/null",
                                "--cacert",
                                str(ca_file),
                                "--resolve",
                                resolve,
                                url,
                            ],
                        )
                    )
        if healthy_port:
            loop = Row("healthy, loopback", "healthy", None)
            rows.append(loop)
            target = f"localhost:{healthy_port}"
            commands.append(
                (
                    loop,
                    [
                        *TLSDOCTOR,
                        "diagnose",
                        target,
                        "--connect-to",
                        "127.0.0.1",
                        "--ca-file",
                        str(ca_file),
                        "--json",
                    ],
                )
            )
        if args.hold:
            for _, cmd in commands:
                if cmd[0] == CURL:
                    print("curl", " ".join(cmd), flush=True)
            stop = {signal.SIGINT, signal.SIGTERM}
            signal.pthread_sigmask(signal.SIG_BLOCK, stop)  # then the servers are stopped on the way out
            signal.sigwait(stop)
            return
        for _, cmd in commands:  # warm-up: bytecode caches, nginx's first fork
            run(cmd)
        for _ in range(args.runs):
            for row, cmd in commands:
                took, out = run(cmd)
                row.times.append(took)
                if cmd[0] != CURL:
                    summarise(row, out)

    curl_median = next((statistics.median(r.times) for r in rows if r.name.startswith("curl")), None)
    rtt = 2 * args.one_way_ms
    print(f"delay relay: {args.one_way_ms:.0f} ms one way ({rtt:.0f} ms RTT); {args.runs} runs each")
    head = f"{'case':<20} {'median s':>8} {'min':>6} {'max':>6} {'x curl':>6} {'run s':>6}"
    print(f"{head}  {'RT path':>7} {'bound':>5}  result")
    for row in rows:
        med = statistics.median(row.times)
        ratio = f"{med / curl_median:6.2f}" if curl_median else "     -"
        ok = "" if row.expect in ("-", row.got.split("/")[-1]) else f"  (expected {row.expect})"
        bound = "-" if row.bound is None else str(row.bound)
        inside = f"{statistics.median(row.run_ms) / 1000:6.3f}" if row.run_ms else "     -"
        print(
            f"{row.name:<20} {med:8.3f} {min(row.times):6.3f} {max(row.times):6.3f} {ratio} {inside}  "
            f"{row.path_rtts or '-':>7} {bound:>5}  {row.got}{ok}"
        )
    print("(run s: the report's own duration_ms, from the playbook's start to its end; the rest of the")
    print(" median is the process: interpreter start, imports, inference, output)")
    print()
    print(NOTES)
    print()
    for row in rows:
        if row.path:
            print(f"{row.name}: {row.path}")


if __name__ == "__main__":
    main()
