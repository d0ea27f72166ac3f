"""Reach: TCP per address, or a CONNECT tunnel when a proxy is in effect.

Also the one way every later probe opens its connection (``open_stream``), so that a
proxy, --connect-to, the byte cap and a --starttls preamble apply to all of them alike.
"""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import time

from tlsdoctor.context import Context
from tlsdoctor.model import CheckResult, Status
from tlsdoctor.net.proxy import ProxyUrl, open_tunnel
from tlsdoctor.net.starttls import upgrade
from tlsdoctor.net.stream import Stream
from tlsdoctor.net.tcp import open_tcp
from tlsdoctor.observations.base import Observation
from tlsdoctor.observations.tcp import ConnectOutcome, TunnelOutcome


@dataclasses.dataclass(frozen=True, slots=True)
class Route:
    """How probes reach the target: directly to ``address``, or through ``proxy`` at ``proxy_address``."""

    address: str
    proxy: ProxyUrl | None = None
    proxy_address: str | None = None


async def open_stream(
    ctx: Context, route: Route, timeout: float, *, preamble: bool = True
) -> tuple[list[Observation], Stream | None]:
    """Open a stream to the target along ``route`` within ``timeout``; failures are observations.

    With ``--starttls`` (and ``preamble``), the protocol's plaintext preamble runs next, in a timeout of
    its own, and the stream comes back positioned for the ClientHello with a ``StarttlsResult`` among the
    observations; a preamble that does not end READY is that observation and no stream. The reach phase
    passes ``preamble=False``: it measures the transport only.
    """
    obs, stream = await _open_transport(ctx, route, timeout)
    if stream is None or not preamble:
        return obs, stream
    return await with_preamble(ctx, obs, stream, timeout)


async def with_preamble(
    ctx: Context, obs: list[Observation], stream: Stream, timeout: float
) -> tuple[list[Observation], Stream | None]:
    """Run the ``--starttls`` preamble (if any) on a fresh stream; every probe that speaks TLS uses it."""
    if ctx.options.starttls is None:
        return obs, stream
    stream.deadline = time.monotonic() + timeout
    result = await upgrade(stream, ctx.options.starttls, ctx.servername or ctx.options.host)
    obs.append(result)
    if not result.ready:
        stream.close()
        return obs, None
    return obs, stream


async def _open_transport(
    ctx: Context, route: Route, timeout: float
) -> tuple[list[Observation], Stream | None]:
    """TCP to the target, or TCP to the proxy and a CONNECT tunnel through it."""
    port = ctx.options.port
    if route.proxy is not None and route.proxy_address is not None:
        tcp, tunnel, stream = await open_tunnel(
            route.proxy,
            route.proxy_address,
            ctx.options.host,
            port,
            timeout,
            ctx.limits.max_read_bytes,
            ca_file=ctx.options.ca_file,
        )
        return [tcp, tunnel], stream
    tcp, sock = await open_tcp(route.address, port, timeout)
    if sock is None:
        return [tcp], None
    return [tcp], Stream(sock, time.monotonic() + timeout, ctx.limits.max_read_bytes)


async def resolve_proxy(proxy: ProxyUrl, timeout: float) -> str | None:
    """The proxy host's first address (system resolver), or None."""
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(timeout):
            infos = await loop.getaddrinfo(proxy.host, proxy.port, type=socket.SOCK_STREAM)
    except (OSError, TimeoutError):
        return None
    return str(infos[0][4][0]) if infos else None


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
        obs, stream = await open_stream(ctx, Route(self.address), ctx.timeout, preamble=False)
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
        obs, stream = await open_stream(ctx, self.route, ctx.timeout, preamble=False)
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
