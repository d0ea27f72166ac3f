"""An HTTPS proxy (TLS to the proxy, CONNECT inside it, the target's TLS inside that): TLS in TLS.

The proxy is a small relay in the test process, with a certificate from the same test PKI as the
target, so one --ca-file trusts both (as a private CA usually signs both in a company).
"""

from __future__ import annotations

import json
import select
import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest

from tlsdoctor.testing import FaultServer, shared_pki


class HttpsConnectProxy:
    """Accepts TLS, reads one CONNECT, dials 127.0.0.1, answers 200 and relays until either side closes."""

    def __init__(self) -> None:
        files = shared_pki().issue("https-proxy")
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(str(files.chain_file), str(files.key_file))
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.threads: list[threading.Thread] = []
        self.stopping = threading.Event()
        self.acceptor = threading.Thread(target=self._accept, daemon=True)
        self.acceptor.start()

    def _accept(self) -> None:
        self.listener.settimeout(0.2)
        while not self.stopping.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            t = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self.threads.append(t)
            t.start()

    def _serve(self, raw: socket.socket) -> None:
        raw.settimeout(5)
        try:
            with self.context.wrap_socket(raw, server_side=True) as tls:
                head = b""
                while b"\r\n\r\n" not in head and len(head) < 8192:
                    chunk = tls.recv(4096)
                    if not chunk:
                        return
                    head += chunk
                target = head.split(b" ", 2)[1].decode()
                port = int(target.rsplit(":", 1)[1])
                with socket.create_connection(("127.0.0.1", port), timeout=5) as upstream:
                    tls.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    self._relay(tls, upstream)
        except (OSError, ssl.SSLError, ValueError, IndexError):
            return

    def _relay(self, tls: ssl.SSLSocket, upstream: socket.socket) -> None:
        for _ in range(10_000):  # bounded: a probe exchanges a few records
            if self.stopping.is_set():
                return
            ready = [tls] if tls.pending() else select.select([tls, upstream], [], [], 0.2)[0]
            for src in ready:
                data = src.recv(65536)
                if not data:
                    return
                (upstream if src is tls else tls).sendall(data)

    def stop(self) -> None:
        self.stopping.set()
        self.listener.close()
        self.acceptor.join(timeout=2)
        for t in self.threads:
            t.join(timeout=2)


@pytest.fixture
def proxy() -> Iterator[HttpsConnectProxy]:
    p = HttpsConnectProxy()
    try:
        yield p
    finally:
        p.stop()


def test_diagnosis_through_an_https_proxy(proxy: HttpsConnectProxy, healthy: FaultServer) -> None:
    args = [
        sys.executable,
        "-m",
        "tlsdoctor",
        "diagnose",
        f"127.0.0.1:{healthy.port}",
        "--servername",
        "localhost",
        "--json",
        "--timeout",
        "3",
        "--proxy",
        f"https://localhost:{proxy.port}",
        "--ca-file",
        str(healthy.ca_file),
    ]
    proc = subprocess.run(args, capture_output=True, timeout=60, check=False)
    assert b"Traceback" not in proc.stderr, proc.stderr.decode()
    report = json.loads(proc.stdout)
    assert report["causes"][0]["id"] == "healthy", report["causes"]
    tunnel = next(c for c in report["checks"] if c["id"] == "proxy")
    assert tunnel["status"] == "pass"
    default = next(c for c in report["checks"] if c["id"] == "handshake.default")
    assert "TLSv1.3" in default["summary"]  # the target's own handshake, inside the proxy's TLS


def test_https_proxy_with_an_untrusted_certificate(proxy: HttpsConnectProxy, healthy: FaultServer) -> None:
    """Without --ca-file the proxy's own certificate (a private CA) fails verification: the tunnel is
    never made, and the report says it was the TLS to the proxy, not the target, that failed."""
    args = [
        *(sys.executable, "-m", "tlsdoctor", "diagnose", f"127.0.0.1:{healthy.port}"),
        *("--servername", "localhost", "--json", "--timeout", "3"),
        *("--proxy", f"https://localhost:{proxy.port}"),
    ]
    proc = subprocess.run(args, capture_output=True, timeout=60, check=False)
    assert b"Traceback" not in proc.stderr, proc.stderr.decode()
    report = json.loads(proc.stdout)
    tunnel = next(c for c in report["checks"] if c["id"] == "proxy")
    assert tunnel["status"] == "fail"
    (seen,) = [o for o in tunnel["data"]["observations"] if o.get("outcome") == "proxy-tls-failed"]
    assert "CERTIFICATE_VERIFY_FAILED" in seen["reason"], seen
