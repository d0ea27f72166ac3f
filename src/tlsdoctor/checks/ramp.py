"""Load-shaped probes: a concurrency ramp (server-overloaded) and TCP_INFO counters (network-unstable).

The ramp runs only when the default handshake was slow or silent after a fast TCP connect:
it opens up to 1 + 4 + 16 connections, which a healthy server never needs to see from us.
"""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import struct
import time

from tlsdoctor.checks.connect import Route, with_preamble
from tlsdoctor.checks.handshake import VARIANTS, build_context
from tlsdoctor.checks.repeat import SLOW_CONNECT_MS, percentile
from tlsdoctor.context import Context
from tlsdoctor.model import CheckResult, Status
from tlsdoctor.net.stream import Stream
from tlsdoctor.net.tcp import open_tcp
from tlsdoctor.net.tls import handshake
from tlsdoctor.observations.path import PathStats, RampLevel
from tlsdoctor.observations.tls import HandshakeOutcome

LEVELS = (1, 4, 16)
NO_VERIFY = VARIANTS[0]  # the server's work is the same; ours is less
# struct tcp_info (linux/tcp.h): 8 bytes of u8 fields, then u32s; rtt is the 16th, total_retrans the 24th;
# tcpi_rcv_ooopack (Linux 5.4+) sits at byte 224, after the u64 counters.
_TCP_INFO_LEN = 232
_RTT_OFFSET, _TOTAL_RETRANS_OFFSET, _RCV_OOOPACK_OFFSET = 8 + 4 * 15, 8 + 4 * 23, 224


@dataclasses.dataclass(frozen=True, slots=True)
class Sample:
    """One connection: connect time, handshake time, outcome, and the kernel's counters."""

    connect_ms: float
    handshake_ms: float
    ok: bool
    retransmits: int = 0
    rtt_ms: float = 0.0
    reordered: int = 0  # segments that arrived out of order: one of the server's was lost before them


def tcp_info(sock: socket.socket) -> tuple[int, float, int]:
    """(segments we retransmitted, smoothed RTT in ms, out-of-order segments received) from TCP_INFO.

    Our own retransmissions only show loss on the way out; a server segment lost on the way in shows
    as the ones behind it arriving out of order. Zeros where the kernel does not say.
    """
    try:
        raw = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, _TCP_INFO_LEN)
    except OSError:
        return 0, 0.0, 0
    if len(raw) < _TOTAL_RETRANS_OFFSET + 4:
        return 0, 0.0, 0
    rtt_us = struct.unpack_from("I", raw, _RTT_OFFSET)[0]
    ooo = struct.unpack_from("I", raw, _RCV_OOOPACK_OFFSET)[0] if len(raw) >= _RCV_OOOPACK_OFFSET + 4 else 0
    return struct.unpack_from("I", raw, _TOTAL_RETRANS_OFFSET)[0], rtt_us / 1000, ooo


async def sample(ctx: Context, route: Route) -> Sample:
    """One connect + handshake, with the counters read before close."""
    start = time.monotonic()
    tcp, sock = await open_tcp(route.address, ctx.options.port, ctx.timeout)
    if sock is None:
        return Sample(connect_ms=tcp.elapsed_ms, handshake_ms=0.0, ok=False)
    _obs, ready = await with_preamble(
        ctx, [], Stream(sock, time.monotonic() + ctx.timeout, ctx.limits.max_read_bytes), ctx.timeout
    )
    if ready is None:
        return Sample(connect_ms=tcp.elapsed_ms, handshake_ms=0.0, ok=False)
    stream = ready
    stream.deadline = time.monotonic() + ctx.timeout
    try:
        result = await handshake(
            stream,
            build_context(ctx, NO_VERIFY),
            variant="ramp",
            address=route.address,
            port=ctx.options.port,
            servername=ctx.servername,
            grace=0.0,
        )
        retrans, rtt, ooo = tcp_info(sock)
    finally:
        stream.close()
    ok = result.attempt.outcome is HandshakeOutcome.OK
    return Sample(
        connect_ms=tcp.elapsed_ms,
        handshake_ms=(time.monotonic() - start) * 1000 - tcp.elapsed_ms,
        ok=ok,
        retransmits=retrans,
        rtt_ms=rtt,
        reordered=ooo,
    )


@dataclasses.dataclass(frozen=True, slots=True)
class RampCheck:
    """1, 4, then 16 simultaneous handshakes: does the server slow down or fail as load grows?"""

    route: Route
    layer: str = "server"

    @property
    def id(self) -> str:
        return "server.ramp"

    def budget(self, ctx: Context) -> float:
        return len(LEVELS) * (ctx.timeout * 2 + 0.5) + 1.0

    async def run(self, ctx: Context) -> CheckResult:
        levels: list[RampLevel] = []
        for n in LEVELS:
            samples = await asyncio.gather(*(sample(ctx, self.route) for _ in range(n)))
            done = [s.handshake_ms for s in samples if s.ok]
            levels.append(
                RampLevel(
                    concurrency=n,
                    failures=sum(not s.ok for s in samples),
                    connect_p50_ms=percentile([s.connect_ms for s in samples], 0.5),
                    handshake_p50_ms=percentile(done, 0.5),
                    handshake_max_ms=max(done, default=0.0),
                    handshake_min_ms=min(done, default=0.0),
                    retransmits=sum(s.retransmits + s.reordered for s in samples),
                )
            )
            if not done:
                break  # nothing completes even alone: not load, and more levels would only cost timeouts
        summary = "; ".join(
            f"x{lv.concurrency}: p50 {lv.handshake_p50_ms:.0f} ms, {lv.failures} failed" for lv in levels
        )
        return CheckResult(id=self.id, status=Status.PASS, summary=summary, observations=tuple(levels))


@dataclasses.dataclass(frozen=True, slots=True)
class StabilityCheck:
    """A few identical connections, reading each one's retransmission count and RTT from the kernel."""

    route: Route
    count: int = 8
    layer: str = "path"

    @property
    def id(self) -> str:
        return "path.stability"

    def budget(self, ctx: Context) -> float:
        return -(-self.count // 4) * (ctx.timeout * 2 + 0.5) + 1.0

    async def run(self, ctx: Context) -> CheckResult:
        gate = asyncio.Semaphore(4)

        async def one() -> Sample:
            async with gate:
                return await sample(ctx, self.route)

        samples = await asyncio.gather(*(one() for _ in range(self.count)))
        rtts = [s.rtt_ms for s in samples if s.rtt_ms > 0]
        stats = PathStats(
            attempts=len(samples),
            failures=sum(not s.ok for s in samples),
            retransmits=sum(s.retransmits for s in samples),
            out_of_order=sum(s.reordered for s in samples),
            slow_connects=sum(s.connect_ms >= SLOW_CONNECT_MS for s in samples),
            rtt_ms_min=min(rtts, default=0.0),
            rtt_ms_max=max(rtts, default=0.0),
        )
        bad = stats.failures or stats.retransmits or stats.slow_connects
        return CheckResult(
            id=self.id,
            status=Status.WARN if bad else Status.PASS,
            summary=stats.describe(),
            observations=(stats,),
        )
