"""Load-shaped probes: a concurrency ramp (server-overloaded) and TCP_INFO counters (network-unstable).

The ramp runs only on a failure symptom (the first handshakes disagree: one silent, its twin answered):
it opens up to 1 + 4 + 16 connections, which a healthy server never needs to see from us.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time

from tlsdoctor.checks.handshake import VARIANTS, build_context
from tlsdoctor.checks.repeat import percentile
from tlsdoctor.context import Context
from tlsdoctor.model import CheckResult, Status
from tlsdoctor.net.route import Route, open_stream, with_preamble
from tlsdoctor.net.tcp import open_tcp, tcp_info
from tlsdoctor.net.tls import handshake
from tlsdoctor.observations.path import PathStats, RampLevel, SynRetest, SynSample
from tlsdoctor.observations.tcp import SLOW_CONNECT_MS, TcpConnect
from tlsdoctor.observations.tls import HandshakeOutcome

LEVELS = (1, 4, 16)
# Under load a handshake may be this many times slower than unloaded (at least this long) before it counts
# as failed: the contract's "ServerHello late or missing". It keeps a held connection from costing the
# rest of the window.
RAMP_LATE_FACTOR, RAMP_LATE_MIN_S = 4.0, 1.0
# The automatic repeat (no --repeat, signs of loss): 12 connections, 6 at a time (a load below the
# concurrency ramp's), within half a timeout (at least 1 s), so a diagnosis stays within 2.5 timeouts
# even against a slow server. At 10 % packet loss about half the connections show a retransmission or
# reordering; a loss-free path shows none, whatever the server's speed.
AUTO_COUNT, AUTO_CONCURRENCY = 12, 6
SLOW_ONLY_COUNT, SLOW_ONLY_CONCURRENCY = 4, 2  # the only sign a slow handshake: see diagnose.auto_stability
AUTO_WINDOW_MIN_S = 1.0
NO_VERIFY = VARIANTS[0]  # the server's work is the same; ours is less


@dataclasses.dataclass(frozen=True, slots=True)
class Sample:
    """One connection: connect time, handshake time, outcome, and the kernel's counters."""

    connect_ms: float
    handshake_ms: float
    ok: bool
    retransmits: int = 0
    rtt_ms: float = 0.0
    reordered: int = 0  # segments that arrived out of order: one of the server's was lost before them
    connected: bool = True
    outcome: HandshakeOutcome | None = None  # None: the connect (or the preamble) failed

    @property
    def lossy(self) -> bool:
        """This connection itself lost something: a segment retransmitted or reordered, a SYN retried, or
        a connect that never completed (its SYNs were all unanswered)."""
        slow = self.connect_ms >= SLOW_CONNECT_MS
        return bool(self.retransmits or self.reordered or slow or not self.connected)

    @property
    def stalled(self) -> bool:
        """No answer in time on a connection that lost nothing: the server's slowness, not the path's."""
        return not self.ok and not self.lossy and self.outcome is HandshakeOutcome.TIMEOUT


async def sample(ctx: Context, route: Route, limit: float | None = None) -> Sample:
    """One connect + handshake, with the counters read before close; each step gets one timeout, or
    ``limit`` seconds in all when given (the ramp's shared window)."""
    start = time.monotonic()
    step = ctx.timeout if limit is None else min(ctx.timeout, limit)
    obs, raw = await open_stream(Route(route.address), ctx.dial, step, preamble=False)
    tcp = obs[0]
    assert isinstance(tcp, TcpConnect)  # a direct route's first observation is its connect
    if raw is None:
        return Sample(connect_ms=tcp.elapsed_ms, handshake_ms=0.0, ok=False, connected=False)
    sock = raw.sock
    _obs, ready = await with_preamble(ctx.dial, obs, raw, ctx.timeout)
    if ready is None:
        return Sample(connect_ms=tcp.elapsed_ms, handshake_ms=0.0, ok=False)
    stream = ready
    stream.deadline = time.monotonic() + ctx.timeout
    if limit is not None:
        stream.deadline = min(stream.deadline, start + limit)
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
        outcome=result.attempt.outcome,
    )


