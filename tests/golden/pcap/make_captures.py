"""Record the pcap fixtures: tcpdump on loopback while a real client talks to the project's own endpoints.

Run as root from the repository root: ``.venv/bin/python tests/golden/pcap/make_captures.py [NAME ...]``.
Each capture is one (or a few) real connection(s) between Python's ssl client (OpenSSL) or a raw socket
and a server from tlsdoctor.testing, written by tcpdump (the independent witness), with a snaplen that
keeps every TLS handshake byte. The lab captures (middleboxes in network namespaces: an injected RST
with another TTL, a path-MTU black hole) come from tests/golden/pcap/make_lab_captures.py.

Which cause each capture shows is the table FIXTURES in tests/unit/test_pcap_fixtures.py.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from tlsdoctor.testing.base import FaultServer
from tlsdoctor.testing.endpoints import start_endpoint

HERE = Path(__file__).parent


@contextlib.contextmanager
def tcpdump(path: Path, port: int, interface: str = "lo", bpf: str = "") -> Iterator[None]:
    """tcpdump writing ``path`` for one port; returns once it listens, stops (SIGTERM) after the block."""
    proc = subprocess.Popen(
        ["tcpdump", "-i", interface, "-U", "-n", "-s", "0", "-w", str(path), bpf or f"tcp port {port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        deadline = time.monotonic() + 5
        line = ""
        while "listening on" not in line and time.monotonic() < deadline:
            line = proc.stderr.readline()
        time.sleep(0.5)  # "listening" is printed before the ring buffer takes packets
        yield
        time.sleep(0.5)
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=5)
        if "dropped by kernel" in err and " 0 packets dropped by kernel" not in err:
            print(f"tcpdump: {err.strip()}", file=sys.stderr)


def tls_client(
    server: FaultServer,
    *,
    trust: bool = True,
    maximum: ssl.TLSVersion | None = None,
    servername: str | None = None,
    timeout: float = 2.0,
) -> None:
    """One handshake and a GET with Python's ssl client; failures are the point, so they are swallowed."""
    ctx = ssl.create_default_context(cafile=str(server.ca_file) if trust and server.ca_file else None)
    if maximum is not None:
        ctx.maximum_version = maximum
    name = servername or server.servername
    with (
        contextlib.suppress(OSError, ssl.SSLError),
        socket.create_connection(server.address, timeout) as raw,
        ctx.wrap_socket(raw, server_hostname=name) as tls,
    ):
        tls.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        with contextlib.suppress(OSError):
            tls.recv(4096)


def refused(server: FaultServer) -> None:
    with contextlib.suppress(OSError):
        socket.create_connection(server.address, 1).close()


Client = Callable[[FaultServer], None]
TLS12 = ssl.TLSVersion.TLSv1_2

# name -> (endpoint, client)
CAPTURES: dict[str, tuple[str, Client]] = {
    "healthy-tls13": ("healthy", lambda s: tls_client(s)),
    "healthy-tls12": ("healthy", lambda s: tls_client(s, maximum=TLS12)),
    "refused": ("refused", refused),
    "reset-after-hello": ("reset-after-hello", lambda s: tls_client(s)),
    "close-after-hello": ("close-after-hello", lambda s: tls_client(s)),
    "silent": ("silent", lambda s: tls_client(s, timeout=1.5)),
    "plain-http": ("plain-http", lambda s: tls_client(s)),
    "expired-tls12": ("expired", lambda s: tls_client(s, maximum=TLS12)),
    "not-yet-valid-tls12": ("not-yet-valid", lambda s: tls_client(s, maximum=TLS12)),
    "wrong-host-tls12": ("wrong-host", lambda s: tls_client(s, maximum=TLS12)),
    "self-signed-tls12": ("self-signed", lambda s: tls_client(s, maximum=TLS12)),
    "untrusted-tls13": ("healthy", lambda s: tls_client(s, trust=False)),
    "missing-intermediate-tls12": ("missing-intermediate", lambda s: tls_client(s, maximum=TLS12)),
    "tls10-only": ("tls10-only", lambda s: tls_client(s)),
    "no-common-cipher": ("no-common-cipher", lambda s: tls_client(s)),
    "client-cert-required-tls12": ("client-cert-required", lambda s: tls_client(s, maximum=TLS12)),
    "client-cert-required-tls13": ("client-cert-required", lambda s: tls_client(s)),
    "sni-required": ("sni-required", lambda s: tls_client(s, servername="other.test")),
}


def record(name: str) -> Path:
    endpoint, client = CAPTURES[name]
    server = start_endpoint(endpoint)
    path = HERE / f"{name}.pcap"
    try:
        with tcpdump(path, server.port):
            client(server)
    finally:
        server.stop()
    return path


# The capture `tlsdoctor demo` analyses (shipped in the package): one connection to each of these demo
# endpoints, one after the other, in one file; demo.json says which server port was which endpoint.
DEMO_CAPTURE = (
    "healthy-tls13", "reset-after-hello", "close-after-hello", "silent", "plain-http", "expired-tls12",
    "wrong-host-tls12", "self-signed-tls12", "missing-intermediate-tls12", "tls10-only", "no-common-cipher",
    "client-cert-required-tls12", "sni-required",
)  # fmt: skip
DEMO_DIR = HERE.parents[2] / "src" / "tlsdoctor" / "testing" / "captures"


def record_demo() -> Path:
    """The demo's capture: tcpdump on every port at once while each endpoint gets one connection."""
    import json

    from tlsdoctor.testing.endpoints import ENDPOINTS

    DEMO_DIR.mkdir(exist_ok=True)
    servers = {name: start_endpoint(CAPTURES[name][0]) for name in DEMO_CAPTURE}
    path = DEMO_DIR / "demo.pcap"
    try:
        ports = " or ".join(f"tcp port {s.port}" for s in servers.values())
        with tcpdump(path, 0, bpf=ports):
            for name, server in servers.items():
                CAPTURES[name][1](server)
    finally:
        for server in servers.values():
            server.stop()
    flows = [
        {"port": s.port, "endpoint": CAPTURES[n][0], "expected": ENDPOINTS[CAPTURES[n][0]].expected}
        for n, s in servers.items()
    ]
    (DEMO_DIR / "demo.json").write_text(json.dumps({"flows": flows}, indent=1) + "\n")
    return path


def main(names: list[str]) -> None:
    if names == ["demo"]:
        path = record_demo()
        print(f"{path}: {path.stat().st_size} bytes")
        return
    for name in names or list(CAPTURES):
        path = record(name)
        print(f"{path.name}: {path.stat().st_size} bytes")


if __name__ == "__main__":
    main(sys.argv[1:])
