"""Probes that read ICMP errors (net/icmp.py): a TCP traceroute toward the port, and the path MTU.

Both are unprivileged and only run when a failure calls for them: the traceroute when no TCP connect
succeeded (which hop is the last to answer, and did a router refuse?), the MTU probe when the
default handshake stalled (is there a black hole for large packets?).
"""

from __future__ import annotations

import dataclasses

from tlsdoctor.context import Context
from tlsdoctor.model import CheckResult, Status
from tlsdoctor.net.pmtu import measure
from tlsdoctor.net.trace import MAX_HOPS, WAVE, tcp_trace
from tlsdoctor.observations.path import PathTrace

TRACE_WAIT_S = 1.0  # a router's "time exceeded" comes back within a round trip; a SYN retry takes 1 s
MTU_WAIT_S = 1.0


@dataclasses.dataclass(frozen=True, slots=True)
class TraceCheck:
    """TCP SYNs to the target's port with TTL 1, 2, 3...: the last hop that answers, and how."""

    address: str
    layer: str = "ip"

    @property
    def id(self) -> str:
        return f"path.trace.{self.address}"

    def budget(self, ctx: Context) -> float:
        return -(-MAX_HOPS // WAVE) * (min(ctx.timeout, TRACE_WAIT_S) + 0.5) + 1.0

    async def run(self, ctx: Context) -> CheckResult:
        port = ctx.options.port
        hops = await tcp_trace(self.address, port, min(ctx.timeout, TRACE_WAIT_S))
        trace = PathTrace(address=self.address, port=port, hops=hops)
        return CheckResult(
            id=self.id,
            status=Status.PASS if trace.reached else Status.WARN,
            summary=trace.describe(),
            observations=(trace,),
        )


@dataclasses.dataclass(frozen=True, slots=True)
class PmtuCheck:
    """Path MTU toward the target over UDP with DF set, like tracepath."""

    address: str
    layer: str = "ip"

    @property
    def id(self) -> str:
        return "path.mtu"

    def budget(self, ctx: Context) -> float:
        return 2 * MTU_WAIT_S + 1.0

    async def run(self, ctx: Context) -> CheckResult:
        found = await measure(self.address, min(ctx.timeout, MTU_WAIT_S))
        hole = bool(found.lost_silently)
        return CheckResult(
            id=self.id,
            status=Status.WARN if hole else Status.PASS,
            summary=found.describe(),
            observations=(found,),
        )
