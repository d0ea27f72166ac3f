"""Benchmark helper: start a built-in endpoint and print `host:port servername ca_file`, then wait.

Used by bench/run.sh to time whole `tlsdoctor` processes against loopback endpoints:

    python bench/diagnose_bench.py healthy
    # prints "127.0.0.1 PORT localhost /tmp/.../ca.pem", then runs until killed
"""

from __future__ import annotations

import signal
import sys
import threading

from tlsdoctor.testing import start_endpoint


def main() -> None:
    server = start_endpoint(sys.argv[1])
    print(server.host, server.port, server.servername, server.ca_file or "-", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait(float(sys.argv[2]) if len(sys.argv) > 2 else 600)
    server.stop()


if __name__ == "__main__":
    main()
