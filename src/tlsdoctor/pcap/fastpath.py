"""The fast path for a flow's bulk data, once its handshake has been read.

After both sides went encrypted and their first records were kept (pcap/tlsside.py), nothing in a data
segment can change the diagnosis but its sequence numbers (a retransmission), its window (zero) and its
time; its flags can (FIN, RST, SYN), so those still take the full path. A segment of such a flow is
recognised here from the frame's raw bytes (IPv4 without options behind Ethernet, Linux cooked or raw
IP: the 12 bytes of addresses and ports are one slice) and only counted, without decoding, building a
Segment or reassembling: on a long download that is nearly every packet, and the difference between
reading a capture at a few and at many tens of MB/s.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from tlsdoctor.pcap.stream import Direction, seq_diff

if TYPE_CHECKING:
    from tlsdoctor.pcap.reader import Capture

# link type -> offset of the IPv4 header, and where the ethertype is (-1: raw IP, none)
IP_OFFSET = {1: (14, 12), 113: (16, 14), 276: (20, 0), 101: (0, -1), 228: (0, -1)}
_FLAGS_SLOW = 0x07  # FIN, SYN, RST


def skim_key(src: bytes, sport: int, dst: bytes, dport: int) -> bytes | None:
    """The raw key of one direction: source and destination address, then ports (IPv4 only)."""
    if len(src) != 4:
        return None
    return src + dst + sport.to_bytes(2, "big") + dport.to_bytes(2, "big")


class Clocked(Protocol):
    """What the fast path touches of a flow (pcap/flows.py's Flow, which imports this module): the
    time of its last packet, which its idle sweep reads."""

    last_ts: float


class Quiet:
    """One direction of a flow on the fast path."""

    __slots__ = ("direction", "flow")

    def __init__(self, flow: Clocked, direction: Direction) -> None:
        self.flow = flow
        self.direction = direction

    def take(self, frame: bytes, off: int, end: int, ts: float) -> bool:
        """Count one segment (its IPv4 header at ``off``, the frame ending at ``end``); False when it must
        take the full path (flags, damage)."""
        tcp = off + 20
        if end < tcp + 20 or frame[tcp + 13] & _FLAGS_SLOW:
            return False
        d = self.direction
        total = (frame[off + 2] << 8) | frame[off + 3]
        plen = total - 20 - ((frame[tcp + 12] >> 4) << 2)
        self.flow.last_ts = ts
        d.packets += 1
        if frame[tcp + 14] == 0 and frame[tcp + 15] == 0:
            d.zero_windows += 1
        if plen > 0 and d.next_seq is not None:
            seq = int.from_bytes(frame[tcp + 4 : tcp + 8], "big")
            ahead = seq_diff(seq, d.next_seq)
            if ahead + plen <= 0:
                d.retransmits += 1
            elif ahead >= 0:
                d.next_seq = (seq + plen) & 0xFFFFFFFF
                d.bytes += plen
            else:  # overlapping: the new part counts
                d.retransmits += 1
                d.next_seq = (seq + plen) & 0xFFFFFFFF
                d.bytes += ahead + plen
        return True


def fast_key(linktype: int, frame: bytes) -> tuple[bytes, int] | None:
    """(the direction key, the IP header offset) of a plain IPv4 TCP frame, else None."""
    where = IP_OFFSET.get(linktype)
    if where is None:
        return None
    off, ethertype_at = where
    if len(frame) < off + 40 or frame[off] != 0x45 or frame[off + 9] != 6:
        return None
    if ethertype_at >= 0 and frame[ethertype_at : ethertype_at + 2] != b"\x08\x00":
        return None
    return frame[off + 12 : off + 24], off


class Skimmer:
    """The fast path as the pcap reader calls it, on the frame still inside its read buffer: a settled
    flow's segment is counted without being cut out of the buffer, decoded or handed on."""

    __slots__ = ("capture", "ethertype_at", "ip_at", "next_sweep", "quiet", "taken")

    def __init__(self, quiet: dict[bytes, Quiet], linktype: int, capture: Capture, next_sweep: int) -> None:
        self.quiet = quiet
        self.ip_at, self.ethertype_at = IP_OFFSET.get(linktype, (-1, -1))
        self.taken = 0
        self.capture = capture
        # When the capture's frame count reaches it, the frame goes the full way, so that the loop that
        # hands out finished flows runs (analyse._frames moves it on).
        self.next_sweep = next_sweep

    def __call__(self, buf: bytes, start: int, end: int, ts: float) -> bool:
        quiet = self.quiet
        if not quiet or self.ip_at < 0 or self.capture.frames_read >= self.next_sweep:
            return False
        o = start + self.ip_at
        if end - o < 40 or buf[o] != 0x45 or buf[o + 9] != 6:
            return False
        at = self.ethertype_at
        if at >= 0 and buf[start + at : start + at + 2] != b"\x08\x00":
            return False
        q = quiet.get(buf[o + 12 : o + 24])
        if q is None or not q.take(buf, o, end, ts):
            return False
        self.taken += 1
        return True
