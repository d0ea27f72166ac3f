"""diagnose over a long path where TCP's own round trips count: the network-namespace lab with its
``delay`` fault (every packet on the client's link held ONE_WAY_MS), through squid, and straight.

The "two addresses" case gives the server a second address (DNAT to the first) and a dnsmasq of its own
answering ``two.lab.test`` with both, asked with --resolver.

Run by hand, as root:  python bench/diagnose_route_lab.py [--vs /path/to/other/checkout/src] [-n 7]
Each case runs this checkout's tlsdoctor and, with --vs, another checkout's, in turn (A B A B ...), and
prints the median wall time of each and the median of the pairwise ratios A/B, plus this checkout's
critical path (checks and round trips) from its last run. Nothing leaves the lab's namespaces.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from typing import Any

from tlsdoctor.testing.lab import NAME, SERVER_IP, Lab

ONE_WAY_MS = 50.0
CASES = {
    "direct": ([], None),
    "two addresses": (["--resolver", "TWO_DNS"], None),
    "proxy": (["--proxy", "PROXY"], None),
    "proxy, direct dropped": (["--proxy", "PROXY"], ("block-direct", {"action": "drop"})),
}


SECOND_IP = "198.18.2.3"  # the server's second address: DNAT to the first, so nginx answers on both
TWO_NAME = "two.lab.test"
TWO_DNS_PORT = 5353


def second_address(lab: Lab) -> str:
    """A second address for the server and a resolver that answers TWO_NAME with both (a dnsmasq of
    our own beside the lab's, on another port); returns the --resolver value."""
    server = lab.ns.names["server"]
    lab.ns.ip(server, "addr", "add", f"{SECOND_IP}/24", "dev", "s0")
    dnat = ["-d", SECOND_IP, "-p", "tcp", "--dport", "443", "-j", "DNAT"]
    dnat += ["--to-destination", f"{SERVER_IP}:443"]
    lab.run_in("server", ["iptables", "-w", "5", "-t", "nat", "-A", "PREROUTING", *dnat], check=True)
    hosts = lab.workdir / "two.hosts"
    hosts.write_text(f"{SERVER_IP} {TWO_NAME}\n{SECOND_IP} {TWO_NAME}\n")
    argv = ["dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv", "--no-hosts"]
    argv += ["--bind-interfaces", f"--listen-address={SERVER_IP}", f"--port={TWO_DNS_PORT}", "--user=root"]
    argv += [f"--addn-hosts={hosts}", f"--pid-file={lab.workdir / 'two.pid'}"]
    lab.spawn_in("server", argv)
    time.sleep(0.5)
    return f"{SERVER_IP}:{TWO_DNS_PORT}"


def once(lab: Lab, src: str | None, extra: list[str]) -> tuple[float, dict[str, Any]]:
    target = TWO_NAME if "--resolver" in extra else SERVER_IP
    argv = [sys.executable, "-m", "tlsdoctor", "diagnose", f"{target}:443", "--servername", NAME]
    argv += ["--ca-file", str(lab.ca_file), "--json", *extra]
    if src is not None:
        argv = ["env", f"PYTHONPATH={src}", *argv]
    start = time.monotonic()
    r = lab.run_in("client", argv, timeout=60)
    wall = time.monotonic() - start
    report: dict[str, Any] = json.loads(r.stdout)
    return wall, report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vs", help="another checkout's src/ directory, run as B")
    parser.add_argument("-n", type=int, default=7)
    args = parser.parse_args()
    with Lab.create(key_bits=2048) as lab:
        two_dns = second_address(lab)
        for name, (extra, fault) in CASES.items():
            extra = [
                lab.proxy_url("open") if a == "PROXY" else two_dns if a == "TWO_DNS" else a for a in extra
            ]
            if fault is not None:
                lab.set_fault(fault[0], **fault[1])
            elif "--proxy" in extra:
                lab.ensure_proxy()
            lab.set_fault("delay", one_way_ms=ONE_WAY_MS)
            once(lab, None, extra)  # warm-up
            a: list[float] = []
            b: list[float] = []
            a_run: list[float] = []  # the report's own duration_ms: the run without interpreter start-up
            b_run: list[float] = []
            report: dict[str, Any] = {}
            for _ in range(args.n):
                wall, report = once(lab, None, extra)
                a.append(wall)
                a_run.append(report["duration_ms"])
                if args.vs:
                    wall_b, other = once(lab, args.vs, extra)
                    b.append(wall_b)
                    b_run.append(other["duration_ms"])
            lab.clear_faults()
            line = f"{name:24} A {statistics.median(a):.3f} s (run {statistics.median(a_run):.0f} ms)"
            if b:
                ratios = [x / y for x, y in zip(a, b, strict=True)]
                runs = [x / y for x, y in zip(a_run, b_run, strict=True)]
                line += f"   B {statistics.median(b):.3f} s (run {statistics.median(b_run):.0f} ms)"
                line += f"   A/B wall {statistics.median(ratios):.2f}, run {statistics.median(runs):.2f}"
            print(line + f"   verdict {report['verdict']} ({report['causes'][0]['id']})")
            path = report.get("critical_path") or {}
            steps = " -> ".join(f"{s['check']}({s.get('round_trips')})" for s in path.get("steps", []))
            print(f"    critical path: {steps}; round trips {path.get('round_trips')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
