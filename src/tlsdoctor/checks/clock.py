"""The clock check: the local clock against NTP (SNTP, RFC 4330), because certificate validity depends on it.

A clock that is hours or years off makes valid certificates look expired or not yet
valid (RFC 5280 section 4.1.2.5 is judged against local time). The rules compare
this check's offset with the certificate findings to blame the clock, not the
certificate, when the finding disappears at the corrected time.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence
from pathlib import Path

from tlsdoctor.context import Context
from tlsdoctor.model import CheckResult, Status
from tlsdoctor.net import udp
from tlsdoctor.observations.base import Observation
from tlsdoctor.observations.cert import ClockOffset, NtpFailure
from tlsdoctor.wire import ntp
from tlsdoctor.wire.reader import DecodeError

CONFIG_FILES = ("/etc/chrony/chrony.conf", "/etc/chrony.conf", "/etc/ntp.conf", "/etc/systemd/timesyncd.conf")
MAX_SERVERS = 2
NTP_PORT = 123
SKEW_FAIL_S = 60.0  # beyond this the clock is a fault (and can break short-lived certificates)
SKEW_WARN_S = 5.0


def configured_servers(paths: Sequence[str | Path] = CONFIG_FILES) -> list[str]:
    """NTP servers from chrony/ntpd (``server``/``pool``) and timesyncd (``NTP=``, else ``FallbackNTP=``)."""
    found: list[str] = []
    for path in paths:
        try:
            text = Path(path).read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        fallback: list[str] = []
        for raw in text.splitlines():
            line = raw.split("#", 1)[0].strip()
            words = line.split()
            if len(words) >= 2 and words[0] in ("server", "pool"):
                found.append(words[1])
            elif line.startswith("NTP="):
                found += line[4:].split()
            elif line.startswith("FallbackNTP="):
                fallback += line[12:].split()
        if not found:
            found += fallback
    unique = list(dict.fromkeys(found))
    return unique[:MAX_SERVERS]


def split_host_port(text: str) -> tuple[str, int]:
    """ "host", "host:port", "[v6]:port" or a bare IPv6 address -> (host, port)."""
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") and rest[1:].isdigit() else NTP_PORT
    if text.count(":") == 1:
        host, _, port = text.partition(":")
        if port.isdigit():
            return host, int(port)
    return text, NTP_PORT


async def query(source: str, ctx: Context) -> Observation:
    """One SNTP exchange: a ClockOffset, or an NtpFailure saying why there is no time."""
    host, port = split_host_port(source)
    t1 = ctx.clock.now()
    m1 = ctx.clock.monotonic()
    request = ntp.build_request(t1)
    result = await udp.exchange(host, port, request, ctx.timeout)
    if result.outcome is not udp.UdpOutcome.REPLY:
        return NtpFailure(source=source, outcome=result.outcome.value, detail=result.detail)
    t4 = t1 + dt.timedelta(seconds=ctx.clock.monotonic() - m1)
    try:
        reply = ntp.parse_reply(result.data)
        ntp.check_reply(reply, request)
    except DecodeError as exc:
        return NtpFailure(source=source, outcome="bad-reply", detail=str(exc))
    except ntp.Unusable as exc:
        return NtpFailure(source=source, outcome=exc.outcome, detail=exc.detail)
    offset, delay = ntp.offset_and_delay(t1, reply, t4)
    return ClockOffset(source=source, offset_s=offset, rtt_ms=delay * 1000, stratum=reply.stratum)


class ClockCheck:
    """How far the local clock is from NTP time (--ntp, else the system's configured servers, at most 2)."""

    id = "clock"
    layer = "client"

    def __init__(self, *, config_paths: Sequence[str | Path] = CONFIG_FILES) -> None:
        self.config_paths = tuple(config_paths)

    def budget(self, ctx: Context) -> float:
        """The servers are asked concurrently, each within one timeout."""
        return ctx.timeout + 1.0

    def servers(self, ctx: Context) -> list[str]:
        if ctx.options.ntp:
            return [ctx.options.ntp]
        return configured_servers(self.config_paths)

    async def run(self, ctx: Context) -> CheckResult:
        servers = self.servers(ctx)
        if not servers:
            return CheckResult(
                id=self.id,
                status=Status.SKIP,
                summary="no NTP server given (--ntp) or configured (chrony, ntpd, timesyncd)",
            )
        found = await asyncio.gather(*(query(s, ctx) for s in servers))
        status, summary = judge(found)
        return CheckResult(
            id=self.id,
            status=status,
            summary=summary,
            observations=tuple(found),
        )


def judge(found: Sequence[Observation]) -> tuple[Status, str]:
    """fail beyond 60 s, warn beyond 5 s or when no server answered; the closest server speaks."""
    offsets = sorted((o for o in found if isinstance(o, ClockOffset)), key=lambda o: o.rtt_ms)
    if not offsets:
        failures = "; ".join(o.describe() for o in found)
        return Status.WARN, f"no NTP server gave the time: {failures}"
    best = offsets[0]
    if abs(best.offset_s) > SKEW_FAIL_S:
        return Status.FAIL, best.describe()
    if abs(best.offset_s) > SKEW_WARN_S:
        return Status.WARN, best.describe()
    return Status.PASS, best.describe()
