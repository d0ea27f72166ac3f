"""Signals and pipes end a run cleanly (issue 10 item 9).

The CLI runs in a subprocess against real loopback servers and gets SIGINT or SIGTERM at several
moments: as soon as its handlers are installed (read from /proc/PID/status, the earliest moment
tlsdoctor's code controls), while probes wait on a silent server, and while a scan's forked helper
process works. Each ends with exit 130 (SIGINT) or 143 (SIGTERM), one line on stderr, no traceback,
and no child process left, not even a zombie. A reader that leaves early (``| head -1``, ``| true``)
does not change the exit status of the diagnosis.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tlsdoctor.testing.tcpfaults import SilentServer
from tlsdoctor.testing.tlsservers import TlsServer

pytestmark = [
    pytest.mark.timeout(60),
    pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc (Linux)"),
]

CLI = [sys.executable, "-m", "tlsdoctor"]
SIGNALS = [pytest.param(signal.SIGINT, id="SIGINT"), pytest.param(signal.SIGTERM, id="SIGTERM")]
EXPECTED = {
    signal.SIGINT: (130, b"tlsdoctor: interrupted\n"),
    signal.SIGTERM: (143, b"tlsdoctor: terminated\n"),
}


def catches(pid: int, sig: int) -> bool:
    """Whether the process has a handler for ``sig`` (SigCgt in /proc/PID/status)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    mask = next(int(line.split()[1], 16) for line in status.splitlines() if line.startswith("SigCgt:"))
    return bool(mask >> (sig - 1) & 1)


def children(pid: int) -> list[int]:
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []
    out: list[int] = []
    for tid in tasks:
        with contextlib.suppress(OSError):  # the thread ended meanwhile
            out += [int(p) for p in Path(f"/proc/{pid}/task/{tid}/children").read_text().split()]
    return out


def exists(pid: int) -> bool:
    """Whether ``pid`` is still a process of any state (a zombie counts)."""
    return Path(f"/proc/{pid}").exists()


def wait_until(predicate: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.002)


def interrupt(
    args: list[str], sig: int, ready: object, *, group: bool = False
) -> tuple[subprocess.Popen[bytes], bytes, list[int], float]:
    """Start the CLI, wait for ``ready(pid)``, send ``sig`` (to its whole process group when
    ``group``, as a terminal's Ctrl-C does); return the process, stderr, its children just before
    the signal, and the seconds from the signal to its exit."""
    proc = subprocess.Popen(
        [*CLI, *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        start_new_session=group,
    )
    try:
        wait_until(lambda: ready(proc.pid))  # type: ignore[operator]
        kids = children(proc.pid)
        sent = time.monotonic()
        if group:
            os.killpg(proc.pid, sig)
        else:
            proc.send_signal(sig)
        _, err = proc.communicate(timeout=20)
        return proc, err, kids, time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def assert_clean_end(proc: subprocess.Popen[bytes], err: bytes, sig: int, kids: list[int]) -> None:
    status, line = EXPECTED[sig]
    assert proc.returncode == status, err.decode()
    assert err == line, err.decode()
    for kid in kids:
        assert not exists(kid), f"child {kid} left behind ({Path(f'/proc/{kid}/stat').read_text()})"


@pytest.fixture(scope="module")
def silent() -> Iterator[SilentServer]:
    with SilentServer() as server:
        yield server


@pytest.fixture(scope="module")
def healthy() -> Iterator[TlsServer]:
    with TlsServer() as server:
        yield server


@pytest.mark.parametrize("sig", SIGNALS)
def test_signal_as_soon_as_the_cli_starts(silent: SilentServer, sig: int) -> None:
    args = ["diagnose", f"127.0.0.1:{silent.port}", "--timeout", "5", "--no-proxy"]
    proc, err, kids, took = interrupt(args, sig, lambda pid: catches(pid, signal.SIGTERM))
    assert_clean_end(proc, err, sig, kids)
    assert took < 5


@pytest.mark.parametrize("sig", SIGNALS)
@pytest.mark.parametrize("delay", [0.3, 1.2])
def test_signal_while_probes_wait_on_a_silent_server(silent: SilentServer, sig: int, delay: float) -> None:
    args = ["diagnose", f"127.0.0.1:{silent.port}", "--timeout", "5", "--no-proxy"]
    started = time.monotonic()
    # Past the delay and past start-up (the handlers installed): under load, 0.3 s can end before
    # the interpreter has even read tlsdoctor, and a signal then meets Python's own default.
    ready = lambda pid: time.monotonic() - started > delay and catches(pid, signal.SIGTERM)  # noqa: E731
    proc, err, kids, took = interrupt(args, sig, ready)
    assert_clean_end(proc, err, sig, kids)
    assert took < 4, f"{took:.1f} s from the signal to the exit: the run did not stop"


@pytest.mark.parametrize("sig", SIGNALS)
def test_signal_while_the_scan_helper_works(healthy: TlsServer, sig: int) -> None:
    """The scan forks a certificate helper: the signal ends both, and the helper is reaped."""
    args = ["scan", f"127.0.0.1:{healthy.port}", "--timeout", "5"]
    proc, err, kids, _ = interrupt(args, sig, lambda pid: bool(children(pid)))
    assert kids, "the scan forked no helper"
    assert_clean_end(proc, err, sig, kids)


@pytest.mark.parametrize("sig", SIGNALS)
def test_signal_to_the_process_group_during_a_scan(healthy: TlsServer, sig: int) -> None:
    """Ctrl-C in a terminal signals the helper too: still one line, and the helper says nothing."""
    args = ["scan", f"127.0.0.1:{healthy.port}", "--timeout", "5"]
    proc, err, kids, _ = interrupt(args, sig, lambda pid: bool(children(pid)), group=True)
    assert kids, "the scan forked no helper"
    assert_clean_end(proc, err, sig, kids)


@pytest.mark.parametrize("reader", [["head", "-1"], ["true"]])
def test_reader_leaving_keeps_the_exit_status(healthy: TlsServer, reader: list[str]) -> None:
    """``tlsdoctor diagnose ... | head -1`` of a healthy endpoint exits 0, as without the pipe."""
    assert healthy.ca_file is not None
    args = ["diagnose", f"127.0.0.1:{healthy.port}", "--servername", healthy.servername]
    args += ["--ca-file", str(healthy.ca_file), "--no-proxy"]
    for output in ([], ["--json"]):
        with subprocess.Popen([*CLI, *args, *output], stdout=subprocess.PIPE, stderr=subprocess.PIPE) as tool:
            assert tool.stdout is not None and tool.stderr is not None
            head = subprocess.run(reader, stdin=tool.stdout, capture_output=True, timeout=30, check=False)
            tool.stdout.close()  # only the reader held the pipe: it has gone now
            err = tool.stderr.read()
            status = tool.wait(timeout=30)
        assert status == 0, err.decode()
        assert err == b"", err.decode()
        if reader[0] == "head":
            assert head.stdout.startswith(b"{" if output else b"tlsdoctor diagnose"), head.stdout


def test_usage_error_keeps_status_2_when_nobody_reads_stderr() -> None:
    """``tlsdoctor diagnose 'bad host' 2>&1 | true``: the error line has no reader; the status says 2."""
    with subprocess.Popen(
        [*CLI, "diagnose", "bad host"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    ) as tool:
        assert tool.stdout is not None
        subprocess.run(["true"], stdin=tool.stdout, check=True, timeout=30)
        tool.stdout.close()
        assert tool.wait(timeout=30) == 2