@dataclasses.dataclass(frozen=True, slots=True)
class RampCheck:
    """1, 4, then 16 simultaneous handshakes: does the server slow down or fail as load grows?

    Run only on a failure symptom (the first handshakes disagree: one silent, its twin answered), never
    because a working handshake is slow: a slow key is not an overloaded server, and our own CPU's load
    must not be read as the server's. The levels share one window of one timeout (a level starts only
    while at least half a timeout is left), so the ramp costs one timeout, not one per level.
    """

    route: Route
    layer: str = "server"

    @property
    def id(self) -> str:
        return "server.ramp"

    def budget(self, ctx: Context) -> float:
        return ctx.timeout + 1.0

    async def run(self, ctx: Context) -> CheckResult:
        levels: list[RampLevel] = []
        end = time.monotonic() + ctx.timeout
        late: float | None = None  # after the first level: how late a ServerHello may be before it counts
        for n in LEVELS:
            left = end - time.monotonic()
            if left < min(ctx.timeout / 2, late or ctx.timeout):
                break
            limit = left if late is None else min(left, late)
            samples = await asyncio.gather(*(sample(ctx, self.route, limit=limit) for _ in range(n)))
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
            if (
                late is None
            ):  # "late": RAMP_LATE_FACTOR times the unloaded handshake, at least RAMP_LATE_MIN_S
                late = max(RAMP_LATE_MIN_S, RAMP_LATE_FACTOR * max(done) / 1000)
        summary = "; ".join(
            f"x{lv.concurrency}: p50 {lv.handshake_p50_ms:.0f} ms, {lv.failures} failed" for lv in levels
        )
        # Failures in the ramp are a failure symptom: never shown next to a healthy verdict as a pass.
        failed = any(lv.failures for lv in levels)
        return CheckResult(
            id=self.id,
            status=Status.WARN if failed else Status.PASS,
            summary=summary,
            observations=tuple(levels),
        )


