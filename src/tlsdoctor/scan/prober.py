"""The scan's connection gate: where and how to scan (:class:`ScanTarget`), and the
:class:`Prober` that runs every probe of one scan through net/ under one concurrency limit and
one deadline, holding each answer to the RFCs (scan/checks.py).
"""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Awaitable, Sequence
from typing import TYPE_CHECKING

from tlsdoctor.net.route import Dial, Route, open_stream
from tlsdoctor.net.stream import Stream
from tlsdoctor.scan.checks import hello_violation, violation
from tlsdoctor.scan.gate import Gate
from tlsdoctor.scan.offers import TLS13_GROUPS, Offer, build
from tlsdoctor.scan.probe import Flight, ProbeResult, run_probe
from tlsdoctor.scan.waves import Waves
from tlsdoctor.wire.codepoints import ExtensionType
from tlsdoctor.wire.handshake import ServerHello
from tlsdoctor.wire.registry import SUITES, version_name

if TYPE_CHECKING:
    from tlsdoctor.certs.trust import TrustAnchors
    from tlsdoctor.scan.helper import Helper


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ScanTarget:
    """Where and how to scan. ``servername`` is the SNI (None for a bare IP)."""

    address: str
    port: int
    servername: str | None
    verify_name: str
    timeout: float = 5.0  # per probe: connect + hello + the server's flight
    max_bytes: int = 256 * 1024  # per connection
    concurrency: int = 16
    ca_file: str | None = None
    starttls: str | None = None  # a plaintext protocol to upgrade first on every probe (net.starttls)
    deadline: float | None = None  # time.monotonic() after which no probe starts (--max-time)


# Probes of one version that got no answer at all before the scan stops asking that version: the
# first, and the removal chain's one retry (enumerate.RETRY_ENDS). After that a silent server costs
# nothing more: "one timeout per version and suite family, not per suite".
SILENCE_LIMIT = 2
MIN_PROBE_TIME = 0.05  # below this much time left a probe is not started
# Parallel chains pay when an answer takes this many times longer than the CPU a probe costs us
# (Prober.pace): with 16 connections in flight the event loop then waits most of the time, and
# what parallel chains cost in handshakes (forks, block ends, proving the blocks' order: up to 2x
# on a server that interleaves the blocks) is free. Measured: on loopback an answer takes 3-4
# probes' CPU on a quiet machine (the server's handshake work, on the same cores) and up to ~20
# on a loaded one (both sides wait for a core); through 5 ms of path each way ~37, through 50 ms
# ~160. Below the bar serial chains cost at most a round trip per accepted value more, which
# is little where a round trip is a few ms.
PARALLEL_PAYS = 25.0


