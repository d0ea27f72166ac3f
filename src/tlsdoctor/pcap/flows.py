"""TCP flows: each connection's two directions, its handshake, closes, resets, TTLs and ICMP errors.

A flow starts at a SYN (or, for a capture begun mid-connection, at its first segment with data: the
lower port is then taken as the server's). It is finished when both sides sent a FIN or one sent an
RST (after ``LINGER`` seconds of capture time, so the last ACKs still count), when it has been idle
``IDLE`` seconds, when the table holds ``MAX_FLOWS`` flows (the least recently active are evicted), or
when the capture ends. Finished flows are handed out at once: output streams while the file is read,
and memory is bounded by the number of open flows, never by the file's size.

What a key-log decrypter needs (pcap/decrypt.py) is on the flow: ``client_tls.records`` and
``server_tls.records`` (content type, bytes, time), the client random and the selected cipher suite.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from tlsdoctor.pcap.decode import TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, IcmpError, Segment
from tlsdoctor.pcap.fastpath import Quiet, skim_key
from tlsdoctor.pcap.stream import Direction, seq_diff
from tlsdoctor.pcap.tlsside import TlsSide

LINGER = 1.0
SETTLE_AFTER = 3  # server records after the client's first encrypted one, before the fast path
IDLE = 300.0
MAX_FLOWS = 8192
MAX_EVENTS = 200
SWEEP_EVERY = 4096
MAX_RETRANSMIT_EVENTS = 6

Endpoint = tuple[bytes, int]


class Event(NamedTuple):
    ts: float
    side: str  # "client" | "server" | "icmp"
    what: str


class Reset(NamedTuple):
    ts: float
    side: str
    ttl: int
    ip_id: int
    after: str  # the last handshake message seen before it ("" when none)


class Icmp(NamedTuple):
    ts: float
    kind: str  # "frag-needed" | "unreachable" | "ttl-exceeded"
    code: int
    mtu: int
    sender: bytes
    about: str  # "client" | "server": whose packet it quotes


class Flow:
    """One TCP connection as the capture saw it."""

    def __init__(self, client: Endpoint, server: Endpoint, ts: float, index: int) -> None:
        self.index = index
        self.client, self.server = client, server
        self.start_ts = self.last_ts = ts
        self.closed_ts: float | None = None
        self.events: list[Event] = []
        self.dropped_events = 0
        self.client_tls = TlsSide("client", self.note)
        self.server_tls = TlsSide("server", self.note)
        self.c2s = Direction(self.client_tls.feed)
        self.s2c = Direction(self.server_tls.feed)
        self.syn_ts: float | None = None
        self.syn_count = 0
        self.synack_ts: float | None = None
        self.synack_count = 0
        self.ack_ts: float | None = None  # the handshake's third segment
        self.mss: dict[str, int] = {}
        self.ttls: dict[str, dict[int, int]] = {"client": {}, "server": {}}  # TTL -> packets (not RSTs)
        self.ip_ids: dict[str, int] = {}  # the last IP ID of each side's non-RST packets
        self.resets: list[Reset] = []
        self.fins: dict[str, tuple[float, str]] = {}  # side -> (time, after which message)
        self.icmp: list[Icmp] = []
        self._retransmit_events = 0
        self.quiet_keys: list[bytes] = []  # its directions' keys on the fast path (pcap/fastpath.py)

    def settled(self) -> bool:
        """Nothing in a data segment can change what the flow shows: the client does not speak TLS; or
        the handshake is over on both sides and the server has sent its first records after the client's
        first encrypted one (its Finished, or the alert that refused), the session tickets and first
        bytes a key log would open among them; or the server's side has kept all it keeps."""
        c, s = self.client_tls, self.server_tls
        if c.not_tls:
            return True
        if c.encrypted_ts is None or s.encrypted_ts is None or not c.app_records:
            return False
        if s.done:
            return True
        after = c.encrypted_ts
        return sum(1 for r in s.records if r.ts > after) >= SETTLE_AFTER

    # -- what a decrypter needs --------------------------------------------------------------------
    @property
    def client_random(self) -> bytes | None:
        ch = self.client_tls.client_hello
        return ch.random if ch is not None else None

    @property
    def cipher_suite(self) -> int | None:
        sh = self.server_tls.server_hello
        return int(sh.cipher_suite) if sh is not None else None

    @property
    def tls_version(self) -> int | None:
        sh = self.server_tls.server_hello
        return int(sh.selected_version) if sh is not None else None

    # -- the timeline ------------------------------------------------------------------------------
    def note(self, ts: float, side: str, what: str) -> None:
        if len(self.events) < MAX_EVENTS:
            self.events.append(Event(ts, side, what))
        else:
            self.dropped_events += 1

    def last_message(self) -> str:
        """The last handshake message (or record kind) either side sent: "after which" of a close."""
        return self._last()[0]

    def _last(self) -> tuple[str, float | None]:
        seen = [(s.last_message_ts, s.role, s.last_message) for s in (self.client_tls, self.server_tls)]
        known = [(t, role, m) for t, role, m in seen if t is not None]
        if not known:
            return "", None
        t, role, message = max(known, key=lambda x: x[0])
        return f"the {role}'s {message}", t

    def _after(self, ts: float) -> str:
        """ " after the server's ServerHelloDone (+52.1 ms)" for a FIN or RST at ``ts``."""
        message, t = self._last()
        if not message or t is None:
            return ""
        return f" after {message} (+{(ts - t) * 1000:.1f} ms)"

    # -- packets -----------------------------------------------------------------------------------
    def add(self, seg: Segment, ts: float) -> None:
        side = "client" if (seg.src, seg.sport) == self.client else "server"
        self.last_ts = ts
        flags = seg.flags
        here = self.c2s if side == "client" else self.s2c
        if flags & TCP_RST:
            self._reset(seg, ts, side)
            return
        ttls = self.ttls[side]
        ttls[seg.ttl] = ttls.get(seg.ttl, 0) + 1
        self.ip_ids[side] = seg.ip_id
        if flags & TCP_SYN:
            self._syn(seg, ts, side, here)
        if flags & TCP_ACK:
            here.ack(seg.ack, seg.window, pure=not seg.wire_len and not flags & (TCP_SYN | TCP_FIN))
            if (
                self.ack_ts is None
                and self.synack_ts is not None
                and side == "client"
                and not flags & TCP_SYN
            ):
                self.ack_ts = ts
        if seg.wire_len:
            expected = here.next_seq
            kind = here.segment(seg.seq, seg.payload, seg.wire_len, ts)
            if kind != "new" and self._retransmit_events < MAX_RETRANSMIT_EVENTS:
                self._retransmit_events += 1
                if kind == "ahead" and expected is not None:
                    gap = seq_diff(seg.seq, expected)
                    self.note(ts, side, f"{seg.wire_len} bytes after a hole of {gap} bytes (out of order)")
                else:
                    self.note(ts, side, f"retransmission ({seg.wire_len} bytes)")
            if side == "server" and self.server_tls.tls13:
                self.client_tls.tls13 = True
        if seg.window == 0 and not flags & TCP_SYN and here.zero_windows <= 3:
            self.note(ts, side, "zero window (its receive buffer is full)")
        if flags & TCP_FIN and side not in self.fins:
            self.fins[side] = (ts, self.last_message())
            self.note(ts, side, "FIN" + self._after(ts))
            if len(self.fins) == 2 and self.closed_ts is None:
                self.closed_ts = ts

    def _syn(self, seg: Segment, ts: float, side: str, here: Direction) -> None:
        here.syn(seg.seq)
        if seg.mss:
            self.mss[side] = seg.mss
        opts = f"MSS {seg.mss}" if seg.mss else "no MSS option"
        if side == "client" and not seg.flags & TCP_ACK:
            self.syn_count += 1
            if self.syn_ts is None:
                self.syn_ts = ts
                self.note(ts, side, f"SYN ({opts}, TTL {seg.ttl})")
            elif self.syn_count <= 4:
                self.note(ts, side, f"SYN retransmitted (#{self.syn_count})")
        elif side == "server":
            self.synack_count += 1
            if self.synack_ts is None:
                self.synack_ts = ts
                rtt = f", {1000 * (ts - self.syn_ts):.1f} ms after the SYN" if self.syn_ts is not None else ""
                self.note(ts, side, f"SYN-ACK ({opts}, TTL {seg.ttl}){rtt}")

    def _reset(self, seg: Segment, ts: float, side: str) -> None:
        after = self.last_message()
        self.resets.append(Reset(ts, side, seg.ttl, seg.ip_id, after))
        if len(self.resets) <= 3:
            usual = self.ttls[side]
            ttl = f"TTL {seg.ttl}"
            if usual and seg.ttl not in usual:
                ttl += f", unlike the {side}'s other packets ({', '.join(map(str, sorted(usual)))})"
            self.note(ts, side, f"RST ({ttl})" + self._after(ts))
        if self.closed_ts is None:
            self.closed_ts = ts

    def add_icmp(self, err: IcmpError, ts: float, about: str) -> None:
        from tlsdoctor.pcap.decode import address_text

        self.icmp.append(Icmp(ts, err.kind, err.code, err.mtu, err.src, about))
        if len(self.icmp) <= 5:
            mtu = f" (next-hop MTU {err.mtu})" if err.kind == "frag-needed" else f" (code {err.code})"
            self.note(
                ts, "icmp", f"ICMP {err.kind}{mtu} from {address_text(err.src)} about the {about}'s packet"
            )

    def finish(self) -> None:
        self.c2s.finish()
        self.s2c.finish()
        self.events.sort(key=lambda e: e.ts)


