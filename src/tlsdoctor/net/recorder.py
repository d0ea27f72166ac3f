"""Record our own probes' packets, whole, with an AF_PACKET socket (needs CAP_NET_RAW), and
write them as a pcap that ``tlsdoctor pcap`` (and Wireshark) reads.

Unlike :mod:`tlsdoctor.net.capture` (headers of one connection, for the TTL comparison) this
keeps whole packets of every connection to the target's addresses and port, and the ICMP
errors that quote them, because the capture analysis needs the TLS bytes. It is bounded:
at most ``max_packets`` packets and ``max_bytes`` bytes are kept, each cut at ``snaplen``,
and nothing else on the host is kept (the 4-tuple filter runs before anything is stored).

Timestamps are the kernel's (SO_TIMESTAMPNS), not the event loop's wake-up time, so RTTs in
the analysis do not include our own scheduling delay. On a loopback interface each packet
passes an AF_PACKET socket twice (leaving and arriving); the outgoing copy is dropped there,
as libpcap does.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import struct
import time
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

__all__ = ["LINKTYPE_RAW", "PacketRecorder", "RecordedPacket", "can_record", "write_pcap"]

ETH_P_ALL = 0x0003
LINKTYPE_RAW = 101  # the packet starts with the IPv4 or IPv6 header
SO_TIMESTAMPNS = 35  # <asm-generic/socket.h>; not exported by the socket module
_ARPHRD_LOOPBACK = 772
_PCAP_HEADER = struct.Struct("<IHHiIII")
_PCAP_RECORD = struct.Struct("<IIII")
_TIMESPEC = struct.Struct("@qq")


class RecordedPacket(NamedTuple):
    at: float  # seconds since the epoch (kernel timestamp)
    data: bytes  # the IP packet, cut at the recorder's snaplen
    length: int  # its length on the wire


def _addresses(ip: bytes) -> tuple[int, str, str, int, bytes] | None:
    """(protocol, src, dst, header length, payload) of an IPv4/IPv6 packet; None if not IP."""
    if len(ip) >= 20 and ip[0] >> 4 == 4:
        ihl = (ip[0] & 0x0F) * 4
        return (
            ip[9],
            socket.inet_ntop(socket.AF_INET, ip[12:16]),
            socket.inet_ntop(socket.AF_INET, ip[16:20]),
            ihl,
            ip[ihl:],
        )
    if len(ip) >= 40 and ip[0] >> 4 == 6:  # extension headers are rare on our own probes: not walked
        src, dst = socket.inet_ntop(socket.AF_INET6, ip[8:24]), socket.inet_ntop(socket.AF_INET6, ip[24:40])
        return ip[6], src, dst, 40, ip[40:]
    return None


def can_record() -> bool:
    """Whether this process may open an AF_PACKET socket (root or CAP_NET_RAW)."""
    try:
        socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_ALL)).close()
    except (PermissionError, OSError, AttributeError):
        return False
    return True


def _wire_length(ip: bytes) -> int:
    """The packet's length from its IP header (the data may have been cut at the snaplen)."""
    if ip[0] >> 4 == 4:
        return max(len(ip), int.from_bytes(ip[2:4], "big"))
    return max(len(ip), 40 + int.from_bytes(ip[4:6], "big"))


class PacketRecorder:
    """``async with PacketRecorder(port, addresses) as rec:`` probe; then ``rec.packets``.

    ``addresses`` may grow while recording (``rec.watch(addr)``) as a diagnosis resolves the
    name. Raises PermissionError on entry without CAP_NET_RAW.
    """

    def __init__(
        self,
        port: int,
        addresses: Iterable[str] = (),
        *,
        max_packets: int = 20_000,
        max_bytes: int = 32 << 20,
        snaplen: int = 65_535,
    ) -> None:
        self.port = port
        self._addresses = {self._norm(a) for a in addresses}
        self.max_packets, self.max_bytes, self.snaplen = max_packets, max_bytes, snaplen
        self.packets: list[RecordedPacket] = []
        self.kept_bytes = 0
        self.dropped = 0  # packets of ours not kept because a bound was reached
        self._sock: socket.socket | None = None

    @staticmethod
    def _norm(address: str) -> str:
        return str(ipaddress.ip_address(address.split("%")[0]))

    def watch(self, address: str) -> None:
        self._addresses.add(self._norm(address))

    async def __aenter__(self) -> PacketRecorder:
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_ALL))
        try:
            sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
            sock.setblocking(False)
            asyncio.get_running_loop().add_reader(sock.fileno(), self._drain)
        except BaseException:
            sock.close()
            raise
        self._sock = sock
        return self

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.sleep(0.05)  # packets already on the wire (the last ACK, an RST) reach us
        self.stop()

    def stop(self) -> None:
        if self._sock is not None:
            self._drain()
            asyncio.get_running_loop().remove_reader(self._sock.fileno())
            self._sock.close()
            self._sock = None

    def _drain(self) -> None:
        """Read every queued packet (called by the loop when the socket is readable)."""
        sock = self._sock
        if sock is None:
            return
        for _ in range(4096):  # bounded per wake-up, so a flood cannot starve the loop
            try:
                data, anc, _flags, addr = sock.recvmsg(self.snaplen, socket.CMSG_SPACE(_TIMESPEC.size))
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            if addr[2] == socket.PACKET_OUTGOING and addr[3] == _ARPHRD_LOOPBACK:
                continue
            if self._ours(data):
                self._keep(data, anc)

    def _ours(self, ip: bytes) -> bool:
        parsed = _addresses(ip)
        if parsed is None:
            return False
        proto, src, dst, _ihl, payload = parsed
        if proto == socket.IPPROTO_TCP and len(payload) >= 4:
            sport, dport = struct.unpack_from("!HH", payload)
            return (src in self._addresses and sport == self.port) or (
                dst in self._addresses and dport == self.port
            )
        if proto in (socket.IPPROTO_ICMP, socket.IPPROTO_ICMPV6) and len(payload) > 8:
            quoted = _addresses(payload[8:])  # the ICMP error quotes our packet (RFC 792, RFC 4443)
            if quoted is not None and quoted[0] == socket.IPPROTO_TCP and len(quoted[4]) >= 4:
                return quoted[2] in self._addresses and struct.unpack_from("!H", quoted[4], 2)[0] == self.port
        return False

    def _keep(self, data: bytes, anc: list[tuple[int, int, bytes]]) -> None:
        if len(self.packets) >= self.max_packets or self.kept_bytes + len(data) > self.max_bytes:
            self.dropped += 1
            return
        at = time.time()
        for level, kind, value in anc:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(value) >= _TIMESPEC.size:
                sec, nsec = _TIMESPEC.unpack_from(value)
                at = sec + nsec / 1e9
        self.packets.append(RecordedPacket(at, data, _wire_length(data)))
        self.kept_bytes += len(data)


def write_pcap(path: str | Path, packets: Iterable[RecordedPacket], snaplen: int = 65_535) -> int:
    """Write ``packets`` as a classic little-endian microsecond pcap of raw IP; returns the count."""
    n = 0
    with open(path, "wb") as f:
        f.write(_PCAP_HEADER.pack(0xA1B2C3D4, 2, 4, 0, 0, snaplen, LINKTYPE_RAW))
        for p in packets:
            sec = int(p.at)
            usec = min(999_999, round((p.at - sec) * 1e6))
            f.write(_PCAP_RECORD.pack(sec, usec, len(p.data), p.length))
            f.write(p.data)
            n += 1
    return n
