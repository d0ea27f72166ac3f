"""Network namespaces and the processes that run inside them.

Everything the lab starts goes through :class:`Namespaces`, so that closing it can delete what it made by
name and kill what it started by PID, even when a test failed half-way. Names carry the creating PID
(``tdlab-<pid>-<hex>-<role>``) so parallel runs never collide and a later run can tell a stale namespace
(its PID is dead) from a live one that belongs to somebody else.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

PREFIX = "tdlab"
_STALE_RE = re.compile(rf"^{PREFIX}-(\d+)-[0-9a-f]+-")
NETNS_ETC = Path("/etc/netns")


class LabError(RuntimeError):
    """A lab command failed; carries the argv and what it printed: what one needs to fix it."""


def _pid_alive(pid: int) -> bool:
    """True if ``pid`` runs; a zombie (killed, not yet reaped) counts as dead, since its lab is orphaned."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[0] != "Z"


def _run(argv: Sequence[str], timeout: float = 10.0, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a host-side command (``ip``, ...) with a bounded wait."""
    proc = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, check=False)
    if check and proc.returncode != 0:
        raise LabError(
            f"{' '.join(argv)} -> rc={proc.returncode}: {proc.stderr.strip() or proc.stdout.strip()}"
        )
    return proc


def list_namespaces() -> list[str]:
    proc = _run(["ip", "netns", "list"], check=False)
    return [line.split()[0] for line in proc.stdout.splitlines() if line.strip()]


def _kill_pids(pids: Iterable[int], grace: float = 2.0) -> None:
    """TERM then KILL exactly these PIDs (never by name), bounded by ``grace`` seconds."""
    pids = [p for p in pids if p > 1 and p != os.getpid()]
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(_pid_alive(p) for p in pids):
        time.sleep(0.05)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def delete_namespace(name: str) -> None:
    """Kill whatever still runs in ``name`` (by the PIDs the kernel lists for it), then delete it."""
    proc = _run(["ip", "netns", "pids", name], check=False)
    _kill_pids(int(p) for p in proc.stdout.split() if p.isdigit())
    _run(["ip", "netns", "delete", name], check=False)
    shutil.rmtree(NETNS_ETC / name, ignore_errors=True)


def cleanup_stale() -> list[str]:
    """Delete ``tdlab-<pid>-*`` namespaces and temp dirs whose creating process is gone. Returns the names."""
    removed = []
    for name in list_namespaces():
        m = _STALE_RE.match(name)
        if m and not _pid_alive(int(m.group(1))):
            delete_namespace(name)
            removed.append(name)
    if NETNS_ETC.is_dir():
        for d in NETNS_ETC.iterdir():
            m = _STALE_RE.match(d.name)
            if m and not _pid_alive(int(m.group(1))):
                shutil.rmtree(d, ignore_errors=True)
    tmp = Path(os.environ.get("TMPDIR", "/tmp"))
    for d in tmp.glob(f"{PREFIX}-*"):
        m = _STALE_RE.match(d.name + "-")
        if d.is_dir() and m and not _pid_alive(int(m.group(1))):
            shutil.rmtree(d, ignore_errors=True)
    return removed


def netns_available() -> tuple[bool, str]:
    """Whether this process can build the lab; the reason is meant for ``pytest.skip``."""
    if os.geteuid() != 0:
        return False, "the middlebox lab needs root (network namespaces, iptables)"
    if shutil.which("ip") is None:
        return False, "iproute2 `ip` not found"
    name = f"{PREFIX}-{os.getpid()}-{secrets.token_hex(3)}-probe"
    proc = _run(["ip", "netns", "add", name], check=False)
    if proc.returncode != 0:
        return False, f"`ip netns add` does not work here: {proc.stderr.strip()}"
    _run(["ip", "netns", "delete", name], check=False)
    return True, ""


class Namespaces:
    """Owns a set of namespaces (role -> real name) and every process spawned into them."""

    def __init__(self, roles: Sequence[str]) -> None:
        self.tag = f"{PREFIX}-{os.getpid()}-{secrets.token_hex(3)}"
        self.names = {role: f"{self.tag}-{role}" for role in roles}
        self._procs: list[tuple[str, subprocess.Popen[bytes]]] = []

    def create(self) -> None:
        for name in self.names.values():
            _run(["ip", "netns", "add", name])
            self.ip(name, "link", "set", "lo", "up")

    def ip(self, name: str, *args: str) -> None:
        _run(["ip", "-n", name, *args])

    def sysctl(self, role: str, key: str, value: str) -> None:
        self.run_in(role, ["sysctl", "-q", "-w", f"{key}={value}"], timeout=5, check=True)

    def set_resolver(self, role: str, server: str) -> None:
        """``ip netns exec`` bind-mounts /etc/netns/<name>/resolv.conf: standard clients then use our DNS."""
        d = NETNS_ETC / self.names[role]
        d.mkdir(parents=True, exist_ok=True)
        (d / "resolv.conf").write_text(f"nameserver {server}\noptions timeout:2 attempts:1\n")

    def _argv(self, role: str, argv: Sequence[str]) -> list[str]:
        if isinstance(argv, str):
            raise TypeError("argv must be a list of strings, never a shell string")
        return ["ip", "netns", "exec", self.names[role], *map(str, argv)]

    def run_in(
        self,
        role: str,
        argv: Sequence[str],
        timeout: float,
        *,
        check: bool = False,
        input: bytes | None = None,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[bytes]:
        """Run ``argv`` inside ``role`` and wait at most ``timeout`` s.

        On timeout the whole process group is killed and ``subprocess.TimeoutExpired`` is raised with what
        the command printed so far (a hanging ``openssl s_client`` is a result some tests want to assert).
        """
        full = self._argv(role, argv)
        proc = subprocess.Popen(
            full,
            stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            env=env,
        )
        try:
            out, err = proc.communicate(input=input, timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate(timeout=5)
            raise subprocess.TimeoutExpired(full, timeout, output=out, stderr=err) from None
        result = subprocess.CompletedProcess(full, proc.returncode, out, err)
        if check and proc.returncode != 0:
            raise LabError(
                f"{' '.join(full)} -> rc={proc.returncode}: {err.decode(errors='replace').strip()}"
            )
        return result

    def spawn_in(
        self,
        role: str,
        argv: Sequence[str],
        *,
        stdout: int | None = subprocess.DEVNULL,
        stderr: int | None = subprocess.DEVNULL,
        env: dict[str, str] | None = None,
    ) -> subprocess.Popen[bytes]:
        """Start a background process in ``role``; it is killed (by PID / its own process group) on close."""
        proc = subprocess.Popen(
            self._argv(role, argv),
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,
            env=env,
        )
        self._procs.append((role, proc))
        return proc

    def stop(self, proc: subprocess.Popen[bytes], grace: float = 3.0) -> None:
        """Stop one spawned process: TERM its process group, then KILL after ``grace`` seconds."""
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
        self._procs = [(r, p) for r, p in self._procs if p is not proc]

    def close(self) -> None:
        for _, proc in list(reversed(self._procs)):
            with contextlib.suppress(Exception):
                self.stop(proc)
        for name in self.names.values():
            delete_namespace(name)


def wait_for(predicate: Callable[[], bool], timeout: float, what: str, interval: float = 0.05) -> None:
    """Poll ``predicate()`` until true or raise LabError after ``timeout`` seconds (every wait is bounded)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise LabError(f"timed out after {timeout:.1f}s waiting for {what}")