def _canonical(a: Endpoint, b: Endpoint) -> tuple[Endpoint, Endpoint]:
    return (a, b) if a <= b else (b, a)


_NONE: list[Flow] = []  # returned (never modified) when a segment finished no flow


class FlowTable:
    """Open flows by their 4-tuple; finished flows come out of :meth:`add` and :meth:`close_all`."""

    def __init__(self, max_flows: int = MAX_FLOWS) -> None:
        self.flows: dict[tuple[Endpoint, Endpoint], Flow] = {}
        self.max_flows = max_flows
        self.count = 0
        self.evicted_for_room = 0
        self.quiet: dict[bytes, Quiet] = {}  # direction key -> its fast path (pcap/fastpath.py)

    def add(self, seg: Segment, ts: float) -> list[Flow]:
        """Take a segment; return the flows it finished or pushed out (usually none)."""
        src, dst = (seg.src, seg.sport), (seg.dst, seg.dport)
        key = (src, dst) if src <= dst else (dst, src)
        flow = self.flows.get(key)
        out: list[Flow] = _NONE
        if flow is None or (seg.flags & (TCP_SYN | TCP_ACK) == TCP_SYN and flow.closed_ts is not None):
            out = []
            if flow is not None:  # a new connection on a closed flow's 4-tuple (port reuse)
                del self.flows[key]
                out.append(self._done(flow))
            flow = self._new(seg, src, dst, ts)
            if flow is None:
                return out
            self.flows[key] = flow
            if len(self.flows) > self.max_flows:
                out.extend(self._make_room())
        flow.add(seg, ts)
        if not flow.quiet_keys and flow.settled():
            self._quieten(flow)
        return out

    def _quieten(self, flow: Flow) -> None:
        """Put both directions of a settled flow on the fast path. Its streams stop delivering too: a
        segment that still takes the full path (a FIN with data) must not reach a record parser that the
        skipped bytes put out of step."""
        flow.c2s.wants = flow.s2c.wants = False
        (caddr, cport), (saddr, sport) = flow.client, flow.server
        for key, direction in (
            (skim_key(caddr, cport, saddr, sport), flow.c2s),
            (skim_key(saddr, sport, caddr, cport), flow.s2c),
        ):
            if key is not None:
                self.quiet[key] = Quiet(flow, direction)
                flow.quiet_keys.append(key)
        if not flow.quiet_keys:
            flow.quiet_keys.append(b"")  # IPv6: no fast path, and no need to ask again

    def _new(self, seg: Segment, src: Endpoint, dst: Endpoint, ts: float) -> Flow | None:
        flags = seg.flags
        if flags & TCP_SYN:
            client, server = (src, dst) if not flags & TCP_ACK else (dst, src)
        elif seg.wire_len and not flags & TCP_RST:
            # Begun before the capture: the lower port is the server's (ephemeral ports are high).
            client, server = (src, dst) if seg.sport > seg.dport else (dst, src)
        else:
            return None  # a stray ACK, FIN or RST of a connection the capture did not see
        self.count += 1
        return Flow(client, server, ts, self.count)

    def icmp(self, err: IcmpError, ts: float) -> None:
        """Tie an ICMP error to the flow whose packet it quotes."""
        a, b = (err.orig_src, err.orig_sport), (err.orig_dst, err.orig_dport)
        flow = self.flows.get(_canonical(a, b))
        if flow is not None:
            flow.add_icmp(err, ts, "client" if a == flow.client else "server")

    def sweep(self, now: float) -> Iterator[Flow]:
        """Flows closed for LINGER seconds, or idle for IDLE seconds, as of capture time ``now``."""
        done = [
            k
            for k, f in self.flows.items()
            if (f.closed_ts is not None and now - f.closed_ts > LINGER) or now - f.last_ts > IDLE
        ]
        for k in done:
            yield self._done(self.flows.pop(k))

    def _make_room(self) -> Iterator[Flow]:
        """Evict the least recently active tenth of the table (in one sort, not one scan per flow)."""
        victims = sorted(self.flows.items(), key=lambda kv: kv[1].last_ts)[: max(1, self.max_flows // 10)]
        for k, _ in victims:
            self.evicted_for_room += 1
            yield self._done(self.flows.pop(k))

    def close_all(self) -> Iterator[Flow]:
        """The capture ended: every flow still open, oldest first."""
        for flow in sorted(self.flows.values(), key=lambda f: f.start_ts):
            yield self._done(flow)
        self.flows.clear()

    def _done(self, flow: Flow) -> Flow:
        for key in flow.quiet_keys:
            self.quiet.pop(key, None)
        flow.finish()
        return flow
