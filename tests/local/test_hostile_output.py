"""Hostile text from servers never drives the user's terminal (issue 10 item 1).

Real servers on loopback put terminal escapes where a server controls the text: a TLS certificate's
subject and subjectAltName, a plain-TCP banner (SMTP, then a refusal of STARTTLS), an HTTP answer
where TLS was expected, an HTTP proxy's status line, a nameserver's Extended DNS Error text. The CLI
runs in a subprocess: in the human report (and the HTML report, and stderr) no raw ESC, BEL, C1 or
bidi override byte arrives and the escape is visible as ``\\x1b``; ``--json`` keeps the exact value.
"""

from __future__ import annotations

import datetime as dt
import json
import socket
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tlsdoctor.testing.base import FaultServer, close_gracefully

pytestmark = pytest.mark.timeout(90)

CLI = [sys.executable, "-m", "tlsdoctor"]
OSC52 = "\x1b]52;c;aGFja2Vk\x07"  # writes "hacked" to the clipboard of a terminal that honours OSC 52
CLEAR = "\x1b[2J"
# What must never reach a terminal: ESC, BEL, the C1 CSI (U+009B, UTF-8 C2 9B), RIGHT-TO-LEFT OVERRIDE.
RAW = (b"\x1b", b"\x07", "\x9b".encode(), "\u202e".encode())
HOSTILE_CN = f"evil{OSC52}{CLEAR}[bold]loud[/bold]\u202egnp.exe\x9b2J"
# The part of HOSTILE_CN that RFC 4514 text keeps as is (it escapes OSC 52's ';' as '\;').
CN_TAIL = f"aGFja2Vk\x07{CLEAR}[bold]loud[/bold]\u202egnp.exe\x9b2J"


def run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [*CLI, *args], capture_output=True, timeout=timeout, check=False, stdin=subprocess.DEVNULL
    )


def assert_terminal_safe(proc: subprocess.CompletedProcess[bytes]) -> None:
    for stream, data in (("stdout", proc.stdout), ("stderr", proc.stderr)):
        for raw in RAW:
            assert raw not in data, f"raw {raw!r} reached {stream}:\n{data.decode(errors='replace')[:3000]}"
    assert b"Traceback" not in proc.stderr, proc.stderr.decode()


