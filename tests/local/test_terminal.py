"""Terminal manners of `tlsdoctor diagnose`, in a subprocess against real loopback servers.

Progress: stderr on a real pseudo-terminal (pty.openpty) shows the checks while a silent endpoint
keeps the run going; piped stderr and --json get not one progress byte.
"""

from __future__ import annotations

import fcntl
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

import pytest

from tlsdoctor.testing import FaultServer, start_endpoint

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
