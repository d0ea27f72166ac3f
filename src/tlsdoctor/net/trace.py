"""A TCP SYN traceroute without privileges: connect() with a growing IP_TTL, ICMP read by IP_RECVERR.

Each TTL is one connect attempt on its own socket, all sent at once: the router where the SYN runs out
of hops answers "time exceeded" onto that socket's error queue (net/icmp.py) with its own address;
the target answers with SYN-ACK or RST; a silent drop leaves the probe without an answer. Probing
the real port matters: a firewall that drops SYNs to :443 lets ICMP and UDP traceroutes through.
"""

from __future__ import annotations

import asyncio

from tlsdoctor.net.tcp import open_tcp
from tlsdoctor.observations.path import TraceHop
from tlsdoctor.observations.tcp import ConnectOutcome

MAX_HOPS = 12
WAVE = 4


async def probe(address: str, port: int, ttl: int, wait: float) -> TraceHop:
    """One SYN limited to ``ttl`` hops, and what came back within ``wait`` seconds."""
    tcp, sock = await open_tcp(address, port, wait, ttl=ttl, role="trace")
    if sock is not None:
        sock.close()
        return TraceHop(ttl=ttl, answer="syn-ack", address=address, rtt_ms=tcp.elapsed_ms)
    if tcp.outcome is ConnectOutcome.REFUSED:
        return TraceHop(ttl=ttl, answer="reset", address=address, rtt_ms=tcp.elapsed_ms)
    if tcp.icmp:
        return TraceHop(ttl=ttl, answer=tcp.icmp, address=tcp.icmp_from, rtt_ms=tcp.elapsed_ms)
    silent = tcp.outcome is ConnectOutcome.TIMEOUT
    return TraceHop(ttl=ttl, answer="no answer" if silent else tcp.outcome.value)


async def tcp_trace(
    address: str, port: int, wait: float, max_hops: int = MAX_HOPS, wave: int = WAVE
) -> tuple[TraceHop, ...]:
    """TTLs in waves of ``wave`` at once, until a final answer (the target, or a router refusing for it)
    or a wave in which nothing answered. Waves, not all TTLs at once: a refusing router would
    otherwise answer every one of them and spend its ICMP rate limit (and ours to come)."""
    out: list[TraceHop] = []
    for first in range(1, max_hops + 1, wave):
        ttls = range(first, min(first + wave, max_hops + 1))
        hops = await asyncio.gather(*(probe(address, port, t, wait) for t in ttls))
        for h in hops:
            out.append(h)
            if h.address and h.answer != "time exceeded":
                return _trim(out)
        if not any(h.address for h in hops):
            break
    return _trim(out)


def _trim(hops: list[TraceHop]) -> tuple[TraceHop, ...]:
    """One silent hop after the last answer says "nothing beyond"; a row of them says nothing more."""
    while len(hops) > 1 and hops[-1].address is None and hops[-2].address is None:
        hops.pop()
    return tuple(hops)
