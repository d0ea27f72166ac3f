"""What reading a TLS 1.3 flight costs the scan: this process's CPU per probe, by hand, on loopback.

Three ways to one TLS 1.3-only server (``openssl s_server -tls1_3`` with a stapled response), each run
``--rounds`` times after a warm-up, one at a time, in one process (ratios, not absolute times: the
machine is shared):

- ``plain``: the raw probe as the scan's other TLS 1.3 probes are, stopping at the first encrypted record;
- ``decrypt``: the same probe asking for stapling and SCTs and decrypting the flight (wire/flight13.py);
- ``stdlib``: the stdlib handshake the certificates phase used before (scan/tls13.stdlib_chain).

Run: ``.venv/bin/python bench/scan_tls13_flight.py [--rounds 30]`` (needs openssl on PATH).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from tlsdoctor.scan.offers import Offer, suites_for
from tlsdoctor.scan.prober import Prober, ScanTarget
from tlsdoctor.scan.tls13 import stdlib_chain
from tlsdoctor.testing.processes import free_port, serving
from tlsdoctor.wire.codepoints import ProtocolVersion

V = ProtocolVersion


def _pki(d: Path) -> None:
    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=d, capture_output=True, check=True)

    run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", "key.pem", "-out", "cert.pem", "-days", "2", "-subj", "/CN=localhost")  # fmt: skip


async def _measure(name: str, one: Callable[[], Awaitable[object]], rounds: int) -> list[float]:
    t = time.process_time()
    await one()  # the first one pays its imports (cryptography's AEADs and X25519 for decrypt)
    print(f"{name:8} first probe CPU ms: {(time.process_time() - t) * 1000:6.2f}")
    for _ in range(2):
        await one()
    out = []
    for _ in range(rounds):
        t = time.process_time()
        await one()
        out.append((time.process_time() - t) * 1000)
    return out


async def _main(port: int, rounds: int) -> None:
    target = ScanTarget(address="127.0.0.1", port=port, servername="localhost", verify_name="localhost")
    prober = Prober(target)
    suites = suites_for(V.TLS1_3)
    plain = Offer(version=V.TLS1_3, suites=suites)
    asking = Offer(version=V.TLS1_3, suites=suites, status_request=True, sct=True)
    runs = {
        "plain": lambda: prober.probe(plain),
        "decrypt": lambda: prober.probe(asking, decrypt=True),
        "stdlib": lambda: stdlib_chain(prober),
    }
    base = None
    for name, one in runs.items():
        ms = await _measure(name, one, rounds)
        median = statistics.median(ms)
        base = base or median
        ratio = median / base
        print(f"{name:8} CPU ms per probe: median {median:6.2f}  min {min(ms):6.2f}  ({ratio:4.2f}x plain)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        _pki(d)
        port = free_port()
        cmd = ["openssl", "s_server", "-accept", f"127.0.0.1:{port}", "-tls1_3", "-cert", str(d / "cert.pem"),
               "-key", str(d / "key.pem"), "-quiet", "-naccept", "100000"]  # fmt: skip
        with serving(cmd, port, "openssl s_server"):
            asyncio.run(_main(port, args.rounds))


if __name__ == "__main__":
    main()
