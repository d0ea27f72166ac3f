"""--repeat N: the default handshake N times, to catch intermittent faults."""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import statistics

from tlsdoctor.checks.handshake import DEFAULT, attempt
from tlsdoctor.context import Context
from tlsdoctor.model import CheckResult, Status
from tlsdoctor.net.route import Route
from tlsdoctor.observations.tcp import SLOW_CONNECT_MS, TcpConnect
from tlsdoctor.observations.tls import HandshakeOutcome, RepeatStats

CONCURRENCY = 4


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (0..1) by nearest rank; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


@dataclasses.dataclass(frozen=True, slots=True)
class RepeatCheck:
    """N default handshakes, at most CONCURRENCY at a time."""

    route: Route
    count: int
    layer: str = "tls"

    @property
    def id(self) -> str:
        return "repeat"

    def budget(self, ctx: Context) -> float:
        waves = -(-self.count // CONCURRENCY)
        return waves * (ctx.timeout * 2 + 0.5) + 1.0

    async def run(self, ctx: Context) -> CheckResult:
        gate = asyncio.Semaphore(CONCURRENCY)

        async def one() -> tuple[str, float, float]:
            async with gate:
                result, obs = await attempt(ctx, DEFAULT, self.route)
            tcp = next((o for o in obs if isinstance(o, TcpConnect)), None)
            connect_ms = tcp.elapsed_ms if tcp else 0.0
            if result is None:
                return f"connect-{tcp.outcome.value if tcp else 'failed'}", 0.0, connect_ms
            return result.attempt.outcome.value, result.attempt.elapsed_ms, connect_ms

        outcomes = await asyncio.gather(*(one() for _ in range(self.count)))
        counts = collections.Counter(o for o, _, _ in outcomes)
        times = [ms for o, ms, _ in outcomes if o == HandshakeOutcome.OK.value]
        failures = self.count - counts.get(HandshakeOutcome.OK.value, 0)
        stats = RepeatStats(
            attempts=self.count,
            failures=failures,
            outcomes=tuple(counts.most_common()),
            p50_ms=percentile(times, 0.5),
            p90_ms=percentile(times, 0.9),
            max_ms=max(times, default=0.0),
            slow_connects=sum(ms >= SLOW_CONNECT_MS for _, _, ms in outcomes),
        )
        jitter = statistics.pstdev(times) if len(times) > 1 else 0.0
        status = Status.PASS if failures == 0 else Status.FAIL
        return CheckResult(
            id=self.id,
            status=status,
            summary=f"{stats.describe()}; stdev {jitter:.0f} ms",
            observations=(stats,),
        )
