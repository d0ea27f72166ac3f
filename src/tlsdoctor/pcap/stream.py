"""One direction of a TCP connection: bytes back in order, and how the network treated them.

Reassembly follows the receiver's view (RFC 9293 §3.10.7.4): a segment at the next expected sequence
number is delivered; one beyond it is held until the hole fills (out of order); one wholly before it is
a retransmission; one straddling it is an overlap, of which only the new bytes count (the first copy
wins, as in most stacks and in Wireshark's default). Sequence numbers are compared modulo 2**32.

Memory is bounded: at most ``MAX_HELD`` bytes wait per direction for a hole to fill; when the capture
lost the missing segment (it happens: the capturing host dropped it, not the network), the stream
skips the hole and says so (``gaps``), since a receiver that never saw it would have stalled forever.
Once the consumer has read what it needs (``wants = False``) no payload is held or copied at all:
only sequence numbers are tracked, which is what keeps a multi-gigabyte capture fast.
"""

from __future__ import annotations

from collections.abc import Callable

MAX_HELD = 256 * 1024
_MOD = 1 << 32
_HALF = 1 << 31
MAX_TRACKED_RETRANSMITS = 64

Sink = Callable[[bytes, float], None]


def seq_diff(a: int, b: int) -> int:
    """a - b in sequence space (signed, RFC 1982 serial arithmetic on 32 bits)."""
    return (a - b + _HALF) % _MOD - _HALF


