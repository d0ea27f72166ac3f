"""Link, IP, TCP and ICMP headers of one captured frame: pure, bounded, no exception for bad bytes.

This is the hot path of ``tlsdoctor pcap`` (every frame of a multi-gigabyte capture passes here), so
it reads fixed offsets with ``struct.unpack_from`` instead of building dpkt's packet objects: on this
job dpkt's Ethernet/IP/TCP decoders cost about 6x more per frame (bench/pcap_bench.py measures both).
Anything short, malformed or of another protocol decodes to None: a capture holds whatever was on the
wire, and one bad frame must cost one frame, never the run.

Link types (tcpdump.org/linktypes.html): NULL 0 and LOOP 108 (BSD loopback, a 4-byte address family),
EN10MB 1 (Ethernet, 802.1Q/802.1ad VLAN tags), RAW 101 (and its aliases 12, 14), IPV4 228, IPV6 229,
LINUX_SLL 113 and LINUX_SLL2 276 (tcpdump -i any).
"""

from __future__ import annotations

import struct
from typing import NamedTuple

LINKTYPE_NULL = 0
LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_LOOP = 108
LINKTYPE_LINUX_SLL = 113
LINKTYPE_IPV4 = 228
LINKTYPE_IPV6 = 229
LINKTYPE_LINUX_SLL2 = 276

LINKTYPE_NAMES = {
    LINKTYPE_NULL: "BSD loopback",
    LINKTYPE_ETHERNET: "Ethernet",
    12: "raw IP",
    14: "raw IP",
    LINKTYPE_RAW: "raw IP",
    LINKTYPE_LOOP: "OpenBSD loopback",
    LINKTYPE_LINUX_SLL: "Linux cooked (SLL)",
    LINKTYPE_IPV4: "raw IPv4",
    LINKTYPE_IPV6: "raw IPv6",
    LINKTYPE_LINUX_SLL2: "Linux cooked v2 (SLL2)",
}
SUPPORTED_LINKTYPES = frozenset(LINKTYPE_NAMES)

ETHERTYPE_IPV4 = 0x0800
ETHERTYPE_IPV6 = 0x86DD
_VLAN_TAGS = (0x8100, 0x88A8, 0x9100)
_MAX_VLAN_TAGS = 4
# BSD address families for IPv6 differ by OS (Linux 10, NetBSD/OpenBSD 24, FreeBSD 28, macOS 30).
_AF_INET6 = frozenset({10, 24, 28, 30})
_IPV6_EXTENSIONS = frozenset({0, 43, 60})  # hop-by-hop, routing, destination options (RFC 8200 §4)
_IPV6_FRAGMENT = 44

TCP_FIN = 0x01
TCP_SYN = 0x02
TCP_RST = 0x04
TCP_PSH = 0x08
TCP_ACK = 0x10

_U16 = struct.Struct("!H")
_TCP = struct.Struct("!HHIIBBH")  # ports, seq, ack, data offset, flags, window


class Segment(NamedTuple):
    """One TCP segment with the IP fields that matter for diagnosis. Addresses are the raw 4 or 16
    bytes (formatted only for the report: most segments are never shown)."""

    src: bytes
    dst: bytes
    sport: int
    dport: int
    seq: int
    ack: int
    flags: int
    window: int
    ttl: int  # IPv4 TTL, IPv6 hop limit
    ip_id: int  # IPv4 identification (0 for IPv6)
    payload: bytes  # what the capture holds of the TCP payload (a snaplen may have cut it)
    wire_len: int  # the payload's length on the wire, from the IP length fields
    mss: int  # the MSS option of a SYN, else 0
    wscale: int  # the window scale option of a SYN, else -1


class IcmpError(NamedTuple):
    """An ICMP error about a TCP segment: the quoted segment's addresses name the flow it hurt."""

    src: bytes  # who sent the ICMP (a router, or the host)
    ttl: int
    kind: str  # "frag-needed", "unreachable", "ttl-exceeded"
    code: int
    mtu: int  # next-hop MTU of a frag-needed / packet-too-big, else 0
    # The quoted (original) segment, as the flow saw it: its sender and its receiver.
    orig_src: bytes
    orig_dst: bytes
    orig_sport: int
    orig_dport: int


Decoded = Segment | IcmpError | None