@dataclasses.dataclass(frozen=True, slots=True)
class StabilityCheck:
    """A few identical connections, reading each one's retransmission count and RTT from the kernel.

    Run on --repeat, when the first two handshakes disagree, and on its own (``reasons``) when the first
    probes already showed signs of loss (commands/diagnose.py: loss_signs). The automatic run is bounded
    by half a timeout in all (AUTO_COUNT connections, AUTO_CONCURRENCY at a time): connections still running
    then are ``unfinished``, not failures. A handshake that times out on a connection that lost nothing is
    ``stalled`` (a slow server), never counted as the path's failure.
    """

    route: Route
    count: int = 8
    layer: str = "path"
    reasons: tuple[str, ...] = ()
    concurrency: int = 4
    first_signs: int = 0  # loss events the first probes' counters already showed (PathStats.first_signs)
    slow_only: bool = False  # run only because the handshake was slow: a clean result is then a note

    @property
    def id(self) -> str:
        return "path.stability"

    def window(self, ctx: Context) -> float | None:
        """The automatic run's overall limit (None: every connection runs to its own end)."""
        return max(AUTO_WINDOW_MIN_S, ctx.timeout / 2) if self.reasons else None

    def budget(self, ctx: Context) -> float:
        window = self.window(ctx)
        if window is not None:
            return window + 1.0
        return -(-self.count // self.concurrency) * (ctx.timeout * 2 + 0.5) + 1.0

    async def run(self, ctx: Context) -> CheckResult:
        gate = asyncio.Semaphore(self.concurrency)

        async def one() -> Sample:
            async with gate:
                return await sample(ctx, self.route)

        tasks = [asyncio.create_task(one()) for _ in range(self.count)]
        try:
            await asyncio.wait(tasks, timeout=self.window(ctx))
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        samples = [t.result() for t in tasks if not t.cancelled() and t.exception() is None]
        rtts = [s.rtt_ms for s in samples if s.rtt_ms > 0]
        stats = PathStats(
            attempts=len(tasks),
            failures=sum(not s.ok and not s.stalled for s in samples),
            retransmits=sum(s.retransmits for s in samples),
            out_of_order=sum(s.reordered for s in samples),
            slow_connects=sum(s.connect_ms >= SLOW_CONNECT_MS for s in samples),
            rtt_ms_min=min(rtts, default=0.0),
            rtt_ms_max=max(rtts, default=0.0),
            stalled=sum(s.stalled for s in samples),
            unfinished=len(tasks) - len(samples),
            lossy=sum(s.lossy for s in samples),
            reasons=self.reasons,
            first_signs=self.first_signs,
        )
        bad = stats.failures or stats.retransmits or stats.slow_connects or stats.out_of_order
        if not bad and self.slow_only:
            # Slow, and not one segment lost: the server's own work (a large key, an HSM, a busy
            # CPU), which a healthy verdict should say rather than hide (issue 9 item 10).
            return CheckResult(
                id=self.id,
                status=Status.WARN,
                summary="slow handshakes with no packet lost, so the server's own work (a large key, "
                f"an HSM, a busy CPU), not the path: {stats.describe()}",
                observations=(stats,),
            )
        return CheckResult(
            id=self.id,
            status=Status.WARN if bad else Status.PASS,
            summary=stats.describe(),
            observations=(stats,),
        )


RETEST_WAIT_S = 2.0  # a lost SYN is retried after 1 s (RFC 6298 §5.7): two SYNs fit


@dataclasses.dataclass(frozen=True, slots=True)
class SynRetestCheck:
    """Once every connection of ours is closed, one more connect: is the SYN path open again?

    Run when connects to an address first succeeded (with no answer to the hello) and then timed out:
    a server whose listen backlog is full drops new SYNs while earlier connections are held, which a
    firewall that drops ClientHellos never does (it lets SYNs through).
    """

    route: Route
    layer: str = "server"

    @property
    def id(self) -> str:
        return "server.syn-retest"

    def budget(self, ctx: Context) -> float:
        return min(ctx.timeout, RETEST_WAIT_S) + 1.0

    async def run(self, ctx: Context) -> CheckResult:
        tcp, sock = await open_tcp(self.route.address, ctx.options.port, min(ctx.timeout, RETEST_WAIT_S))
        if sock is not None:
            sock.close()
        obs = SynRetest(
            address=self.route.address,
            port=ctx.options.port,
            answered=sock is not None,
            elapsed_ms=tcp.elapsed_ms,
        )
        return CheckResult(
            id=self.id,
            status=Status.PASS if obs.answered else Status.WARN,
            summary=obs.describe(),
            observations=(obs,),
        )


SYN_SAMPLE = 8  # bare connects of the SYN sample: at 10 % loss each, all 8 come back at once 19 % of the time
SYN_SAMPLE_WAIT_S = 1.5  # one SYN retransmission (after 1 s) fits, with its answer


@dataclasses.dataclass(frozen=True, slots=True)
class SynSampleCheck:
    """SYN_SAMPLE bare TCP connects at once, each closed as soon as it completes: did any SYN need a
    retransmission? Run after a default handshake that worked, to see loss that one connection hid."""

    route: Route
    layer: str = "path"

    @property
    def id(self) -> str:
        return "path.syn-sample"

    def budget(self, ctx: Context) -> float:
        return min(ctx.timeout, SYN_SAMPLE_WAIT_S) + 1.0

    async def run(self, ctx: Context) -> CheckResult:
        wait = min(ctx.timeout, SYN_SAMPLE_WAIT_S)
        results = await asyncio.gather(
            *(open_tcp(self.route.address, ctx.options.port, wait) for _ in range(SYN_SAMPLE))
        )
        for _tcp, sock in results:
            if sock is not None:
                sock.close()
        answered = [tcp.elapsed_ms for tcp, sock in results if sock is not None]
        obs = SynSample(
            address=self.route.address,
            port=ctx.options.port,
            attempts=SYN_SAMPLE,
            fast=sum(ms < SLOW_CONNECT_MS for ms in answered),
            slow=sum(ms >= SLOW_CONNECT_MS for ms in answered),
            unanswered=SYN_SAMPLE - len(answered),
        )
        lossy = obs.slow or obs.unanswered
        return CheckResult(
            id=self.id,
            status=Status.WARN if lossy else Status.PASS,
            summary=obs.describe(),
            observations=(obs,),
        )
