"""Record the key-log fixtures: tcpdump on loopback while a real client, writing its TLS secrets
(SSLKEYLOGFILE / Python's keylog_filename), talks to ``openssl s_server`` or nginx.

Run as root from the repository root:
``.venv/bin/python tests/golden/keylog/make_keylog_captures.py [NAME ...]`` (none: every case).
Each case writes ``NAME.pcap`` (tcpdump, the independent witness) and ``NAME.keys`` (the client's key
log). The certificates come from the ``openssl`` command line, not from tlsdoctor's PKI: a root, an
intermediate, leaves for localhost valid for a century, all minted under faketime in 2023 (the expired
leaf for 30 days).
Which cause each capture shows, with and without its key log, is the table in
tests/unit/test_keylog_pcap.py.
"""

from __future__ import annotations

import contextlib
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

HERE = Path(__file__).parent
sys.path[:0] = [str(HERE.parent / "pcap"), str(HERE.parent.parent / "local")]

from make_captures import tcpdump  # noqa: E402
from scan_servers import OPENSSL, resuming_with_early_data  # noqa: E402

from tlsdoctor.testing.nginx import NGINX, Site, running  # noqa: E402
from tlsdoctor.testing.processes import free_port, serving, talk  # noqa: E402

REQUEST = b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
CENTURY = "36500"
MINTED = "2023-01-01 00:00:00"