def decode(linktype: int, frame: bytes) -> Decoded:
    """The TCP segment or ICMP error in one frame, or None for anything else (ARP, UDP, damage)."""
    off, ethertype = _link(linktype, frame)
    if ethertype == ETHERTYPE_IPV4:
        return _ipv4(frame, off)
    if ethertype == ETHERTYPE_IPV6:
        return _ipv6(frame, off)
    return None


def _link(linktype: int, frame: bytes) -> tuple[int, int]:
    """(offset of the network header, its ethertype); ethertype 0 when there is no IP packet."""
    n = len(frame)
    if linktype == LINKTYPE_ETHERNET:
        if n < 14:
            return 0, 0
        off, ethertype = 14, _U16.unpack_from(frame, 12)[0]
        for _ in range(_MAX_VLAN_TAGS):
            if ethertype not in _VLAN_TAGS or n < off + 4:
                break
            ethertype = _U16.unpack_from(frame, off + 2)[0]
            off += 4
        return off, ethertype
    if linktype in (LINKTYPE_RAW, 12, 14, LINKTYPE_IPV4, LINKTYPE_IPV6):
        return 0, _version_ethertype(frame, 0)
    if linktype == LINKTYPE_LINUX_SLL:
        return (16, _U16.unpack_from(frame, 14)[0]) if n >= 16 else (0, 0)
    if linktype == LINKTYPE_LINUX_SLL2:
        return (20, _U16.unpack_from(frame, 0)[0]) if n >= 20 else (0, 0)
    if linktype in (LINKTYPE_NULL, LINKTYPE_LOOP):
        if n < 4:
            return 0, 0
        # NULL is in the capturing host's byte order, LOOP in network order: try both.
        family = int.from_bytes(frame[:4], "little")
        if family > 0xFFFF:
            family = int.from_bytes(frame[:4], "big")
        if family == 2:
            return 4, ETHERTYPE_IPV4
        if family in _AF_INET6:
            return 4, ETHERTYPE_IPV6
        return 0, 0
    return 0, 0


def _version_ethertype(frame: bytes, off: int) -> int:
    if len(frame) <= off:
        return 0
    version = frame[off] >> 4
    return ETHERTYPE_IPV4 if version == 4 else ETHERTYPE_IPV6 if version == 6 else 0


def _ipv4(frame: bytes, off: int) -> Decoded:
    if len(frame) < off + 20 or frame[off] >> 4 != 4:
        return None
    ihl = (frame[off] & 0x0F) * 4
    total = _U16.unpack_from(frame, off + 2)[0]
    if ihl < 20 or total < ihl:
        return None
    if _U16.unpack_from(frame, off + 6)[0] & 0x1FFF:
        return None  # a later fragment: no transport header in it
    proto = frame[off + 9]
    src, dst = frame[off + 12 : off + 16], frame[off + 16 : off + 20]
    end = min(len(frame), off + total)  # Ethernet pads short frames: the IP length says where it ends
    if proto == 6:
        ip_id = _U16.unpack_from(frame, off + 4)[0]
        return _tcp(frame, off + ihl, end, off + total, src, dst, frame[off + 8], ip_id)
    if proto == 1:
        return _icmp4(frame, off + ihl, end, src, frame[off + 8])
    return None


def _ipv6(frame: bytes, off: int) -> Decoded:
    if len(frame) < off + 40 or frame[off] >> 4 != 6:
        return None
    plen = _U16.unpack_from(frame, off + 4)[0]
    nxt, hops = frame[off + 6], frame[off + 7]
    src, dst = frame[off + 8 : off + 24], frame[off + 24 : off + 40]
    wire_end = off + 40 + plen
    end = min(len(frame), wire_end)
    p = off + 40
    for _ in range(8):  # a bounded walk of the extension header chain
        if nxt in _IPV6_EXTENSIONS:
            if end < p + 8:
                return None
            nxt, p = frame[p], p + (frame[p + 1] + 1) * 8
        elif nxt == _IPV6_FRAGMENT:
            if end < p + 8 or _U16.unpack_from(frame, p + 2)[0] & 0xFFF8:
                return None  # a later fragment
            nxt, p = frame[p], p + 8
        else:
            break
    if nxt == 6:
        return _tcp(frame, p, end, wire_end, src, dst, hops, 0)
    if nxt == 58:
        return _icmp6(frame, p, end, src, hops)
    return None