class Prober:
    """Opens connections and runs probes for one target, at most ``concurrency`` at a time, and
    keeps the scan honest about what it could not see: probes cut by the deadline or not made
    because the server went silent (``untested``), and answers that break the RFCs
    (``violations``, see scan/checks.py). ``anchors``: the trust anchors being loaded elsewhere
    (None: the scan loads them itself)."""

    def __init__(
        self, target: ScanTarget, anchors: Awaitable[TrustAnchors] | None = None, helper: Helper | None = None
    ) -> None:
        self.target = target
        self.route = Route(target.address)
        self.dial = Dial(
            host=target.servername or target.address,
            port=target.port,
            cap=target.max_bytes,
            starttls=target.starttls,
            servername=target.servername,
        )
        self.gate = Gate(target.concurrency)  # --max-connections, by urgency (scan/gate.py)
        self.count = 0
        self.anchors = anchors
        self.helper = helper
        self.untested: dict[str, str] = {}  # part of the scan -> why it is incomplete
        self.violations: dict[str, str] = {}  # violation id -> what the server did (the first seen)
        self.stalled: set[tuple[int, str]] = set()  # (version, key exchange) whose flight stalls
        self.unanswered: dict[int, int] = {}  # version -> probes that got no answer at all
        self.silent = False  # some part is incomplete because the server went quiet
        self.waves = Waves()  # which wave each connection ran in (the critical path, measured)
        # Chains run serially (enumerate.remove_in_blocks ``serial``): set by :meth:`pace` once
        # the version wave showed that handshakes, not round trips, are what the scan waits for.
        self.serial = False

    def time_left(self) -> float | None:
        """Seconds a probe starting now may take: the per-probe timeout, cut at the scan's
        deadline; None once the deadline is (nearly) reached."""
        if self.target.deadline is None:
            return self.target.timeout
        left = self.target.deadline - time.monotonic()
        return min(self.target.timeout, left) if left >= MIN_PROBE_TIME else None

    def helper_time(self) -> float:
        """How long a request to the helper process may take (at least half a second: the
        in-process fallback after a timeout costs about that much)."""
        left = (
            self.target.timeout if self.target.deadline is None else self.target.deadline - time.monotonic()
        )
        return max(0.5, min(self.target.timeout, left))

    def idle(self) -> bool:
        """A connection is free now: a chain may fork (enumerate.remove_in_blocks) without making
        another probe wait. At the limit, forks cost handshakes and gain no depth; so they do
        where the scan waits for our own CPU rather than for answers (:attr:`serial`)."""
        return not self.serial and not self.gate.locked()

    def pace(self, results: Sequence[ProbeResult], cpu_s: float) -> None:
        """Choose the schedule from a wave of probes run at once (the version probes) and the
        CPU time the event loop's thread spent on it: serial chains (:attr:`serial`) when even
        the fastest answer came within PARALLEL_PAYS probes' worth of our CPU. A wave where
        nothing answered leaves the default (parallel: the long-path schedule)."""
        answered = [r.elapsed_ms for r in results if r.bytes_received]
        if not answered:
            return
        per_probe_ms = 1000 * cpu_s / len(results)
        self.serial = min(answered) < PARALLEL_PAYS * per_probe_ms

    def out_of_time(self) -> bool:
        return self.time_left() is None

    def skip(self, part: str, why: str, *, silent: bool = False) -> None:
        """Mark ``part`` incomplete; ``silent``: because the server stopped answering (which,
        unlike our own deadline, is a finding about the server)."""
        self.untested.setdefault(part, why)
        self.silent |= silent

    async def open_stream(self, timeout: float) -> tuple[Stream | None, str]:
        """A connection to the target (net/route.py), with the STARTTLS preamble if any: every probe
        pays it, as each is its own connection. No stream: why not, in words."""
        obs, stream = await open_stream(self.route, self.dial, timeout)
        return stream, "" if stream is not None else obs[-1].describe()

    async def probe(
        self,
        offer: Offer,
        *,
        flight: Flight = True,
        part: str = "",
        retry_hrr: bool = False,
        decrypt: bool = False,
    ) -> ProbeResult:
        """One connection, one ClientHello (with our SNI), one deadline; nothing at all once the
        scan's deadline has passed or this version's probes go unanswered (``end`` says which).
        ``decrypt``: read a TLS 1.3 flight to its Finished (scan/probe.py run_probe)."""
        part = part or f"{version_name(offer.version)} probes"
        offer = dataclasses.replace(offer, sni=self.target.servername)
        hello = build(offer)
        wanted = self._flight(offer, flight, part)
        retry = functools.partial(_retry_hello, offer) if retry_hrr else None
        async with self.gate:
            timeout = self.time_left()
            if timeout is None:
                self.skip(part, "not tested: the scan's deadline (--max-time) ran out")
                return ProbeResult(end="deadline")
            if self.unanswered.get(offer.version, 0) >= SILENCE_LIMIT:
                name = version_name(offer.version)
                self.skip(part, f"not tested: the server stopped answering {name} hellos", silent=True)
                return ProbeResult(end="silent")
            self.count += 1
            wave = self.waves.begin()
            try:
                result = await run_probe(
                    self.open_stream, hello, timeout, flight=wanted, retry=retry, decrypt=decrypt
                )
            finally:
                self.waves.end(wave)
        self._note(offer, result, part, cut=timeout < self.target.timeout)
        return result

    async def send(self, hello: bytes, *, part: str, flight: Flight = True) -> ProbeResult:
        """One connection for a ClientHello built elsewhere (a known client's recorded hello,
        scan/clients.py): the same gate, deadline and wave count as :meth:`probe`."""
        async with self.gate:
            timeout = self.time_left()
            if timeout is None:
                self.skip(part, "not tested: the scan's deadline (--max-time) ran out")
                return ProbeResult(end="deadline")
            self.count += 1
            wave = self.waves.begin()
            try:
                return await run_probe(self.open_stream, hello, timeout, flight=flight)
            finally:
                self.waves.end(wave)

    def _flight(self, offer: Offer, flight: Flight, part: str) -> Flight:
        """``flight``, except after a ServerHello that breaks the RFCs (nothing more counts), and
        where this version and key exchange already stalled once: there the probe takes the
        ServerHello and leaves, and the part is marked incomplete."""
        version = offer.version

        def wanted(hello: ServerHello) -> bool:
            if hello_violation(offer, hello) is not None:
                return False
            want = flight(hello) if callable(flight) else flight
            if want and (version, _family(hello)) in self.stalled:
                self.skip(part, _stall_text(version, hello), silent=True)
                return False
            return want

        return wanted

    def _note(self, offer: Offer, result: ProbeResult, part: str, *, cut: bool) -> None:
        """Hold every answer to the RFCs (scan/checks.py), count silence, remember stalls."""
        found = violation(offer, result)
        if found is not None:
            vid, text = found
            self.violations.setdefault(vid, text)
            result.violation = text
            result.server_hello = result.hrr = None  # nothing it said counts (chains stop here)
            result.end = "violation"
            return
        if result.end == "timeout" and not result.answered and not cut:
            self.unanswered[offer.version] = self.unanswered.get(offer.version, 0) + 1
        if result.stalled and result.server_hello is not None:
            if cut and self.out_of_time():
                self.skip(part, "incomplete: the scan's deadline (--max-time) ran out mid-handshake")
            else:
                self.stalled.add((offer.version, _family(result.server_hello)))
                self.skip(part, _stall_text(offer.version, result.server_hello), silent=True)
        elif result.end == "timeout" and cut and self.out_of_time():
            self.skip(part, "incomplete: the scan's deadline (--max-time) ran out")


def _family(hello: ServerHello) -> str:
    info = SUITES.get(int(hello.cipher_suite))
    return info.kx if info is not None else f"0x{int(hello.cipher_suite):04X}"


def _stall_text(version: int, hello: ServerHello) -> str:
    name = version_name(version)
    return (
        f"incomplete: at {name} with {_family(hello)} suites the server sent its ServerHello and then "
        "nothing (the rest of its flight, e.g. the certificate, was not seen)"
    )


def _retry_hello(offer: Offer, hrr: ServerHello) -> bytes | None:
    """The second ClientHello for an HRR (RFC 8446 §4.1.2): the same hello with one key share, of
    the group asked for. None when it cannot be built faithfully (a cookie to echo, or a group
    we did not offer: the Prober reports that one)."""
    group = hrr.key_share_group
    if hrr.extension(ExtensionType.COOKIE) is not None or group is None:
        return None
    groups = offer.groups or TLS13_GROUPS
    if int(group) not in groups:
        return None
    return build(dataclasses.replace(offer, shares=(int(group),)))
