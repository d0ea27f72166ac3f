"""Reach: TCP per address, or a CONNECT tunnel when a proxy is in effect.

The connection itself is net/route.py's (the one stream factory every probe uses); these checks
only judge whether the transport came up.
"""

from __future__ import annotations

import dataclasses

from tlsdoctor.context import Context
from tlsdoctor.model import CheckResult, Status
from tlsdoctor.net.route import Route, open_stream
from tlsdoctor.observations.tcp import ConnectOutcome, TunnelOutcome


@dataclasses.dataclass(frozen=True, slots=True)
class TcpCheck:
    """TCP connect to one resolved address (each address, v4 and v6, separately)."""

    address: str
    layer: str = "tcp"

    @property
    def id(self) -> str:
        return f"tcp.{self.address}"

    def budget(self, ctx: Context) -> float:
        return ctx.timeout + 1.0

    async def run(self, ctx: Context) -> CheckResult:
        obs, stream = await open_stream(Route(self.address), ctx.dial, ctx.timeout, preamble=False)
        if stream is not None:
            stream.close()
        tcp = obs[0]
        ok = getattr(tcp, "outcome", None) is ConnectOutcome.CONNECTED
        return CheckResult(
            id=self.id,
            status=Status.PASS if ok else Status.FAIL,
            summary=tcp.describe(),
            observations=tuple(obs),
        )


@dataclasses.dataclass(frozen=True, slots=True)
class ProxyCheck:
    """TCP to the proxy and an HTTP CONNECT to the target through it."""

    route: Route
    layer: str = "proxy"

    @property
    def id(self) -> str:
        return "proxy"

    def budget(self, ctx: Context) -> float:
        return ctx.timeout * 2 + 1.0

    async def run(self, ctx: Context) -> CheckResult:
        obs, stream = await open_stream(self.route, ctx.dial, ctx.timeout, preamble=False)
        if stream is not None:
            stream.close()
        tunnel = obs[-1]
        ok = getattr(tunnel, "outcome", None) is TunnelOutcome.ESTABLISHED
        return CheckResult(
            id=self.id,
            status=Status.PASS if ok else Status.FAIL,
            summary=tunnel.describe(),
            observations=tuple(obs),
        )