class Direction:
    """The bytes one side sent, and the counts that tell loss, reordering and stalls."""

    __slots__ = (
        "_held",
        "_held_bytes",
        "acked",
        "bytes",
        "cut",
        "delivered",
        "dup_acks",
        "gaps",
        "holes",
        "isn",
        "last_ack",
        "last_window",
        "max_segment",
        "next_seq",
        "out_of_order",
        "overlaps",
        "packets",
        "retransmits",
        "retransmitted",
        "sink",
        "wants",
        "zero_windows",
    )

    def __init__(self, sink: Sink | None = None) -> None:
        self.sink = sink
        self.wants = sink is not None
        self.isn: int | None = None
        self.next_seq: int | None = None
        self._held: dict[int, tuple[bytes, int, float]] = {}
        self._held_bytes = 0
        self.packets = 0
        self.bytes = 0  # payload bytes on the wire, first copies only
        self.delivered = 0
        self.retransmits = 0
        self.overlaps = 0
        self.out_of_order = 0
        self.gaps = 0  # holes the capture never filled
        self.holes: list[tuple[int, int]] = []  # (first seq, bytes) of each hole skipped (the first few)
        self.cut = 0  # segments whose payload the snaplen cut
        self.max_segment = 0
        self.dup_acks = 0
        self.zero_windows = 0
        self.last_ack: int | None = None
        self.last_window = -1
        self.acked: int | None = None  # the highest ACK this side sent (for the other direction)
        # seq -> (length, times retransmitted, first sent) of retransmitted segments: a flight that is
        # retransmitted again and again without an ACK is how a black hole looks from either end.
        self.retransmitted: dict[int, tuple[int, int, float]] = {}

    def syn(self, seq: int) -> None:
        """A SYN: the stream's data starts at seq + 1 (RFC 9293 §3.4)."""
        if self.isn is None or self.next_seq is None or self.delivered == 0:
            self.isn = seq
            self.next_seq = (seq + 1) % _MOD

    def segment(self, seq: int, payload: bytes, wire_len: int, ts: float) -> str:
        """Take one segment's payload; returns what it was: "new", "retransmit", "overlap", "ahead"."""
        self.packets += 1
        if wire_len > self.max_segment:
            self.max_segment = wire_len
        if self.next_seq is None:  # the capture started mid-connection: take the stream from here
            self.isn = (seq - 1) % _MOD
            self.next_seq = seq
        d = seq_diff(seq, self.next_seq)
        if d < 0:
            end = d + wire_len
            if end <= 0:
                self.retransmits += 1
                self._note_retransmit(seq, wire_len, ts)
                return "retransmit"
            self.overlaps += 1
            self.retransmits += 1
            self._accept(payload[-d:], wire_len + d, ts)
            return "overlap"
        if d > 0:
            self.out_of_order += 1
            if seq not in self._held:
                keep = payload if self.wants else b""
                if self._held_bytes + len(keep) > MAX_HELD:
                    self._skip_hole()  # the capture lost the hole's segment: the stream goes on without it
                    self.packets -= 1
                    self.out_of_order -= 1
                    return self.segment(seq, payload, wire_len, ts)
                self._held[seq] = (keep, wire_len, ts)
                self._held_bytes += len(keep)
            else:
                self.retransmits += 1
                self._note_retransmit(seq, wire_len, ts)
            return "ahead"
        self._accept(payload, wire_len, ts)
        return "new"

    def _note_retransmit(self, seq: int, wire_len: int, ts: float) -> None:
        old = self.retransmitted.get(seq)
        if old is not None:
            self.retransmitted[seq] = (old[0], old[1] + 1, old[2])
        elif len(self.retransmitted) < MAX_TRACKED_RETRANSMITS:
            self.retransmitted[seq] = (wire_len, 1, ts)

    def _accept(self, payload: bytes, wire_len: int, ts: float) -> None:
        assert self.next_seq is not None
        self._deliver(payload, wire_len, ts)
        while self._held:
            item = self._held.pop(self.next_seq, None)
            if item is None:
                self._drop_stale()
                break
            self._held_bytes -= len(item[0])
            self._deliver(*item)

    def _deliver(self, payload: bytes, wire_len: int, ts: float) -> None:
        assert self.next_seq is not None
        self.next_seq = (self.next_seq + wire_len) % _MOD
        self.bytes += wire_len
        if len(payload) < wire_len:
            self.cut += 1
        if self.wants and self.sink is not None and payload:
            self.delivered += len(payload)
            self.sink(payload, ts)
            if len(payload) < wire_len:
                self.wants = False  # bytes are missing from here on: a record parser cannot resync

    def _drop_stale(self) -> None:
        """Held segments now wholly before next_seq (their bytes came in a larger retransmission)."""
        assert self.next_seq is not None
        nxt = self.next_seq
        for seq in [s for s in self._held if seq_diff(s, nxt) < 0]:
            data, wire_len, ts = self._held.pop(seq)
            self._held_bytes -= len(data)
            rest = seq_diff(seq, nxt) + wire_len
            if rest > 0:
                self._held[nxt] = (data[-rest:] if data else b"", rest, ts)
                self._held_bytes += len(data[-rest:]) if data else 0

    def _skip_hole(self) -> None:
        """Give up on the hole before the lowest held segment: the capture lost it."""
        assert self.next_seq is not None
        if not self._held:
            return
        nxt = self.next_seq
        lowest = min(self._held, key=lambda s: seq_diff(s, nxt))
        self.gaps += 1
        if len(self.holes) < 8:
            self.holes.append((nxt, seq_diff(lowest, nxt)))
        self.wants = False  # a record parser cannot cross a hole
        self.next_seq = lowest
        data, wire_len, ts = self._held.pop(lowest)
        self._held_bytes -= len(data)
        self._accept(data, wire_len, ts)

    def finish(self) -> None:
        """The connection ended: holes that never filled are gaps in the capture."""
        while self._held:
            self._skip_hole()

    def ack(self, ack: int, window: int, pure: bool) -> None:
        """An ACK this side sent: dup ACKs (RFC 5681 §2: same ACK, same window, no data) and zero windows."""
        if window == 0:
            self.zero_windows += 1
        if pure and ack == self.last_ack and window == self.last_window:
            self.dup_acks += 1
        self.last_ack, self.last_window = ack, window
        if self.acked is None or seq_diff(ack, self.acked) > 0:
            self.acked = ack

    def lost(self, peer_acked: int | None) -> int:
        """Bytes of the holes the receiver never acknowledged either: lost on the network, not merely
        missed by the capture (a hole the peer's ACK covers reached the peer)."""
        return sum(size for seq, size in self.holes if peer_acked is None or seq_diff(peer_acked, seq) <= 0)

    def unacked_retransmits(self, peer_acked: int | None) -> list[tuple[int, int, int, float]]:
        """(seq, length, times, first sent) of retransmitted segments the peer never acknowledged."""
        out = []
        for seq, (length, times, first) in self.retransmitted.items():
            if peer_acked is None or seq_diff(peer_acked, seq + length) < 0:
                out.append((seq, length, times, first))
        return out
