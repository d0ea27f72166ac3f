"""Real server and client programs (nginx, ``openssl s_server``/``s_client``, squid...) as the tests and
benchmarks run them: on a free loopback port, waited for until they listen, stopped by their own PID.

The tests judge tlsdoctor against servers it did not write (the guide's rule), so they start these
programs often; one set of helpers keeps the discipline the same everywhere: every wait has a deadline,
a program that exits early is reported with what it said, and nothing is ever killed by name.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

HOST = "127.0.0.1"


def free_port() -> int:
    """A TCP port nothing listens on right now (the kernel's pick for port 0)."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def wait_listening(port: int, proc: subprocess.Popen[bytes], what: str, timeout: float = 10.0) -> None:
    """Return once ``port`` accepts a connection; RuntimeError (with the program's stderr when it was
    piped) when ``proc`` exits first or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            said = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            raise RuntimeError(f"{what} exited ({proc.returncode}): {said}")
        with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on {port} within {timeout:g} s")


def stop(proc: subprocess.Popen[bytes], grace: float = 0.0) -> None:
    """End our own child by its PID (never by name) and reap it. ``grace``: ask with SIGTERM first and
    wait that long, for a program that must take its own children down (nginx's master its workers)."""
    if proc.poll() is None and grace > 0:
        os.kill(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=grace)
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=5)
    for pipe in (proc.stdin, proc.stdout, proc.stderr):
        if pipe is not None:
            pipe.close()


@contextlib.contextmanager
def serving(
    argv: Sequence[str],
    port: int,
    what: str,
    *,
    stdin: int = subprocess.DEVNULL,
    grace: float = 0.0,
    timeout: float = 10.0,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run a server program that will listen on ``port`` (127.0.0.1), until the block ends. Its stderr
    goes to a file, not a pipe (a pipe nobody reads stalls a chatty server once 64 KiB are written), and
    its end is quoted when the program exits or is not listening within ``timeout`` seconds. ``grace``: as
    for :func:`stop`."""
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(list(argv), stdin=stdin, stdout=subprocess.DEVNULL, stderr=log)
        try:
            try:
                wait_listening(port, proc, what, timeout)
            except RuntimeError as exc:
                log.seek(0)
                said = log.read()[-2000:].decode(errors="replace").strip()
                raise RuntimeError(f"{exc}; it said: {said}" if said else str(exc)) from None
            yield proc
        finally:
            stop(proc, grace)


@contextlib.contextmanager
def tinyproxy(
    directory: Path, *settings: str, program: str = "tinyproxy", timeout: float = 5.0
) -> Iterator[int]:
    """Debian's tinyproxy in the foreground on a free loopback port (yielded), until the block ends: the
    settings every test shares (loopback only, errors only, a 10 s idle timeout, its pid file in
    ``directory``) and ``settings`` lines of the test's own (``BasicAuth lab labpass``, ``ConnectPort
    443``, ``MaxClients 40``). Stopped with SIGTERM first, as it expects."""
    port = free_port()
    conf = directory / "tinyproxy.conf"
    lines = [f"Port {port}", "Listen 127.0.0.1", "Timeout 10", "Allow 127.0.0.1", "LogLevel Error"]
    lines += [f'PidFile "{directory / "tinyproxy.pid"}"', *settings]
    conf.write_text("\n".join(lines) + "\n")
    with serving([program, "-d", "-c", str(conf)], port, "tinyproxy", grace=5.0, timeout=timeout):
        yield port


def talk(argv: Sequence[str], *lines: bytes, pause: float = 0.5, timeout: float = 10.0) -> None:
    """Run an interactive client (``openssl s_client``) and type ``lines`` into it one read at a time:
    s_client reads its stdin in whole reads and takes a read that starts with ``k``/``K`` as a command
    (KeyUpdate), so each line goes alone, ``pause`` seconds apart; then end its input and wait for it."""
    quiet = subprocess.DEVNULL
    proc = subprocess.Popen(list(argv), stdin=subprocess.PIPE, stdout=quiet, stderr=quiet)
    try:
        assert proc.stdin is not None
        for line in lines:
            time.sleep(pause)
            proc.stdin.write(line)
            proc.stdin.flush()
        time.sleep(pause)
        proc.stdin.close()
        proc.wait(timeout=timeout)
    finally:
        stop(proc)
