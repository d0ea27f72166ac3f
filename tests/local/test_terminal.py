"""Terminal manners of `tlsdoctor diagnose`, in a subprocess against real loopback servers.

Progress: stderr on a real pseudo-terminal (pty.openpty) shows the checks while a silent endpoint
keeps the run going; piped stderr and --json get not one progress byte.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from scan_servers import OPENSSL

from tlsdoctor.testing import FaultServer, start_endpoint
from tlsdoctor.testing.processes import free_port, serving

CLI = [sys.executable, "-m", "tlsdoctor"]


@pytest.fixture
def silent() -> Iterator[FaultServer]:
    server = start_endpoint("silent")
    try:
        yield server
    finally:
        server.stop()


@dataclass
class PtyRun:
    chunks: list[tuple[float, bytes]]  # (seconds since spawn, bytes read from the terminal)
    stdout: bytes
    returncode: int
    ended: float  # seconds since spawn when the process exited

    @property
    def terminal(self) -> bytes:
        return b"".join(data for _, data in self.chunks)

    def first(self, needle: bytes) -> float | None:
        """When the terminal output first contained ``needle`` (seconds since spawn)."""
        seen = b""
        for t, data in self.chunks:
            seen += data
            if needle in seen:
                return t
        return None


def run_with_terminal_stderr(*args: str, limit: float = 60.0) -> PtyRun:
    """The CLI with stderr on a pseudo-terminal (100 x 30), stdout piped."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"} | {"TERM": "xterm-256color"}
    start = time.monotonic()
    proc = subprocess.Popen(
        [*CLI, *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave, env=env
    )
    os.close(slave)
    chunks: list[tuple[float, bytes]] = []
    ended: float | None = None
    try:
        closed = False  # the terminal's other side is closed (EIO): nothing more will come
        while time.monotonic() - start < limit and not closed:
            ready, _, _ = select.select([master], [], [], 0.05)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO: every holder of the child's side has closed it
                    data = b""
                if data:
                    chunks.append((time.monotonic() - start, data))
                else:
                    closed = True
            if ended is None and proc.poll() is not None:
                ended = time.monotonic() - start
            if ended is not None and not ready:
                break  # exited and nothing left to read
        stdout, _ = proc.communicate(timeout=max(1.0, limit - (time.monotonic() - start)))
        if ended is None:  # the terminal closed as the process ended, before poll() saw it
            ended = time.monotonic() - start
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    return PtyRun(chunks=chunks, stdout=stdout, returncode=proc.returncode, ended=ended)


def target(server: FaultServer) -> str:
    return f"{server.host}:{server.port}"


def test_progress_on_a_terminal_while_a_silent_endpoint_runs(silent: FaultServer) -> None:
    run = run_with_terminal_stderr("diagnose", target(silent), "--timeout", "3")
    assert run.returncode == 1, run.terminal.decode(errors="replace")
    seen = run.first(b"handshake.default")
    running = run.first(b"running")
    assert seen is not None and running is not None, run.terminal[:2000]
    # A silent endpoint costs about one timeout per phase; the display came long before the end,
    # so the user watched the checks instead of seconds of nothing.
    assert run.ended - running >= 2.0, (running, run.ended)
    assert run.ended >= 3.0
    # Finished checks show their status while others still run.
    assert b"tcp.127.0.0.1" in run.terminal and b"pass" in run.terminal
    # Transient: erased at the end, cursor given back; the report on stdout has no progress in it.
    assert run.terminal.rstrip().endswith(b"\x1b[2K") or b"\x1b[?25h" in run.terminal[-400:]
    assert b"FAULT" in run.stdout
    assert b"running" not in run.stdout and b"\x1b[" not in run.stdout


def test_no_progress_with_json_on_a_terminal(silent: FaultServer) -> None:
    run = run_with_terminal_stderr("diagnose", target(silent), "--timeout", "1", "--json")
    assert run.returncode == 1
    assert run.terminal == b""
    assert run.stdout.startswith(b"{")


def test_no_progress_bytes_when_stderr_is_piped(silent: FaultServer) -> None:
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"} | {"TERM": "xterm-256color"}
    proc = subprocess.run(
        [*CLI, "diagnose", target(silent), "--timeout", "1"],
        capture_output=True,
        stdin=subprocess.DEVNULL,
        env=env,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 1
    assert proc.stderr == b""
    assert b"FAULT" in proc.stdout and b"running" not in proc.stdout


def human(server: FaultServer, *extra: str, columns: int | None = None) -> str:
    """The human report with stdout piped (as ``diagnose ... | cat``); COLUMNS only when given."""
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    if columns is not None:
        env["COLUMNS"] = str(columns)
    proc = subprocess.run(
        [*CLI, "diagnose", target(server), "--timeout", "2", *extra],
        capture_output=True,
        stdin=subprocess.DEVNULL,
        env=env,
        timeout=60,
        check=False,
    )
    assert proc.returncode in (0, 1), proc.stderr.decode()
    assert proc.stderr == b""
    return proc.stdout.decode()


def trusted(server: FaultServer) -> tuple[str, ...]:
    return ("--servername", server.servername, "--ca-file", str(server.ca_file))


def test_piped_report_lines_have_no_trailing_blanks(healthy: FaultServer) -> None:
    for out in (human(healthy, *trusted(healthy)), human(healthy)):  # healthy, then cert-untrusted
        lines = out.splitlines()
        assert len(lines) > 10
        assert [line for line in lines if line != line.rstrip()] == []
        assert max(len(line) for line in lines) <= 120


def section(out: str, title: str) -> list[str]:
    """The lines under ``title`` (itself indented by two), up to the next line indented less."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == title)
    depth = len(lines[start]) - len(lines[start].lstrip())
    body = []
    for line in lines[start + 1 :]:
        if not line.strip() or len(line) - len(line.lstrip()) <= depth:
            break
        body.append(line)
    return body


def test_wrapped_fixes_and_evidence_keep_a_hanging_indent_at_80_columns(healthy: FaultServer) -> None:
    out = human(healthy, "--servername", healthy.servername, columns=80)  # no --ca-file: cert-untrusted
    assert "cert-untrusted" in out.splitlines()[0]
    assert max(len(line) for line in out.splitlines()) <= 80
    fixes = section(out, "What to change")
    assert fixes[0].startswith("    - ")
    continued = [line for line in fixes if not line.startswith("    - ")]
    assert continued, "no fix wrapped at 80 columns"
    for line in continued:  # under the text after "- ", not under the dash
        assert line.startswith("      ") and line[6] != " ", fixes
    evidence = section(out, "Evidence")
    indent = 0
    wrapped = 0
    for line in evidence:
        if line.startswith("    ["):
            indent = 4 + line.index("] ", 4) - 4 + 2  # the width of "[check] " after the 4 spaces
        else:
            wrapped += 1
            assert line[:indent].strip() == "" and line[indent] != " ", (indent, evidence)
    assert wrapped, "no evidence line wrapped at 80 columns"


def labelled(lines: list[str]) -> dict[str, str]:
    """``  label  value`` lines as a dict; a wrapped value's continuation lines joined to it."""
    out: dict[str, str] = {}
    label = ""
    for line in lines:
        if line[2] != " ":
            label, _, value = line.strip().partition("  ")
            out[label] = value.strip()
        else:
            out[label] += " " + line.strip()
    return out


def test_healthy_report_says_what_was_verified(healthy: FaultServer) -> None:
    proc = subprocess.run(
        [*CLI, "diagnose", target(healthy), "--timeout", "2", "--json", *trusted(healthy)],
        capture_output=True,
        timeout=60,
        check=False,
    )
    report = json.loads(proc.stdout)
    assert report["verdict"] == "healthy"
    observed = [o for c in report["checks"] for o in c["data"]["observations"]]
    shake = next(o for o in observed if o["kind"] == "handshake" and o["variant"] == "default")
    leaf = next(o for o in observed if o["kind"] == "certificate" and o["index"] == 0)
    modern = next(o for o in observed if o["kind"] == "hello-probe" and o["probe"] == "modern")
    assert shake["version"] == "TLSv1.3" and modern["group"]

    block = labelled(section(human(healthy, *trusted(healthy)), "Verified"))
    assert block["server"] == f"{target(healthy)} as {healthy.servername}"
    assert block["protocol"] == f"{shake['version']}, {shake['cipher']}"
    assert block["group"] == f"{modern['group']} (the server's key share for our TLS 1.3 hello)"
    assert block["subject"] == leaf["subject"]
    assert block["issuer"] == leaf["issuer"]
    assert block["name"] == f"{healthy.servername} matched SAN DNS:{healthy.servername}"
    assert block["valid until"] == f"{leaf['not_after'][:10]} ({leaf['days_left']:.0f} days left)"
    assert block["chain"].startswith(f"validates against ca-file:{healthy.ca_file}")


def test_verified_block_for_an_openssl_made_certificate_on_s_server(tmp_path: Path) -> None:
    """A certificate and a server we did not write: `openssl req` and `openssl s_server`."""
    if OPENSSL is None:
        pytest.skip("openssl not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [OPENSSL, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "30", "-subj", "/CN=www.openssl.test/O=Indep\\ Org",
         "-addext", "subjectAltName=DNS:openssl.test,DNS:*.openssl.test"],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    port = free_port()
    cmd = [OPENSSL, "s_server", "-accept", f"127.0.0.1:{port}", "-cert", str(cert), "-key", str(key),
           "-www", "-quiet", "-naccept", "1000"]  # fmt: skip
    with serving(cmd, port, "openssl s_server"):
        env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
        proc = subprocess.run(
            [*CLI, "diagnose", f"127.0.0.1:{port}", "--servername", "www.openssl.test",
             "--ca-file", str(cert)],
            capture_output=True, env=env, timeout=60, check=False,
        )  # fmt: skip
    out = proc.stdout.decode()
    assert proc.returncode == 0, out
    verified = " ".join(" ".join(section(out, "Verified")).split())  # wrapped lines joined
    assert "www.openssl.test matched SAN DNS:*.openssl.test" in verified
    assert "CN=www.openssl.test" in verified and "Indep Org" in verified
    assert "(30 days left)" in verified or "(29 days left)" in verified
    assert "EC 256" in verified
    assert "group x25519 (the server's key share" in verified  # OpenSSL 3.0's first choice
    assert "1 certificate to the anchor" in verified