class Pki:
    """root -> intermediate -> leaves, by ``openssl req``/``x509``; the server sends leaf + intermediate."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.root, self.root_key = self._self_signed("root", "/CN=Keylog Fixture Root")
        self.inter, self.inter_key = self._issue("inter", "/CN=Keylog Fixture Intermediate", ca=True)

    def _run(self, *args: str) -> None:
        """openssl, its clock at MINTED: every certificate starts then, so the 30-day leaf is long expired."""
        assert OPENSSL is not None
        subprocess.run(["faketime", MINTED, OPENSSL, *args], check=True, capture_output=True)

    def _self_signed(self, name: str, subject: str) -> tuple[Path, Path]:
        cert, key = self.dir / f"{name}.pem", self.dir / f"{name}.key"
        self._run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", CENTURY, "-subj", subject,
                  "-addext", "basicConstraints=critical,CA:true",
                  "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                  "-keyout", str(key), "-out", str(cert))  # fmt: skip
        return cert, key

    def _issue(
        self, name: str, subject: str, *, ca: bool = False, san: str = "", days: str = CENTURY
    ) -> tuple[Path, Path]:
        cert, key, csr, ext = (self.dir / f"{name}.{x}" for x in ("pem", "key", "csr", "ext"))
        self._run(
            "req", "-newkey", "rsa:2048", "-nodes", "-subj", subject, "-keyout", str(key), "-out", str(csr)
        )
        lines = ["basicConstraints=critical,CA:true" if ca else "basicConstraints=CA:false"]
        if san:
            lines.append(f"subjectAltName={san}")
        ext.write_text("\n".join(lines) + "\n")
        issuer, issuer_key = (self.root, self.root_key) if ca else (self.inter, self.inter_key)
        self._run("x509", "-req", "-in", str(csr), "-CA", str(issuer), "-CAkey", str(issuer_key),
                  "-CAcreateserial", "-days", days, "-extfile", str(ext), "-out", str(cert))  # fmt: skip
        return cert, key

    def leaf(self, name: str, san: str = "DNS:localhost,IP:127.0.0.1", **kw: str) -> tuple[Path, Path]:
        return self._issue(name, "/CN=" + san.split(",")[0].split(":")[1], san=san, **kw)


@contextlib.contextmanager
def s_server(cert: Path, key: Path, chain: Path, *args: str) -> Iterator[int]:
    assert OPENSSL is not None
    port = free_port()
    argv = [OPENSSL, "s_server", "-accept", f"127.0.0.1:{port}", "-cert", str(cert), "-key", str(key),
            "-cert_chain", str(chain), "-quiet", "-www", "-naccept", "2", *args]  # fmt: skip
    with serving(argv, port, "openssl s_server"):  # the wait uses one of the -naccept connections
        yield port


def python_client(port: int, keys: Path, cafile: Path | None) -> None:
    ctx = ssl.create_default_context(cafile=str(cafile) if cafile else None)
    ctx.keylog_filename = str(keys)
    with (
        contextlib.suppress(OSError),
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        ctx.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        tls.sendall(REQUEST)
        while tls.recv(65536):
            pass


def gnutls_client(port: int, keys: Path, cafile: Path | None) -> None:
    argv = [
        "gnutls-cli",
        "--port",
        str(port),
        "--sni-hostname",
        "localhost",
        "--verify-hostname",
        "localhost",
    ]
    argv += [f"--x509cafile={cafile}"] if cafile else []
    env = {**os.environ, "SSLKEYLOGFILE": str(keys)}
    subprocess.run([*argv, "127.0.0.1"], input=REQUEST, capture_output=True, timeout=10, check=False, env=env)


def resumed_with_early_data(good: tuple[Path, Path], inter: Path, tmp: Path) -> None:
    """s_client resumes a session with 0-RTT data (sent before the ServerHello), then a KeyUpdate."""
    with resuming_with_early_data(tmp, *good, "-cert_chain", str(inter)) as (port, resume):
        record(
            "tls13-0rtt-resumed",
            port,
            lambda p, k: talk([*resume, "-keylogfile", str(k)], b"k\n", b"after the update\n"),
        )


ONLY = set(sys.argv[1:])  # names to record again; none: all


def record(name: str, port: int, client: Callable[[int, Path], None]) -> None:
    if ONLY and name not in ONLY:
        return
    pcap, keys = HERE / f"{name}.pcap", HERE / f"{name}.keys"
    pcap.unlink(missing_ok=True)
    keys.unlink(missing_ok=True)
    with tcpdump(pcap, port):
        client(port, keys)
    print(f"{name}: {pcap.stat().st_size} bytes, {len(keys.read_text().splitlines())} key-log lines")


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="keylog-fixtures-") as tmp:
        pki = Pki(Path(tmp))
        good = pki.leaf("good")
        other = pki.leaf("other", san="DNS:other.example")
        expired = pki.leaf("expired", days="30")
        root, inter = pki.root, pki.inter

        with s_server(*good, inter, "-tls1_3") as port:
            record("tls13-healthy", port, lambda p, k: python_client(p, k, root))
        with s_server(*good, inter, "-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256") as port:
            record("tls12-healthy", port, lambda p, k: python_client(p, k, root))
        with s_server(*good, inter, "-tls1_3") as port:
            record("tls13-untrusted-gnutls", port, lambda p, k: gnutls_client(p, k, None))
        with s_server(*expired, inter, "-tls1_3") as port:
            record("tls13-expired-gnutls", port, lambda p, k: gnutls_client(p, k, root))
        with s_server(*other, inter, "-tls1_3") as port:
            record("tls13-wrong-host-gnutls", port, lambda p, k: gnutls_client(p, k, root))
        with s_server(*good, inter, "-tls1_3", "-Verify", "1") as port:
            record("tls13-client-cert-required", port, lambda p, k: python_client(p, k, root))
        resumed_with_early_data(good, inter, Path(tmp))
        if NGINX is not None:
            chain = Path(tmp) / "chain.pem"
            chain.write_bytes(good[0].read_bytes() + inter.read_bytes())
            tls = f"ssl_protocols TLSv1.3; ssl_verify_client on; ssl_client_certificate {root};"
            with running(Path(tmp) / "nginx", Site(cert=chain, key=good[1], tls=tls)) as port:
                time.sleep(0.2)
                record("tls13-nginx-client-cert-400", port, lambda p, k: python_client(p, k, root))
    return 0


if __name__ == "__main__":
    sys.exit(main())