def _tcp(
    frame: bytes, p: int, end: int, wire_end: int, src: bytes, dst: bytes, ttl: int, ip_id: int
) -> Decoded:
    if end < p + 20:
        return None
    sport, dport, seq, ack, doff, flags, window = _TCP.unpack_from(frame, p)
    hlen = (doff >> 4) * 4
    if hlen < 20 or end < p + hlen:
        return None
    mss, wscale = 0, -1
    if flags & TCP_SYN and hlen > 20:
        mss, wscale = _syn_options(frame, p + 20, p + hlen)
    return Segment(
        src,
        dst,
        sport,
        dport,
        seq,
        ack,
        flags,
        window,
        ttl,
        ip_id,
        frame[p + hlen : end],
        wire_end - p - hlen,
        mss,
        wscale,
    )


def _syn_options(frame: bytes, p: int, end: int) -> tuple[int, int]:
    """MSS (kind 2) and window scale (kind 3) of a SYN (RFC 9293 §3.2, RFC 7323 §2)."""
    mss, wscale = 0, -1
    while p < end:
        kind = frame[p]
        if kind == 0:
            break
        if kind == 1:
            p += 1
            continue
        if p + 1 >= end or frame[p + 1] < 2:
            break
        length = frame[p + 1]
        if kind == 2 and length == 4 and p + 4 <= end:
            mss = _U16.unpack_from(frame, p + 2)[0]
        elif kind == 3 and length == 3 and p + 3 <= end:
            wscale = frame[p + 2]
        p += length
    return mss, wscale


def _quoted(frame: bytes, p: int, end: int) -> tuple[bytes, bytes, int, int] | None:
    """The addresses and ports of the IP+TCP header an ICMP error quotes (RFC 792, RFC 4443 §3)."""
    if end < p + 1:
        return None
    version = frame[p] >> 4
    if version == 4 and end >= p + 20:
        ihl = (frame[p] & 0x0F) * 4
        if frame[p + 9] != 6 or ihl < 20 or end < p + ihl + 4:
            return None
        sport, dport = struct.unpack_from("!HH", frame, p + ihl)
        return frame[p + 12 : p + 16], frame[p + 16 : p + 20], sport, dport
    if version == 6 and end >= p + 44:
        if frame[p + 6] != 6:
            return None
        sport, dport = struct.unpack_from("!HH", frame, p + 40)
        return frame[p + 8 : p + 24], frame[p + 24 : p + 40], sport, dport
    return None


def _icmp4(frame: bytes, p: int, end: int, src: bytes, ttl: int) -> Decoded:
    if end < p + 8:
        return None
    icmp_type, code = frame[p], frame[p + 1]
    if icmp_type == 3:
        kind = "frag-needed" if code == 4 else "unreachable"
        mtu = _U16.unpack_from(frame, p + 6)[0] if code == 4 else 0
    elif icmp_type == 11:
        kind, mtu = "ttl-exceeded", 0
    else:
        return None
    quoted = _quoted(frame, p + 8, end)
    if quoted is None:
        return None
    return IcmpError(src, ttl, kind, code, mtu, *quoted)


def _icmp6(frame: bytes, p: int, end: int, src: bytes, ttl: int) -> Decoded:
    if end < p + 8:
        return None
    icmp_type, code = frame[p], frame[p + 1]
    if icmp_type == 1:
        kind, mtu = "unreachable", 0
    elif icmp_type == 2:
        kind, mtu = "frag-needed", struct.unpack_from("!I", frame, p + 4)[0]
    elif icmp_type == 3:
        kind, mtu = "ttl-exceeded", 0
    else:
        return None
    quoted = _quoted(frame, p + 8, end)
    if quoted is None:
        return None
    return IcmpError(src, ttl, kind, code, mtu, *quoted)


def address_text(raw: bytes) -> str:
    """An address as people write it (IPv6 compressed, RFC 5952)."""
    import ipaddress

    return str(ipaddress.ip_address(raw))


def endpoint_text(raw: bytes, port: int) -> str:
    """``ip:port``, or ``[v6]:port``."""
    text = address_text(raw)
    return f"[{text}]:{port}" if ":" in text else f"{text}:{port}"
