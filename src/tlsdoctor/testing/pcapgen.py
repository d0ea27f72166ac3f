"""Write captures synthetically: frames of any link type tcpdump writes, around TCP flows built segment by
segment, in pcap or pcapng. For the edge cases a recorder cannot produce on demand (reordering, IPv6,
VLAN tags, SLL2, a truncated file, snaplen-cut frames) and for the benchmark's large captures.

The TLS bytes inside come from real handshakes (the recorded fixtures, read back with dpkt, an
independent reader), so only the framing is synthetic. Checksums are left zero: tcpdump's own captures
of loopback traffic carry unverified checksums too (offload), and no reader here checks them.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10

Frame = tuple[float, bytes]  # (time, the IP packet or the whole frame)


def ip_packet(
    src: bytes,
    dst: bytes,
    sport: int,
    dport: int,
    seq: int,
    ack: int,
    flags: int,
    payload: bytes = b"",
    *,
    window: int = 65535,
    ttl: int = 64,
    ip_id: int = 0,
    mss: int = 0,
) -> bytes:
    """An IPv4 (4-byte addresses) or IPv6 (16-byte) packet carrying one TCP segment."""
    options = struct.pack("!BBH", 2, 4, mss) if mss else b""
    tcp = (
        struct.pack(
            "!HHIIBBHHH",
            sport,
            dport,
            seq & 0xFFFFFFFF,
            ack & 0xFFFFFFFF,
            (5 + len(options) // 4) << 4,
            flags,
            window,
            0,
            0,
        )
        + options
        + payload
    )
    if len(src) == 4:
        header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), ip_id, 0x4000, ttl, 6, 0, src, dst)
        return header + tcp
    return struct.pack("!IHBB16s16s", 0x60000000, len(tcp), 6, ttl, src, dst) + tcp


def frame(linktype: int, packet: bytes, *, vlans: tuple[int, ...] = (), outgoing: bool = False) -> bytes:
    """``packet`` behind the link header of ``linktype`` (tcpdump.org/linktypes.html)."""
    v6 = packet[0] >> 4 == 6
    ethertype = 0x86DD if v6 else 0x0800
    if linktype == 1:
        tags = b"".join(struct.pack("!HH", 0x8100, vid) for vid in vlans)
        return (
            b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01" + tags + struct.pack("!H", ethertype) + packet
        )
    if linktype in (101, 228, 229):
        return packet
    if linktype == 0:  # BSD loopback: the address family in the capturing host's (here little) endianness
        return struct.pack("<I", 10 if v6 else 2) + packet
    if linktype == 108:  # OpenBSD loopback: network order
        return struct.pack("!I", 24 if v6 else 2) + packet
    if linktype == 113:  # Linux cooked v1
        return struct.pack("!HHH8sH", 4 if outgoing else 0, 772, 6, b"\x00" * 8, ethertype) + packet
    if linktype == 276:  # Linux cooked v2
        return struct.pack("!HHIHBB8s", ethertype, 0, 1, 772, 4 if outgoing else 0, 6, b"\x00" * 8) + packet
    raise ValueError(f"link type {linktype} not written here")


def write_pcap(
    out: BinaryIO, frames: Iterable[Frame], linktype: int, *, snaplen: int = 262144, nano: bool = False
) -> None:
    """A classic pcap file (little-endian), frames cut at ``snaplen`` with their wire length kept."""
    out.write(struct.pack("<IHHiIII", 0xA1B23C4D if nano else 0xA1B2C3D4, 2, 4, 0, 0, snaplen, linktype))
    scale = 1_000_000_000 if nano else 1_000_000
    for ts, data in frames:
        sec = int(ts)
        frac = round((ts - sec) * scale)
        kept = data[:snaplen]
        out.write(struct.pack("<IIII", sec, frac, len(kept), len(data)) + kept)


def _block(btype: int, body: bytes) -> bytes:
    body += b"\x00" * (-len(body) % 4)
    n = len(body) + 12
    return struct.pack("<II", btype, n) + body + struct.pack("<I", n)


def write_pcapng(
    out: BinaryIO, frames: Iterable[tuple[float, int, bytes]], linktypes: tuple[int, ...]
) -> None:
    """A pcapng file with one interface per link type; frames are (time, interface, data). Interface 0 has
    nanosecond timestamps (if_tsresol 9), the others microseconds, as Wireshark and tcpdump write them."""
    out.write(_block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)))
    for i, linktype in enumerate(linktypes):
        opts = struct.pack("<HHB3x", 9, 1, 9) + struct.pack("<HH", 0, 0) if i == 0 else b""
        out.write(_block(1, struct.pack("<HHI", linktype, 0, 262144) + opts))
    for ts, iface, data in frames:
        ticks = round(ts * (1e9 if iface == 0 else 1e6))
        body = struct.pack("<IIIII", iface, ticks >> 32, ticks & 0xFFFFFFFF, len(data), len(data)) + data
        out.write(_block(6, body))


@dataclass
class Flow:
    """One TCP connection built segment by segment: handshake, data each way cut at the MSS, close."""

    client: bytes
    server: bytes
    cport: int
    sport: int
    start: float = 1_700_000_000.0
    mss: int = 1460
    rtt: float = 0.010
    client_ttl: int = 64
    server_ttl: int = 60
    cseq: int = 1000
    sseq: int = 500_000
    packets: list[Frame] = field(default_factory=list)
    now: float = 0.0

    def __post_init__(self) -> None:
        self.now = self.start

    def _emit(
        self,
        side: str,
        flags: int,
        payload: bytes = b"",
        *,
        seq: int | None = None,
        ttl: int = 0,
        dt: float = 0.0005,
        mss: int = 0,
    ) -> None:
        self.now += dt
        if side == "client":
            pkt = ip_packet(
                self.client,
                self.server,
                self.cport,
                self.sport,
                self.cseq if seq is None else seq,
                self.sseq,
                flags,
                payload,
                ttl=ttl or self.client_ttl,
                mss=mss,
            )
        else:
            pkt = ip_packet(
                self.server,
                self.client,
                self.sport,
                self.cport,
                self.sseq if seq is None else seq,
                self.cseq,
                flags,
                payload,
                ttl=ttl or self.server_ttl,
                mss=mss,
            )
        self.packets.append((self.now, pkt))

    def handshake(self) -> Flow:
        self._emit("client", SYN, mss=self.mss, dt=0)
        self.cseq += 1
        self._emit("server", SYN | ACK, mss=self.mss, dt=self.rtt / 2)
        self.sseq += 1
        self._emit("client", ACK, dt=self.rtt / 2)
        return self

    def send(self, side: str, data: bytes, *, dt: float = 0.001) -> Flow:
        """``data`` from ``side`` in MSS-sized segments, then the peer's ACK."""
        for i in range(0, len(data), self.mss):
            chunk = data[i : i + self.mss]
            self._emit(side, ACK | PSH, chunk, dt=dt if i == 0 else 0.00001)
            if side == "client":
                self.cseq += len(chunk)
            else:
                self.sseq += len(chunk)
        self._emit("server" if side == "client" else "client", ACK, dt=self.rtt / 2)
        return self

    def segments(self, side: str, data: bytes) -> list[tuple[int, bytes]]:
        """(seq, chunk) of ``data`` as ``side`` would send it next, without sending."""
        base = self.cseq if side == "client" else self.sseq
        return [(base + i, data[i : i + self.mss]) for i in range(0, len(data), self.mss)]

    def raw(
        self, side: str, flags: int, payload: bytes = b"", *, seq: int, ttl: int = 0, dt: float = 0.001
    ) -> Flow:
        """One segment exactly as given (reordering, retransmission, injection)."""
        self._emit(side, flags, payload, seq=seq, ttl=ttl, dt=dt)
        return self

    def advance(self, side: str, n: int) -> None:
        if side == "client":
            self.cseq += n
        else:
            self.sseq += n

    def close(self, side: str = "client", *, reset: bool = False, ttl: int = 0) -> Flow:
        if reset:
            self._emit(side, RST | ACK, ttl=ttl)
            return self
        other = "server" if side == "client" else "client"
        self._emit(side, FIN | ACK)
        self.advance(side, 1)
        self._emit(other, FIN | ACK)
        self.advance(other, 1)
        self._emit(side, ACK)
        return self


