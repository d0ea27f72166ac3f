"""Context: what every check may read — the options, the clock, limits, trust and proxy."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from tlsdoctor.clock import Clock, SystemClock

if TYPE_CHECKING:
    from tlsdoctor.model import CheckResult
    from tlsdoctor.net.route import Dial


class CheckObserver(Protocol):
    """Told by the runner when each check starts and ends (report/progress.py shows it live)."""

    def started(self, check_id: str) -> None: ...

    def finished(self, result: CheckResult) -> None: ...


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Options:
    """The user's choices for diagnose/scan (contract/cli.md), already validated by the CLI."""

    host: str
    port: int = 443
    servername: str | None = None  # SNI and certificate name; None = host (unless host is an IP)
    connect_to: str | None = None
    resolvers: tuple[str, ...] = ()  # "ip" or "ip:port"
    ca_file: Path | None = None
    proxy: str | None = None  # explicit --proxy URL
    no_proxy: bool = False
    timeout: float = 5.0
    repeat: int = 0
    ntp: str | None = None
    cert: Path | None = None
    key: Path | None = None
    host_is_ip: bool = False
    scheme: str | None = None  # the target URL's scheme ("https": HTTP over TLS, whatever the port)
    starttls: str | None = None  # a plaintext protocol to upgrade first (net.starttls.PROTOCOLS), or None
    expect_fingerprint: str | None = None  # the leaf SHA-256 (lowercase hex) the server really has
    idle: float | None = None  # --idle: seconds to hold a handshaken connection quiet (checks/idle.py)
    keylog_file: Path | None = None  # diagnose --capture: the stdlib-ssl probes append their secrets here
    client: str | None = None  # --client: a known client's profile to judge by (clientsim/)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    """Caps that keep a hostile peer from costing unbounded memory or time."""

    max_read_bytes: int = 256 * 1024  # per connection
    max_concurrency: int = 16


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Context:
    """Passed to every check. Immutable; phases hand data forward explicitly."""

    options: Options
    clock: Clock = dataclasses.field(default_factory=SystemClock)
    limits: Limits = dataclasses.field(default_factory=Limits)
    observer: CheckObserver | None = None  # progress on a terminal; None: nobody watching

    @property
    def timeout(self) -> float:
        """The per-step timeout in seconds."""
        return self.options.timeout

    @property
    def servername(self) -> str | None:
        """The name for SNI and certificate checks: --servername, else the host unless it is an IP."""
        if self.options.servername:
            return self.options.servername
        return None if self.options.host_is_ip else self.options.host

    @property
    def dial(self) -> Dial:
        """What every connection to the target shares (net/route.py): the port, the byte cap, the
        STARTTLS preamble and the name it announces, the CA file an HTTPS proxy is verified against."""
        from tlsdoctor.net.route import Dial  # net/ brings asyncio: not before scan's helper forks

        o = self.options
        return Dial(
            host=o.host,
            port=o.port,
            cap=self.limits.max_read_bytes,
            starttls=o.starttls,
            servername=self.servername or o.host,
            ca_file=o.ca_file,
        )

    @property
    def verify_name(self) -> str:
        """The name (or IP) the certificate must match."""
        return self.options.servername or self.options.host