def strings(value: object) -> Iterator[str]:
    """Every string in a parsed JSON document."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings(v)


def hostile_cert(tmp: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, HOSTILE_CN),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, f"[/]{CLEAR}"),  # "[/]" alone breaks rich markup
        ]
    )
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName(f"x{CLEAR}.example"), x509.DNSName("other.example")]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp / "hostile.pem", tmp / "hostile.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_file, key_file


class HostileTlsServer(FaultServer):
    """A TLS server whose (self-signed) certificate carries escapes in its subject and SANs."""

    def __init__(self, cert_file: Path, key_file: Path) -> None:
        super().__init__()
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert_file, key_file)

    def handle(self, conn: socket.socket) -> None:
        tls = self.context.wrap_socket(conn, server_side=True, do_handshake_on_connect=False)
        self.untrack(conn)
        self.track(tls)
        try:
            tls.do_handshake()
        except (ssl.SSLError, OSError):
            return
        close_gracefully(tls)


class BannerServer(FaultServer):
    """A plain-TCP server that says ``greeting``, then answers every line with ``reply``."""

    def __init__(self, greeting: bytes, reply: bytes | None = None) -> None:
        super().__init__()
        self.greeting, self.reply = greeting, reply

    def handle(self, conn: socket.socket) -> None:
        conn.sendall(self.greeting)
        if self.reply is None:
            close_gracefully(conn)
            return
        buffer = b""
        while not self.stopping.is_set():
            data = conn.recv(4096)
            if not data:
                return
            buffer += data
            while b"\n" in buffer:
                _, buffer = buffer.split(b"\n", 1)
                conn.sendall(self.reply)


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[HostileTlsServer]:
    with HostileTlsServer(*hostile_cert(tmp_path)) as server:
        yield server


def test_certificate_subject_diagnose(tls_server: HostileTlsServer, tmp_path: Path) -> None:
    target = f"127.0.0.1:{tls_server.port}"
    report = tmp_path / "report.html"
    human = run("diagnose", target, "--timeout", "3", "--no-proxy", "--report", str(report))
    assert human.returncode == 1, human.stderr.decode()
    assert_terminal_safe(human)
    out = human.stdout.decode()
    assert "evil\\x1b]52" in out and "aGFja2Vk\\x07" in out and "\\u202e" in out and "\\x9b" in out
    assert "[bold]loud[/bold]" in out, "rich markup in a certificate must stay literal"
    html = report.read_text(encoding="utf-8")
    assert "\x1b" not in html and "\\x1b" in html and "[bold]loud[/bold]" in html
    machine = run("diagnose", target, "--timeout", "3", "--no-proxy", "--json")
    assert machine.returncode == 1
    assert_terminal_safe(machine)
    data = json.loads(machine.stdout)
    subjects = [o.get("subject", "") for c in data["checks"] for o in c["data"].get("observations", [])]
    assert any(CN_TAIL in s for s in subjects), "the JSON report keeps the exact subject"


def test_certificate_subject_scan(tls_server: HostileTlsServer) -> None:
    target = f"127.0.0.1:{tls_server.port}"
    human = run("scan", target, "--timeout", "3")
    assert human.returncode in (0, 1), human.stderr.decode()
    assert_terminal_safe(human)
    assert "[bold]loud[/bold]" in human.stdout.decode()
    machine = run("scan", target, "--timeout", "3", "--json")
    assert any(CN_TAIL in c["subject"] for c in json.loads(machine.stdout)["scan"]["certificates"])


def test_smtp_banner_and_refusal() -> None:
    greeting = f"220 mx{OSC52} ESMTP\r\n".encode()
    reply = f"454 4.7.0 TLS not available{CLEAR}\u202e\r\n".encode()
    with BannerServer(greeting, reply) as server:
        target = f"127.0.0.1:{server.port}"
        human = run("diagnose", target, "--starttls", "smtp", "--timeout", "3", "--no-proxy")
        assert human.returncode == 1, human.stderr.decode()
        assert_terminal_safe(human)
        assert "\\x1b[2J" in human.stdout.decode()
        machine = run("diagnose", target, "--starttls", "smtp", "--timeout", "3", "--no-proxy", "--json")
    assert_terminal_safe(machine)  # --json on a terminal: every control is a \u escape
    assert any(f"TLS not available{CLEAR}\u202e" in text for text in strings(json.loads(machine.stdout)))


def test_http_answer_where_tls_was_expected() -> None:
    answer = f"HTTP/1.1 400 Bad{OSC52}Request\r\nServer: x{CLEAR}\r\n\r\n".encode()
    with BannerServer(answer) as server:
        proc = run("diagnose", f"127.0.0.1:{server.port}", "--timeout", "3", "--no-proxy")
    assert proc.returncode == 1, proc.stderr.decode()
    assert_terminal_safe(proc)


def test_proxy_status_line() -> None:
    status = f"HTTP/1.1 403 Forbidden{OSC52}{CLEAR}\r\nContent-Length: 0\r\n\r\n".encode()
    with BannerServer(b"", None) as dead, BannerServer(b"", status) as proxy:
        proc = run(
            "diagnose",
            f"127.0.0.1:{dead.port}",
            "--proxy",
            f"http://127.0.0.1:{proxy.port}",
            "--timeout",
            "3",
        )
    assert proc.returncode == 1, proc.stderr.decode()
    assert_terminal_safe(proc)
    assert "Forbidden\\x1b]52" in proc.stdout.decode()


def test_error_lines_on_stderr_are_escaped(tmp_path: Path) -> None:
    """A usage error echoes what the user (or a script fed by a server) passed: escaped too."""
    proc = run("diagnose", f"bad{CLEAR}host\u202e")
    assert proc.returncode == 2
    assert_terminal_safe(proc)
    assert "\\x1b[2J" in proc.stderr.decode()
    missing = tmp_path / f"ca{OSC52}.pem"
    proc = run("diagnose", "127.0.0.1:9", "--ca-file", str(missing))
    assert proc.returncode == 2
    assert_terminal_safe(proc)