def tls_payloads(path: str) -> Iterator[tuple[str, bytes]]:
    """The TCP payloads of a recorded capture's first connection, in order, with the side that sent them
    (read with dpkt: a reader independent of tlsdoctor's own)."""
    import dpkt

    client: tuple[bytes, int] | None = None
    with open(path, "rb") as f:
        for _, buf in dpkt.pcap.Reader(f):
            eth = dpkt.ethernet.Ethernet(buf)
            ip = eth.data
            if not isinstance(ip, dpkt.ip.IP | dpkt.ip6.IP6) or not isinstance(ip.data, dpkt.tcp.TCP):
                continue
            tcp = ip.data
            if tcp.flags & SYN and not tcp.flags & ACK and client is None:
                client = (ip.src, tcp.sport)
            if tcp.data and client is not None:
                yield ("client" if (ip.src, tcp.sport) == client else "server"), bytes(tcp.data)


def icmp_error(router: bytes, to: bytes, quoted: bytes, *, mtu: int = 0, unreachable: bool = False) -> bytes:
    """An ICMP error from ``router`` to ``to`` quoting the start of ``quoted`` (an IP packet): IPv4
    "fragmentation needed" (type 3 code 4, next-hop MTU) or host unreachable (code 1); IPv6 "packet too
    big" (type 2, MTU) or address unreachable (type 1 code 3)."""
    if len(router) == 4:
        kind, code = (3, 1) if unreachable else (3, 4)
        body = struct.pack("!BBHHH", kind, code, 0, 0, mtu) + quoted[:28]
        return struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(body), 0, 0, 64, 1, 0, router, to) + body
    kind, code = (1, 3) if unreachable else (2, 0)
    body = struct.pack("!BBHI", kind, code, 0, mtu) + quoted[:48]
    return struct.pack("!IHBB16s16s", 0x60000000, len(body), 58, 64, router, to) + body
