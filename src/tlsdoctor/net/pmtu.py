"""Path MTU toward a target over UDP, unprivileged, like tracepath: DF set, ICMP read by IP_RECVERR.

One connected UDP socket per probe size, all sent at once to a closed high port: the target answers
"port unreachable" (the size got through), a router answers "fragmentation needed" with its MTU, or
nothing comes back. Sizes that vanish without ICMP while smaller ones get through are a black hole.
Few sizes, one datagram each: the target's ICMP replies are rate-limited (a burst of 6 per peer, then
one a second), so the route MTU and 1280 go first and 576 only when 1280 got no answer either.
"""

from __future__ import annotations

import asyncio
import errno
import socket
import time

from tlsdoctor.net import icmp
from tlsdoctor.observations.path import PathMtu

PROBE_PORT = 33434  # traceroute's first port: nothing listens there
SMALL, SMALLEST = 1280, 576  # the IPv6 minimum MTU (and a common tunnel MTU), the IPv4 minimum datagram
_OVERHEAD = {socket.AF_INET: 28, socket.AF_INET6: 48}  # IP + UDP headers


def _socket(address: str) -> socket.socket:
    fam = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(fam, socket.SOCK_DGRAM)
    sock.setblocking(False)
    if fam == socket.AF_INET:
        sock.setsockopt(socket.IPPROTO_IP, icmp.IP_MTU_DISCOVER, icmp.IP_PMTUDISC_DO)
    else:
        sock.setsockopt(socket.IPPROTO_IPV6, 23, 2)  # IPV6_MTU_DISCOVER, IPV6_PMTUDISC_DO
    icmp.enable_recverr(sock)
    sock.connect((address, PROBE_PORT))
    return sock


def route_mtu(address: str) -> int:
    """The MTU the kernel would use toward ``address`` now (the interface's, or a learned path MTU)."""
    with _socket(address) as sock:
        level, name = (socket.IPPROTO_IPV6, 24) if sock.family == socket.AF_INET6 else (0, icmp.IP_MTU)
        try:
            return int(sock.getsockopt(level, name))
        except OSError:
            return 1500


async def one(address: str, size: int, wait: float) -> tuple[int, str, str, int]:
    """(size, "reached" | "too big" | "local" | "no answer" | other ICMP, from whom, MTU it gave)."""
    loop = asyncio.get_running_loop()
    with _socket(address) as sock:
        try:
            sock.send(b"\0" * (size - _OVERHEAD[sock.family]))
        except OSError as exc:
            if exc.errno == errno.EMSGSIZE:
                return size, "local", "", 0
            if exc.errno == errno.ENOBUFS:  # (IP_RECVERR reports it) our own link dropped it, no ICMP
                return size, "no answer", "", 0
            return size, f"send failed ({exc.strerror})", "", 0
        deadline = loop.time() + wait
        while loop.time() < deadline:
            for e in icmp.drain(sock):
                who = e.offender or ""
                if e.too_big:
                    return size, "too big", who, e.info
                if who == address or (e.from_icmp and e.errno == errno.ECONNREFUSED):
                    return size, "reached", who, 0
                return size, e.what, who, 0
            try:
                if sock.recv(64):
                    return size, "reached", address, 0
            except (BlockingIOError, InterruptedError):
                pass
            except OSError:
                continue  # an error is pending on the queue: drained on the next turn
            await asyncio.sleep(0.03)
    return size, "no answer", "", 0


async def measure(address: str, wait: float) -> PathMtu:
    """Probe the route MTU and the common smaller sizes at once; one PathMtu observation."""
    start = time.monotonic()
    mtu = route_mtu(address)
    sizes = [mtu, *([SMALL] if mtu > SMALL else [])]
    got = list(await asyncio.gather(*(one(address, s, wait) for s in sizes)))
    if not any(what == "reached" for _, what, _, _ in got) and min(sizes) > SMALLEST:
        got.append(await one(address, SMALLEST, max(0.2, wait - (time.monotonic() - start))))
    big = next(((m, who) for _s, what, who, m in got if what == "too big" and m), None)
    return PathMtu(
        address=address,
        route_mtu=mtu,
        sizes=tuple((s, what, who) for s, what, who, _ in got),
        icmp_mtu=big[0] if big else None,
        icmp_from=big[1] if big else None,
    )
