"""What the path probes showed: who sent a reset, whether a small MSS passes, how latency grows with load."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from tlsdoctor.observations.base import Observation


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ResetOrigin(Observation):
    """Whether the RST that ended a handshake came from the server or from a box on the path.

    A host answers with one initial TTL; a forged RST from a middlebox arrives with the TTL the
    middlebox's distance gives it, so a SYN-ACK and an RST "from" the same address with different
    TTLs were not sent by the same host. ``method`` says how we know: ``capture`` (AF_PACKET, needs
    CAP_NET_RAW) or ``timing`` (no capture: the verdict is then ``unknown``).
    """

    kind: ClassVar[str] = "reset-origin"

    address: str
    port: int
    verdict: str  # "injected" | "server" | "unknown"
    method: str  # "capture" | "timing"
    syn_ack_ttl: int | None = None
    rst_ttl: int | None = None
    syn_ack_ip_id: int | None = None
    rst_ip_id: int | None = None
    rst_after_ms: float | None = None  # from our hello to the RST
    note: str = ""

    def describe(self) -> str:
        if self.method == "capture" and self.syn_ack_ttl is not None and self.rst_ttl is not None:
            who = {
                "injected": "not the server: a box on the path forged it",
                "server": "the server itself",
            }.get(self.verdict, "undetermined")
            return (
                f"captured RST from {self.address}:{self.port} has TTL {self.rst_ttl}, its SYN-ACK TTL "
                f"{self.syn_ack_ttl} (IP ID {self.rst_ip_id} vs {self.syn_ack_ip_id}): sender is {who}"
            )
        return f"reset origin undetermined ({self.method}): {self.note}"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class MssProbe(Observation):
    """The default handshake retried with a clamped TCP MSS (TCP_MAXSEG before connect).

    A path that loses large packets without sending ICMP "fragmentation needed" lets small
    segments through: small passing where the default stalls is the black hole's signature.
    """

    kind: ClassVar[str] = "mss-probe"

    address: str
    port: int
    mss: int
    outcome: str  # a HandshakeOutcome value, or "connect-failed"
    bytes_received: int = 0
    elapsed_ms: float = 0.0

    def describe(self) -> str:
        return (
            f"handshake with MSS {self.mss} to {self.address}:{self.port}: {self.outcome}, "
            f"{self.bytes_received} bytes received in {self.elapsed_ms:.0f} ms"
        )


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RampLevel(Observation):
    """One level of the concurrency ramp: N simultaneous handshakes."""

    kind: ClassVar[str] = "ramp-level"

    concurrency: int
    failures: int
    connect_p50_ms: float
    handshake_p50_ms: float  # from connected to handshake done (ServerHello latency and more)
    handshake_max_ms: float
    handshake_min_ms: float = 0.0
    retransmits: int = 0  # segments retransmitted or received out of order (TCP_INFO): loss, not load

    def describe(self) -> str:
        lost = f", {self.retransmits} lost segments (TCP_INFO)" if self.retransmits else ""
        return (
            f"{self.concurrency} concurrent handshakes: {self.failures} failed, TCP connect p50 "
            f"{self.connect_p50_ms:.0f} ms, handshake min {self.handshake_min_ms:.0f} / "
            f"p50 {self.handshake_p50_ms:.0f} ms, "
            f"max {self.handshake_max_ms:.0f} ms{lost}"
        )


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class TcpCounters(Observation):
    """The kernel's loss counters (TCP_INFO) of one probe's connection, read just before it closed."""

    kind: ClassVar[str] = "tcp-counters"

    probe: str  # the handshake variant
    address: str
    port: int
    retransmits: int  # segments we retransmitted (SYNs included): loss on the way out
    reordered: int  # segments received out of order: one of the server's was lost on the way in
    rtt_ms: float

    @property
    def lossy(self) -> bool:
        return bool(self.retransmits or self.reordered)

    def stall_proof(self, stalled_s: float) -> bool:
        return True  # the kernel's own counts: it acknowledges and retransmits whatever our loop does

    def describe(self) -> str:
        return (
            f"TCP_INFO of the {self.probe} handshake's connection to {self.address}:{self.port}: "
            f"{self.retransmits} segments retransmitted, {self.reordered} received out of order, "
            f"RTT {self.rtt_ms:.1f} ms"
        )


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SynSample(Observation):
    """A burst of bare TCP connects (closed at once): how many SYNs needed a retransmission.

    A SYN or SYN-ACK lost on the way costs a retransmission a second later (RFC 6298 §2.1, RFC 6298 §5.7):
    on a path that loses packets a few of a handful of connects take about a second, on a clean one none
    does. Cheap for the server (no TLS), and read only as a sign that starts the automatic repeat.
    """

    kind: ClassVar[str] = "syn-sample"

    address: str
    port: int
    attempts: int
    fast: int  # answered well before a SYN retransmission
    slow: int  # answered after about a second: a SYN or SYN-ACK was lost and retransmitted
    unanswered: int  # not answered within the probe's window (a second SYN was lost too, or more)

    def describe(self) -> str:
        return (
            f"{self.attempts} bare TCP connects to {self.address}:{self.port}: {self.fast} answered at once, "
            f"{self.slow} after a SYN retransmission, {self.unanswered} unanswered in time"
        )


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class PathStats(Observation):
    """Transport health of repeated connections from the kernel's own counters (TCP_INFO)."""

    kind: ClassVar[str] = "path-stats"

    attempts: int
    failures: int
    retransmits: int  # segments we retransmitted, summed
    slow_connects: int  # connects that took >= 0.9 s: a SYN or SYN-ACK was lost and retransmitted
    rtt_ms_min: float
    rtt_ms_max: float
    out_of_order: int = 0  # server segments received out of order: one before them was lost
    # Handshakes that got no answer in time on a connection that lost nothing (no retransmission, no
    # reordering, a fast connect): a slow or saturated server, not loss. Not counted in ``failures``.
    stalled: int = 0
    unfinished: int = 0  # still running when the probe's window closed (not failures either)
    lossy: int = 0  # connections that showed any sign of loss (a retransmission, reordering, a slow connect)
    reasons: tuple[str, ...] = ()  # why it ran without --repeat: the signs of loss the first probes showed
    first_signs: int = 0  # loss events the first probes' own counters showed (retransmissions, reordering)

    def describe(self) -> str:
        extra = f", {self.stalled} stalled with no loss" if self.stalled else ""
        extra += f", {self.unfinished} unfinished" if self.unfinished else ""
        why = f" (run because {'; '.join(self.reasons)})" if self.reasons else ""
        return (
            f"{self.attempts} connections: {self.failures} failed{extra}, {self.retransmits} retransmitted "
            f"segments, {self.out_of_order} received out of order, {self.slow_connects} connects "
            f"needed a SYN retransmission, RTT {self.rtt_ms_min:.1f}..{self.rtt_ms_max:.1f} ms{why}"
        )


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SynRetest(Observation):
    """A fresh SYN after every connection of ours was closed: does the server's kernel answer it now?

    Earlier connects were accepted and then new SYNs went unanswered while those were held open: a full
    listen backlog (the server accepts no more) or a firewall that drops SYNs. Released, a backlog that
    drains answers again; one that stays full belongs to a server that does not accept at all.
    """

    kind: ClassVar[str] = "syn-retest"

    address: str
    port: int
    answered: bool
    elapsed_ms: float

    def describe(self) -> str:
        dest = f"{self.address}:{self.port}"
        if self.answered:
            return (
                f"after our connections were released, a new SYN to {dest} was answered in "
                f"{self.elapsed_ms:.0f} ms"
            )
        return (
            f"after our connections were released, a new SYN to {dest} was still unanswered after "
            f"{self.elapsed_ms / 1000:.1f} s"
        )


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Reproduction(Observation):
    """One probe of a disagreeing pair, re-run a few times at once after the first attempts disagreed.

    On a lossy path a single lost packet makes one single-shot probe fail while its twin passes;
    that difference means nothing unless it comes back the same way every time.
    """

    kind: ClassVar[str] = "reproduction"

    probe: str  # a handshake variant name, or "mss-<n>" for the small-MSS retry
    first: str  # the first attempt's outcome
    outcomes: tuple[str, ...]  # the re-runs' outcomes

    @property
    def reproduced(self) -> bool:
        """Every re-run passed or failed as the first attempt did."""
        passed = self.first == "ok"
        return all((o == "ok") == passed for o in self.outcomes)

    def describe(self) -> str:
        verdict = "reproduced" if self.reproduced else "did NOT reproduce"
        return (
            f"{self.probe} re-run {len(self.outcomes)} times: {', '.join(self.outcomes)} "
            f"(first attempt: {self.first}): {verdict}"
        )


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class TraceHop(Observation):
    """One TTL of a TCP SYN traceroute: who answered the SYN that ran out of hops, and how."""

    kind: ClassVar[str] = "trace-hop"

    ttl: int
    answer: str  # "time exceeded", "host unreachable", ... | "syn-ack" | "reset" | "no answer"
    address: str | None = None
    rtt_ms: float = 0.0

    def describe(self) -> str:
        who = f" from {self.address}" if self.address else ""
        return f"hop {self.ttl}: {self.answer}{who}" + (f" in {self.rtt_ms:.0f} ms" if self.address else "")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class PathTrace(Observation):
    """A TCP SYN traceroute toward the target's port (IP_TTL on each connect, ICMP read by IP_RECVERR).

    It goes where the failing connection went (same protocol and port, so the same firewall rules
    apply), and names the last hop that still answers: the drop or the refusal is just beyond it.
    """

    kind: ClassVar[str] = "path-trace"

    address: str
    port: int
    hops: tuple[TraceHop, ...]

    @property
    def last_answer(self) -> TraceHop | None:
        """The farthest hop that said anything."""
        return next((h for h in reversed(self.hops) if h.address), None)

    @property
    def reached(self) -> bool:
        return any(h.answer in ("syn-ack", "reset") for h in self.hops)

    def describe(self) -> str:
        shown = "; ".join(h.describe() for h in self.hops)
        last = self.last_answer
        if last is None:
            end = "no hop answered at all"
        elif self.reached:
            end = f"the target itself answered at hop {last.ttl}"
        elif last.answer != "time exceeded":
            end = f"last hop that answers: {last.address} (hop {last.ttl}), refusing for the target"
        else:
            end = f"last hop that answers: {last.address} (hop {last.ttl}); nothing beyond it"
        return f"TCP SYN traceroute to {self.address}:{self.port}: {shown}: {end}"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class PathMtu(Observation):
    """UDP probes of several sizes with DF set (IP_PMTUDISC_DO), ICMP read by IP_RECVERR, like tracepath.

    ``sizes`` holds (IP packet size, what came back, from whom): "reached" (the target's ICMP port
    unreachable or a reply), "too big" (ICMP fragmentation needed; ``icmp_mtu`` then says the hop's
    MTU), "local" (our own kernel already knows a smaller path MTU), "no answer". Large sizes lost
    with no ICMP while smaller ones reach the target are a path-MTU black hole on the way there.
    """

    kind: ClassVar[str] = "path-mtu"

    address: str
    route_mtu: int
    sizes: tuple[tuple[int, str, str], ...]
    icmp_mtu: int | None = None
    icmp_from: str | None = None

    @property
    def largest_reached(self) -> int | None:
        return max((s for s, what, _ in self.sizes if what == "reached"), default=None)

    @property
    def lost_silently(self) -> list[int]:
        """Sizes above the largest that reached, lost without any ICMP: the black hole's signature."""
        top = self.largest_reached
        return [s for s, what, _ in self.sizes if what == "no answer" and top is not None and s > top]

    def describe(self) -> str:
        top, lost = self.largest_reached, self.lost_silently
        if self.icmp_mtu:
            return (
                f"path MTU to {self.address} is {self.icmp_mtu}: {self.icmp_from} answered "
                f"'fragmentation needed' to larger packets (ICMP gets through)"
            )
        if top is not None and lost:
            return (
                f"UDP packets of {min(lost)}+ bytes (DF) to {self.address} vanish with no ICMP "
                f"'fragmentation needed', while {top} bytes reach it: a path-MTU black hole "
                f"(path MTU between {top} and {min(lost) - 1})"
            )
        if top is None:
            return f"no UDP probe to {self.address} got an answer (it does not answer UDP): path MTU unknown"
        return f"UDP packets up to {top} bytes (DF) reach {self.address}: no MTU limit on the way there"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class LoopStall(Observation):
    """This process, not the network, was stalled while a check ran: its event loop woke late.

    A probe's deadline is meant to measure the network; a blocked loop (a long computation, a starved CPU)
    eats into it and can turn a working endpoint into a timeout. The runner measures how late its
    heartbeat woke during the check (runner.LoopWatch); a check that did not pass under such a stall is
    re-run once, and when the stall repeats the result is marked unreliable (``reliable`` False): the
    engine then lets no cause rest on it.
    """

    kind: ClassVar[str] = "loop-stall"

    stalled_ms: float  # how long the loop was stalled during the first run
    rerun: bool  # the check was run again
    reliable: bool  # the result shown is from a run without a noticeable stall
    rerun_stalled_ms: float = 0.0

    def describe(self) -> str:
        first = f"this process was stalled for {self.stalled_ms:.0f} ms while the check ran"
        if self.reliable:
            return f"{first}; its result was discarded and the check run again without a stall"
        again = f" (again {self.rerun_stalled_ms:.0f} ms on its re-run)" if self.rerun else ""
        return f"{first}{again}: its result may reflect our own stall, not the network"
