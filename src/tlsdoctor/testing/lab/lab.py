"""The lab: three namespaces in a line, real servers at the end, faults in the middle.

    client 198.18.1.2/24 (c0) ── (m0) 198.18.1.1  mid  198.18.2.1 (m1) ── (s0) 198.18.2.2/24 server

``mid`` routes between the two /24s and hosts the faults (iptables, the m0 MTU, squid, the
intercepting relay); ``server`` runs nginx on 198.18.2.2:443/80 and dnsmasq on 198.18.2.2:53.
Only 198.18.0.0/15 (RFC 2544 benchmarking) is used, so nothing here can be confused with, or leak to,
a real network. Standard clients in ``client`` resolve ``*.lab.test`` through dnsmasq
(``/etc/netns/<ns>/resolv.conf``).
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import tlsdoctor
from tlsdoctor.testing.lab import capture as _capture
from tlsdoctor.testing.lab import faults, services
from tlsdoctor.testing.lab.netns import LabError, Namespaces, cleanup_stale
from tlsdoctor.testing.lab.pki import InterceptPki, ServerPki, make_intercept_pki, make_server_pki

ROLES = ("client", "mid", "server")
CLIENT_IP = "198.18.1.2"
MID_CLIENT_IP = "198.18.1.1"
MID_SERVER_IP = "198.18.2.1"
SERVER_IP = "198.18.2.2"
DNS_SERVER = SERVER_IP
HTTPS_PORT = 443
CLOSED_PORT = 444  # nothing listens there: a genuine "connection refused" from the server's kernel
NAME = "www.lab.test"
BLOCKED_NAME = "blocked.lab.test"
NXDOMAIN_NAME = "nxdomain.lab.test"
SERVFAIL_NAME = "servfail.lab.test"
IFACES = {"client": ["c0"], "mid": ["m0", "m1"], "server": ["s0"]}


class Lab:
    """Use ``with Lab.create() as lab:``. Everything it made is undone by :meth:`close`, even after errors."""

    def __init__(self, workdir: Path, key_bits: int = 4096) -> None:
        self.workdir = workdir
        self.ns = Namespaces(ROLES)
        self.key_bits = key_bits
        self.pki: ServerPki | None = None
        self._intercept_pki: InterceptPki | None = None
        self.active: list[tuple[str, dict[str, Any]]] = []
        self._proxy: subprocess.Popen[bytes] | None = None
        self._relay: subprocess.Popen[bytes] | None = None
        self._slow: tuple[subprocess.Popen[bytes], tuple[int, int, float]] | None = None
        self._delayer: tuple[subprocess.Popen[bytes], tuple[float, float]] | None = None

    # ---- life cycle
    @classmethod
    def create(cls, *, key_bits: int = 4096, services: bool = True) -> Lab:
        """Build the topology and start nginx + dnsmasq. Also removes stale labs of dead processes."""
        cleanup_stale()
        workdir = Path(tempfile.mkdtemp(prefix=f"tdlab-{os.getpid()}-{os.urandom(3).hex()}-"))
        lab = cls(workdir, key_bits)
        try:
            lab._build(services)
        except BaseException:
            lab.close()
            raise
        return lab

    def __enter__(self) -> Lab:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Kill every process we started (by PID), delete the namespaces, remove the temp dir."""
        self.ns.close()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def _build(self, with_services: bool) -> None:
        ns = self.ns
        ns.create()
        n = ns.names
        for role in ROLES:  # no IPv6 at all: no stray router solicitations, no fd00:: ULA
            ns.sysctl(role, "net.ipv6.conf.all.disable_ipv6", "1")
            ns.sysctl(role, "net.ipv6.conf.default.disable_ipv6", "1")
        subprocess.run(
            [
                "ip",
                "link",
                "add",
                "name",
                "c0",
                "netns",
                n["client"],
                "type",
                "veth",
                "peer",
                "name",
                "m0",
                "netns",
                n["mid"],
            ],
            check=True,
            timeout=10,
            capture_output=True,
        )
        subprocess.run(
            [
                "ip",
                "link",
                "add",
                "name",
                "m1",
                "netns",
                n["mid"],
                "type",
                "veth",
                "peer",
                "name",
                "s0",
                "netns",
                n["server"],
            ],
            check=True,
            timeout=10,
            capture_output=True,
        )
        for role, addrs in (
            ("client", [("c0", f"{CLIENT_IP}/24")]),
            ("mid", [("m0", f"{MID_CLIENT_IP}/24"), ("m1", f"{MID_SERVER_IP}/24")]),
            ("server", [("s0", f"{SERVER_IP}/24")]),
        ):
            for ifname, cidr in addrs:
                ns.ip(n[role], "addr", "add", cidr, "dev", ifname)
                ns.ip(n[role], "link", "set", ifname, "mtu", "1500", "up")
        ns.ip(n["client"], "route", "add", "default", "via", MID_CLIENT_IP)
        ns.ip(n["server"], "route", "add", "default", "via", MID_SERVER_IP)
        ns.sysctl("mid", "net.ipv4.ip_forward", "1")
        # mid answers every probe with its ICMP error: the kernel's default limit (one unreachable or time
        # exceeded per second per destination) would let a diagnosis right after another see no hop at all.
        ns.sysctl("mid", "net.ipv4.icmp_ratelimit", "0")
        # The server must neither fragment (DF stays set) nor discover a black hole by probing: a blocked
        # ICMP "fragmentation needed" then really stalls it, as on the paths this lab imitates.
        ns.sysctl("server", "net.ipv4.ip_no_pmtu_disc", "0")
        ns.sysctl("server", "net.ipv4.tcp_mtu_probing", "0")
        for role in ("client", "mid"):
            ns.set_resolver(role, DNS_SERVER)
        faults.install_chains(self)
        self.pki = make_server_pki(self.workdir / "pki", bits=self.key_bits)
        if with_services:
            services.start_nginx(ns, self.workdir, self.pki.chain, self.pki.key)
            services.start_dnsmasq(ns, self.workdir, self.env())

    # ---- commands in namespaces
    def run_in(
        self,
        role: str,
        argv: Sequence[str],
        timeout: float = 10.0,
        *,
        check: bool = False,
        input: bytes | None = None,
    ) -> subprocess.CompletedProcess[bytes]:
        """Run argv (a list, never a shell string) in ``client``/``mid``/``server``; see Namespaces.run_in."""
        return self.ns.run_in(role, argv, timeout, check=check, input=input, env=self.env())

    def spawn_in(
        self,
        role: str,
        argv: Sequence[str],
        *,
        stdout: int | None = subprocess.DEVNULL,
        stderr: int | None = subprocess.DEVNULL,
    ) -> subprocess.Popen[bytes]:
        """Start a background process in ``role``; killed by PID on close (or ``lab.ns.stop(proc)``)."""
        return self.ns.spawn_in(role, argv, stdout=stdout, stderr=stderr, env=self.env())

    def run_python(
        self, role: str, code: str, *args: str, timeout: float = 10.0
    ) -> subprocess.CompletedProcess[bytes]:
        """Run a Python snippet in ``role`` with this interpreter and tlsdoctor importable."""
        return self.run_in(role, [sys.executable, "-c", code, *args], timeout)

    @staticmethod
    def env() -> dict[str, str]:
        """Environment for lab processes: tlsdoctor importable, no proxy variables leaking in."""
        src = str(Path(tlsdoctor.__file__).resolve().parent.parent)
        env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [src, env.get("PYTHONPATH")]))
        return env

    def capture(
        self, role: str, bpf: str = "tcp or icmp", iface: str | None = None
    ) -> contextlib.AbstractContextManager[_capture.Capture]:
        """``with lab.capture("client", "tcp port 443") as cap: ...`` then ``cap.packets`` (TTL, IP ID...)."""
        return _capture.capture(self, role, bpf, iface)

    # ---- faults
    def set_fault(self, name: str, **params: Any) -> dict[str, Any]:
        """Add a fault (see faults.FAULTS); returns what callers need to know (e.g. ``proxy_url``)."""
        info = faults.apply(self, name, **params)
        self.active.append((name, info))
        return info

    def clear_faults(self) -> None:
        """Remove every fault: flush the lab chains, MTU back to 1500, learned path MTUs forgotten."""
        faults.clear(self)
        if self._delayer is not None:  # its rules are gone: nothing is queued to it any more
            self.ns.stop(self._delayer[0])
            self._delayer = None
        self.active.clear()

    @contextlib.contextmanager
    def fault(self, name: str, **params: Any) -> Iterator[dict[str, Any]]:
        """``with lab.fault("inject-reset"):`` sets the fault for the block and clears all faults after."""
        try:
            yield self.set_fault(name, **params)
        finally:
            self.clear_faults()

    # ---- helpers started on demand
    @property
    def ca_file(self) -> Path:
        """The lab's root CA: what a client must trust for the healthy path to verify."""
        assert self.pki is not None
        return self.pki.root_ca

    @property
    def intercept_pki(self) -> InterceptPki:
        if self._intercept_pki is None:
            self._intercept_pki = make_intercept_pki(self.workdir / "intercept")
        return self._intercept_pki

    @staticmethod
    def proxy_url(kind: str = "open") -> str:
        """squid in mid: ``open`` allows CONNECT :443, ``auth`` answers 407, ``deny`` answers 403."""
        try:
            port = services.PROXY_PORTS[kind]
        except KeyError:
            raise LabError(f"proxy kind must be one of {sorted(services.PROXY_PORTS)}") from None
        return f"http://{MID_CLIENT_IP}:{port}"

    proxy_credentials = services.PROXY_USER

    def ensure_proxy(self) -> None:
        if self._proxy is None or self._proxy.poll() is not None:
            self._proxy = services.start_squid(self.ns, self.workdir)

    def ensure_relay(self) -> None:
        if self._relay is not None and self._relay.poll() is None:
            return
        ipki = self.intercept_pki
        assert self.pki is not None
        relay_dir = self.workdir / "relay"
        relay_dir.mkdir(exist_ok=True)
        log = open(relay_dir / "relay.log", "ab")  # noqa: SIM115 - handed to the child, closed right after
        with log:
            self._relay = self.spawn_in(
                "mid",
                [
                    sys.executable,
                    "-m",
                    "tlsdoctor.testing.lab.relay",
                    "--listen",
                    f"{MID_CLIENT_IP}:{faults.RELAY_PORT}",
                    "--ca",
                    str(ipki.ca),
                    "--ca-key",
                    str(ipki.key),
                    "--workdir",
                    str(relay_dir),
                    "--upstream-ca",
                    str(self.pki.root_ca),
                ],
                stderr=log.fileno(),
            )
        services.wait_listening(self.ns, self._relay, MID_CLIENT_IP, faults.RELAY_PORT, "relay")

    def ensure_slow_server(self, workers: int, backlog: int, key_op: float, fresh: bool = False) -> None:
        params = (workers, backlog, key_op)
        if self._slow is not None:
            proc, old = self._slow
            if old == params and proc.poll() is None and not fresh:
                return
            self.ns.stop(proc)
        assert self.pki is not None
        proc = self.spawn_in(
            "server",
            [
                sys.executable,
                "-m",
                "tlsdoctor.testing.lab.slowtls",
                "--listen",
                f"{SERVER_IP}:{faults.SLOW_PORT}",
                "--cert",
                str(self.pki.chain),
                "--key",
                str(self.pki.key),
                "--workers",
                str(workers),
                "--backlog",
                str(backlog),
                "--key-op",
                str(key_op),
            ],
        )
        services.wait_listening(self.ns, proc, SERVER_IP, faults.SLOW_PORT, "slowtls")
        self._slow = (proc, params)

    def ensure_delayer(self, one_way_ms: float, jitter_ms: float) -> None:
        """The packet delayer (delayq.py) listening on mid's queue, with these times; waits until it
        has bound the queue (its first line), so no packet is queued before someone releases it."""
        params = (one_way_ms, jitter_ms)
        if self._delayer is not None:
            proc, old = self._delayer
            if old == params and proc.poll() is None:
                return
            self.ns.stop(proc)
            self._delayer = None
        argv = [sys.executable, "-m", "tlsdoctor.testing.lab.delayq", "--queue", str(faults.DELAY_QUEUE)]
        argv += ["--delay-ms", str(one_way_ms), "--jitter-ms", str(jitter_ms)]
        proc = self.spawn_in("mid", argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 5.0)
        line = proc.stdout.readline() if ready else b""
        if not line.startswith(b"delayq:"):
            why = line or (
                proc.stderr.read(2000) if proc.stderr is not None and proc.poll() is not None else b""
            )
            self.ns.stop(proc)
            raise LabError(f"the packet delayer did not start: {why.decode(errors='replace').strip()}")
        self._delayer = (proc, params)


def wait_port(lab: Lab, role: str, host: str, port: int, timeout: float = 5.0) -> float:
    """Connect from ``role`` to host:port until it succeeds; returns the seconds it took (bounded)."""
    code = (
        "import socket,sys,time\n"
        "t=time.monotonic();d=t+float(sys.argv[3])\n"
        "while True:\n"
        "  try:\n"
        "    socket.create_connection((sys.argv[1],int(sys.argv[2])),1).close();break\n"
        "  except OSError:\n"
        "    if time.monotonic()>d: sys.exit(1)\n"
        "    time.sleep(0.05)\n"
        "print(time.monotonic()-t)\n"
    )
    start = time.monotonic()
    res = lab.run_python(role, code, host, str(port), str(timeout), timeout=timeout + 5)
    if res.returncode != 0:
        raise LabError(f"{host}:{port} not reachable from {role} within {timeout}s")
    return time.monotonic() - start
