"""Record the golden TLS bytes in this folder from real servers and clients on 127.0.0.1.

Run: ``.venv/bin/python tests/golden/make_golden.py`` (needs the ``openssl`` binary).
Nothing is downloaded. Each ``*.hex`` file holds one TLS record per line, preceded by a
``#`` comment naming the record (content type, version, length, first handshake type),
so a reader can follow the bytes field by field; the tests skip comment lines.

server_*.hex: what ``openssl s_server`` answered to a ClientHello built by
``tlsdoctor.wire.hello`` with a fixed random, read until 0.7 s of silence or EOF.
client_hello_*.hex: the first flight of ``openssl s_client`` and of Python's ``ssl``.
"""

from __future__ import annotations

import datetime
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from tlsdoctor.testing.processes import free_port
from tlsdoctor.wire.codepoints import ContentType, HandshakeType
from tlsdoctor.wire.hello import build_client_hello
from tlsdoctor.wire.records import RecordBuffer
from tlsdoctor.wire.variants import MODERN, TLS12, TLS13

HERE = Path(__file__).parent
RANDOM = bytes(range(32))


def make_cert(tmp: Path) -> tuple[Path, Path]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_path, cert_path = tmp / "key.pem", tmp / "cert.pem"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path


def read_until_quiet(sock: socket.socket, quiet: float = 0.7) -> bytes:
    sock.settimeout(quiet)
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            return data
        if not chunk:
            return data
        data += chunk


def annotate(data: bytes) -> str:
    """One record per line with a comment line; any unparsed tail on a last line."""
    lines = []
    buf = RecordBuffer()
    buf.feed(data)
    while (rec := buf.next_record()) is not None:
        note = f"# record {rec.content_type} {rec.version} length={len(rec.fragment)}"
        if rec.content_type == ContentType.HANDSHAKE and rec.fragment:
            note += f" first handshake message {HandshakeType(rec.fragment[0])}"
        lines += [note, (data[rec.offset : rec.offset + 5 + len(rec.fragment)]).hex()]
    if buf.buffered:
        lines += ["# incomplete tail", buf.take_buffered().hex()]
    return "\n".join(lines) + "\n"


def probe_openssl(name: str, hello: bytes, args: list[str], cert: Path, key: Path) -> None:
    port = free_port()
    cmd = ["openssl", "s_server", "-accept", f"127.0.0.1:{port}", "-cert", str(cert), "-key", str(key)]
    proc = subprocess.Popen([*cmd, "-naccept", "1", "-quiet", *args], stdin=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        for _ in range(100):
            try:
                sock = socket.create_connection(("127.0.0.1", port), timeout=2)
                break
            except OSError:
                time.sleep(0.05)
        else:
            raise RuntimeError(f"s_server for {name} did not start")
        with sock:
            sock.sendall(hello)
            data = read_until_quiet(sock)
    finally:
        proc.kill()
        proc.wait()
    (HERE / f"{name}.hex").write_text(annotate(data))
    print(f"{name}: {len(data)} bytes")


def capture_client(name: str, connect: list[str] | None) -> None:
    """Listen, let a client connect, keep its first flight."""
    with socket.socket() as ls:
        ls.bind(("127.0.0.1", 0))
        ls.listen(1)
        port = ls.getsockname()[1]
        if connect is not None:
            args = [*connect, "-connect", f"127.0.0.1:{port}", "-servername", "localhost"]
            proc = subprocess.Popen(
                args, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
        else:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE

            def python_client() -> None:
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=2) as c:
                        ctx.wrap_socket(c, server_hostname="localhost")
                except OSError:
                    pass

            threading.Thread(target=python_client, daemon=True).start()
        conn, _ = ls.accept()
        with conn:
            data = read_until_quiet(conn)
        if connect is not None:
            proc.kill()
            proc.wait()
    (HERE / f"{name}.hex").write_text(annotate(data))
    print(f"{name}: {len(data)} bytes")


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        cert, key = make_cert(Path(tmp))
        tls12 = build_client_hello(replace(TLS12, sni="localhost"), random=RANDOM)
        tls13 = build_client_hello(replace(TLS13, sni="localhost"), random=RANDOM)
        modern = build_client_hello(replace(MODERN, sni="localhost"), random=RANDOM)
        probe_openssl(
            "server_tls12_ecdhe_rsa", tls12, ["-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256"], cert, key
        )
        probe_openssl(
            "server_tls12_dhe_rsa", tls12, ["-tls1_2", "-cipher", "DHE-RSA-AES128-GCM-SHA256"], cert, key
        )
        probe_openssl("server_tls12_certreq", tls12, ["-tls1_2", "-Verify", "1"], cert, key)
        probe_openssl("server_tls13", modern, ["-tls1_3"], cert, key)
        probe_openssl("server_tls13_hrr", tls13, ["-tls1_3", "-groups", "secp384r1"], cert, key)
        probe_openssl("server_alert_protocol_version", tls12, ["-tls1_3"], cert, key)
        probe_openssl(
            "server_alert_handshake_failure", tls12, ["-tls1_2", "-cipher", "AES256-SHA256"], cert, key
        )
        capture_client("client_hello_openssl", ["openssl", "s_client"])
        capture_client("client_hello_python", None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
