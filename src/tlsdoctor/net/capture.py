"""Capture our own probe's packets with an AF_PACKET socket (needs CAP_NET_RAW).

Only IPv4 TCP packets to or from one remote address and port are kept (a userspace filter
on the 4-tuple), at most ``MAX_PACKETS`` of them, and only their headers: the capture
costs bounded memory and never holds anyone else's payload.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import socket
import struct
import time

ETH_P_IP = 0x0800
MAX_PACKETS = 256
_PACKET_OUTGOING = 4


@dataclasses.dataclass(frozen=True, slots=True)
class TcpHeader:
    """The header fields of one captured TCP segment that tell senders apart."""

    at: float  # time.monotonic() when read
    src: str
    dst: str
    sport: int
    dport: int
    flags: int
    ttl: int
    ip_id: int
    outgoing: bool

    @property
    def is_rst(self) -> bool:
        return bool(self.flags & 0x04)

    @property
    def is_syn_ack(self) -> bool:
        return self.flags & 0x12 == 0x12


def parse_ipv4_tcp(data: bytes, at: float, outgoing: bool) -> TcpHeader | None:
    """The TCP header of an IPv4 datagram, or None for anything else or anything truncated."""
    if len(data) < 20 or data[0] >> 4 != 4 or data[9] != socket.IPPROTO_TCP:
        return None
    ihl = (data[0] & 0x0F) * 4
    if ihl < 20 or len(data) < ihl + 14:
        return None
    ip_id = struct.unpack_from("!H", data, 4)[0]
    sport, dport = struct.unpack_from("!HH", data, ihl)
    return TcpHeader(
        at=at,
        src=socket.inet_ntoa(data[12:16]),
        dst=socket.inet_ntoa(data[16:20]),
        sport=sport,
        dport=dport,
        flags=data[ihl + 13],
        ttl=data[8],
        ip_id=ip_id,
        outgoing=outgoing,
    )


class PacketCapture:
    """``async with PacketCapture(addr, port) as cap:`` then ``cap.packets``; PermissionError without root."""

    def __init__(self, address: str, port: int) -> None:
        self.address = address
        self.port = port
        self.packets: list[TcpHeader] = []
        self._sock: socket.socket | None = None
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> PacketCapture:
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_IP))
        sock.setblocking(False)
        self._sock = sock
        self._task = asyncio.create_task(self._read(sock))
        return self

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.sleep(0.05)  # let packets already on the wire be read
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._sock is not None:
            self._sock.close()

    async def _read(self, sock: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        while len(self.packets) < MAX_PACKETS:
            data, addr = await _recvfrom(loop, sock)
            outgoing = len(addr) > 2 and addr[2] == _PACKET_OUTGOING
            hdr = parse_ipv4_tcp(data, time.monotonic(), outgoing)
            if hdr is None:
                continue
            peer = (self.address, self.port)
            if (hdr.src, hdr.sport) == peer or (hdr.dst, hdr.dport) == peer:
                self.packets.append(hdr)

    def flow(self, local_port: int) -> list[TcpHeader]:
        """The packets of the connection from our ``local_port``."""
        return [p for p in self.packets if local_port in (p.sport, p.dport)]


async def _recvfrom(loop: asyncio.AbstractEventLoop, sock: socket.socket) -> tuple[bytes, tuple[object, ...]]:
    """recvfrom on a non-blocking socket (asyncio has sock_recvfrom from 3.11)."""
    data, addr = await loop.sock_recvfrom(sock, 256)  # headers only: the rest is truncated away
    return data, tuple(addr)
