"""What `tlsdoctor host` (and diagnose, after an EMFILE or EADDRNOTAVAIL) saw on the local machine.

These are facts about the client's own host: its resource limits and their use, its sockets, its
interfaces, its proxy settings, its trust stores and its TLS library's policy. The client-side rules
(inference/rules/client.py) read them; nothing here judges.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import ClassVar

from tlsdoctor.observations.base import Observation


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class FdUsage(Observation):
    """One process's file-descriptor limit (RLIMIT_NOFILE) and how many it has open."""

    kind: ClassVar[str] = "fd-usage"

    pid: int
    soft: int | None  # None: unlimited or unreadable
    hard: int | None
    open: int | None  # None: could not be counted
    own: bool = True  # this process (whose limit new processes from the same shell inherit)

    @property
    def fraction(self) -> float | None:
        """Open descriptors as a share of the soft limit."""
        if self.soft is None or self.open is None or self.soft <= 0:
            return None
        return self.open / self.soft

    def describe(self) -> str:
        who = "this process" if self.own else f"process {self.pid}"
        soft = "unlimited" if self.soft is None else str(self.soft)
        hard = "unlimited" if self.hard is None else str(self.hard)
        used = "an unknown number of" if self.open is None else str(self.open)
        return f"{who}: {used} file descriptors open, limit {soft} (hard {hard})"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class HostFiles(Observation):
    """Host-wide open files (/proc/sys/fs/file-nr) against fs.file-max."""

    kind: ClassVar[str] = "host-files"

    allocated: int
    maximum: int

    @property
    def fraction(self) -> float:
        return self.allocated / self.maximum if self.maximum > 0 else 0.0

    def describe(self) -> str:
        return f"host: {self.allocated} file handles allocated of fs.file-max {self.maximum}"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class PortUsage(Observation):
    """The ephemeral port range and how much of it TCP sockets hold.

    Linux shares a local port between connections to different destinations, so exhaustion is per
    destination: ``busiest_count`` sockets in the range go to ``busiest`` (the one that runs out first).
    """

    kind: ClassVar[str] = "port-usage"

    low: int
    high: int
    in_use: int  # distinct local ports in the range held by any TCP socket
    busiest: str | None  # "addr:port" with the most sockets from the range
    busiest_count: int
    time_wait: int  # sockets in the range in TIME_WAIT

    @property
    def size(self) -> int:
        return max(0, self.high - self.low + 1)

    @property
    def fraction(self) -> float:
        """The share of the range the busiest destination uses up."""
        return self.busiest_count / self.size if self.size else 0.0

    def describe(self) -> str:
        head = f"ephemeral ports {self.low}-{self.high} ({self.size}): {self.in_use} in use"
        if self.busiest:
            head += f"; {self.busiest_count} of them to {self.busiest} ({self.fraction:.0%} of the range)"
        if self.time_wait:
            head += f"; {self.time_wait} in TIME_WAIT"
        return head


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SocketStates(Observation):
    """TCP socket counts by state, and the remote ports with the most sockets in the telling states."""

    kind: ClassVar[str] = "socket-states"

    counts: dict[str, int]
    top: tuple[tuple[str, int, int], ...] = ()  # (state, remote port, sockets)

    def describe(self) -> str:
        states = ", ".join(f"{k} {v}" for k, v in sorted(self.counts.items(), key=lambda kv: -kv[1]))
        tops = "; ".join(f"{s} to port {p}: {n}" for s, p, n in self.top[:3])
        return f"TCP sockets: {states or 'none'}" + (f" (most: {tops})" if tops else "")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class InterfaceInfo(Observation):
    """One network interface: its MTU and whether it is a tunnel (whose MTU is below the link's)."""

    kind: ClassVar[str] = "interface"

    name: str
    mtu: int | None
    link_type: str  # "ether", "loopback", "none" (tun), "ipip", ... or the ARPHRD number
    tunnel: str = ""  # "wireguard", "tun", "vxlan", "ppp", ... when it is one
    up: bool = False

    def describe(self) -> str:
        what = f" ({self.tunnel} tunnel)" if self.tunnel else ""
        state = "up" if self.up else "down"
        return f"interface {self.name}{what}: MTU {self.mtu}, {self.link_type}, {state}"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ProxySetting(Observation):
    """A proxy variable or setting, with any credentials in it replaced by ***."""

    kind: ClassVar[str] = "proxy-setting"

    source: str  # "environment", "/etc/environment", "/etc/apt/apt.conf.d/90proxy"
    name: str  # "HTTPS_PROXY", "Acquire::http::Proxy"
    value: str  # redacted

    def describe(self) -> str:
        return f"{self.name}={self.value} ({self.source})"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class TrustBundle(Observation):
    """A CA bundle a client may use: where, how many roots, how old."""

    kind: ClassVar[str] = "trust-bundle"

    name: str  # "system", "certifi", or the variable that points at it (SSL_CERT_FILE, ...)
    path: str
    anchors: int
    modified: dt.datetime | None = None
    age_days: float | None = None
    problem: str = ""

    def describe(self) -> str:
        if self.problem:
            return f"{self.name} CA bundle {self.path}: {self.problem}"
        age = f", updated {self.age_days:.0f} days ago" if self.age_days is not None else ""
        return f"{self.name} CA bundle {self.path}: {self.anchors} certificates{age}"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class TrustStoreDiff(Observation):
    """How two bundles differ: a corporate CA in one and not the other is a classic split."""

    kind: ClassVar[str] = "trust-diff"

    first: str
    second: str
    only_first: int
    only_second: int
    common: int

    def describe(self) -> str:
        return (
            f"{self.first} vs {self.second}: {self.common} in both, {self.only_first} only in "
            f"{self.first}, {self.only_second} only in {self.second}"
        )


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class TlsPolicy(Observation):
    """OpenSSL's system-wide TLS policy: the openssl.cnf ``system_default`` section, as OpenSSL
    applies it to every context, and what this Python's default client context ends up with."""

    kind: ClassVar[str] = "tls-policy"

    config: str | None  # the openssl.cnf in effect (OPENSSL_CONF or OPENSSLDIR/openssl.cnf)
    files: tuple[str, ...] = ()  # every file read, includes too
    min_protocol: str | None = None
    max_protocol: str | None = None
    cipher_string: str | None = None
    security_level: int | None = None  # from @SECLEVEL in CipherString
    options: tuple[str, ...] = ()
    legacy_renegotiation: bool = False  # Options UnsafeLegacyRenegotiation / UnsafeLegacyServerConnect
    # Python's ssl sets its own minimum (TLS 1.2) and security level on every context, over the
    # file's: curl and other OpenSSL clients follow the file, Python follows these.
    python_minimum: str | None = None
    python_security_level: int | None = None
    notes: tuple[str, ...] = ()

    def describe(self) -> str:
        parts = [f"{self.config or 'no openssl.cnf'}"]
        if self.min_protocol:
            parts.append(f"MinProtocol {self.min_protocol}")
        if self.cipher_string:
            parts.append(f"CipherString {self.cipher_string}")
        if self.options:
            parts.append(f"Options {','.join(self.options)}")
        if self.python_security_level is not None:
            parts.append(
                f"Python's ssl: minimum {self.python_minimum}, security level {self.python_security_level}"
            )
        parts.append("legacy renegotiation " + ("allowed" if self.legacy_renegotiation else "refused"))
        return "OpenSSL policy: " + "; ".join(parts)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class LibraryVersion(Observation):
    """A TLS-relevant program or library and its version."""

    kind: ClassVar[str] = "library-version"

    name: str  # "python", "openssl", "curl"
    version: str
    detail: str = ""

    def describe(self) -> str:
        return f"{self.name} {self.version}" + (f" ({self.detail})" if self.detail else "")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class TimeSync(Observation):
    """Which clock-synchronisation daemons run (a clock nobody corrects drifts)."""

    kind: ClassVar[str] = "time-sync"

    daemons: tuple[str, ...]
    configured: tuple[str, ...] = ()  # the NTP servers their configuration names

    def describe(self) -> str:
        running = ", ".join(self.daemons) if self.daemons else "no time-sync daemon running"
        servers = f"; configured servers: {', '.join(self.configured)}" if self.configured else ""
        return f"{running}{servers}"
