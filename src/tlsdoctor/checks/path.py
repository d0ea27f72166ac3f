"""Path probes run after a failed default handshake: who sent the reset, and does a small MSS pass.

Both replay the default client's hello on a fresh connection, so they cost one more
handshake each and are only run when the default handshake ended the way they explain.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time

from tlsdoctor.checks.handshake import DEFAULT, build_context
from tlsdoctor.context import Context
from tlsdoctor.model import CheckResult, Status
from tlsdoctor.net.capture import PacketCapture, TcpHeader
from tlsdoctor.net.route import Route, open_stream, with_preamble
from tlsdoctor.net.tls import HandshakeResult, handshake
from tlsdoctor.observations.path import MssProbe, ResetOrigin

SMALL_MSS = (1200, 536)  # under a 1280-byte tunnel MTU, and the IPv4 minimum (RFC 879)


async def default_handshake(
    ctx: Context, route: Route, *, mss: int | None = None
) -> tuple[HandshakeResult | None, int | None]:
    """The default client's handshake on a fresh direct connection; also the local port used."""
    obs, raw = await open_stream(Route(route.address), ctx.dial, ctx.timeout, preamble=False, mss=mss)
    if raw is None:
        return None, None
    local_port = int(raw.sock.getsockname()[1])
    _obs, ready = await with_preamble(ctx.dial, obs, raw, ctx.timeout)
    if ready is None:
        return None, local_port
    stream = ready
    stream.deadline = time.monotonic() + ctx.timeout
    try:
        result = await handshake(
            stream,
            build_context(ctx, DEFAULT),
            variant=DEFAULT.name,
            address=route.address,
            port=ctx.options.port,
            servername=ctx.servername,
        )
    finally:
        stream.close()
    return result, local_port


def judge(flow: list[TcpHeader]) -> tuple[TcpHeader | None, TcpHeader | None, str]:
    """The SYN-ACK, the RST and the verdict: a different TTL means a different sender."""
    synack = next((p for p in flow if not p.outgoing and p.is_syn_ack), None)
    rst = next((p for p in flow if not p.outgoing and p.is_rst), None)
    if synack is None or rst is None:
        return synack, rst, "unknown"
    return synack, rst, "server" if synack.ttl == rst.ttl else "injected"


@dataclasses.dataclass(frozen=True, slots=True)
class ResetOriginCheck:
    """Replay the default handshake while capturing its packets; compare the RST with the SYN-ACK."""

    route: Route
    layer: str = "path"

    @property
    def id(self) -> str:
        return "path.reset-origin"

    def budget(self, ctx: Context) -> float:
        return ctx.timeout * 2 + 1.0

    async def run(self, ctx: Context) -> CheckResult:
        addr, port = self.route.address, ctx.options.port
        start = time.monotonic()
        try:
            async with PacketCapture(addr, port) as cap:
                result, local_port = await default_handshake(ctx, self.route)
        except PermissionError:
            result, _ = await default_handshake(ctx, self.route)
            ms = result.attempt.elapsed_ms if result else None
            obs = ResetOrigin(
                address=addr,
                port=port,
                verdict="unknown",
                method="timing",
                rst_after_ms=ms,
                note="no CAP_NET_RAW to capture packets (run as root for the TTL comparison)",
            )
            return CheckResult(id=self.id, status=Status.WARN, summary=obs.describe(), observations=(obs,))
        flow = cap.flow(local_port) if local_port else []
        synack, rst, verdict = judge(flow)
        note = "" if rst else "the replayed handshake was not reset"
        obs = ResetOrigin(
            address=addr,
            port=port,
            verdict=verdict,
            method="capture",
            syn_ack_ttl=synack.ttl if synack else None,
            rst_ttl=rst.ttl if rst else None,
            syn_ack_ip_id=synack.ip_id if synack else None,
            rst_ip_id=rst.ip_id if rst else None,
            rst_after_ms=(rst.at - start) * 1000 if rst else None,
            note=note,
        )
        status = Status.FAIL if verdict == "injected" else Status.PASS
        return CheckResult(id=self.id, status=status, summary=obs.describe(), observations=(obs,))


@dataclasses.dataclass(frozen=True, slots=True)
class MssCheck:
    """The default handshake with a small MSS: passes where the default stalls on a path-MTU black hole."""

    route: Route
    layer: str = "path"

    @property
    def id(self) -> str:
        return "path.small-mss"

    def budget(self, ctx: Context) -> float:
        return ctx.timeout * 2 + 1.0

    async def run(self, ctx: Context) -> CheckResult:
        async def one(mss: int) -> MssProbe:
            result, _ = await default_handshake(ctx, self.route, mss=mss)
            if result is None:
                return MssProbe(
                    address=self.route.address, port=ctx.options.port, mss=mss, outcome="connect-failed"
                )
            a = result.attempt
            return MssProbe(
                address=a.address,
                port=a.port,
                mss=mss,
                outcome=a.outcome.value,
                bytes_received=a.bytes_received,
                elapsed_ms=a.elapsed_ms,
            )

        probes = await asyncio.gather(*(one(m) for m in SMALL_MSS))
        ok = any(p.outcome == "ok" for p in probes)
        summary = "; ".join(p.describe() for p in probes)
        return CheckResult(
            id=self.id, status=Status.FAIL if ok else Status.PASS, summary=summary, observations=tuple(probes)
        )
