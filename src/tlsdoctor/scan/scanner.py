"""The scan playbook: versions first (one probe each, concurrently), then every phase of
:data:`PHASES` at once: per supported version its suites by removal, groups, signature
schemes, certificates per key type and the feature probes. Everything after the version
probes depends only on which versions answered, so it all runs at once under one
concurrency gate (``--max-connections``), and the scan's critical path is the deepest of
those phases (measured per phase in ``ScanData.round_trips``, scan/waves.py).
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from tlsdoctor.net.stream import Stream
from tlsdoctor.net.tcp import open_tcp
from tlsdoctor.scan import clients, extras, sessions
from tlsdoctor.scan.checks import hello_violation, violation
from tlsdoctor.scan.enumerate import remove_in_blocks
from tlsdoctor.scan.offers import TLS13_GROUPS, VERSION_NAME, VERSIONS, Offer, build, suite_blocks, suites_for
from tlsdoctor.scan.probe import Flight, ProbeResult, run_probe
from tlsdoctor.scan.result import ProtocolResult, ScanData
from tlsdoctor.scan.vulns import phase as vulns
from tlsdoctor.scan.waves import PHASE, Waves, floor_waves
from tlsdoctor.scan.waves import to_contract as waves_contract
from tlsdoctor.scan.weaknesses import find_weaknesses
from tlsdoctor.wire.codepoints import ExtensionType, ProtocolVersion
from tlsdoctor.wire.handshake import ServerHello
from tlsdoctor.wire.registry import SUITES
from tlsdoctor.wire.variants import SSL2_KINDS

if TYPE_CHECKING:
    from tlsdoctor.certs.trust import TrustAnchors
    from tlsdoctor.scan.helper import Helper

V = ProtocolVersion


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
VERSIONS_PART = "versions"  # the part of the scan the version probes are (judge.ESSENTIAL)
MIN_PROBE_TIME = 0.05  # below this much time left a probe is not started
BACKSTOP_GRACE = 1.0  # seconds past deadline + timeout after which scan() stops waiting for probes


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
        self.gate = asyncio.Semaphore(target.concurrency)
        self.count = 0
        self.anchors = anchors
        self.helper = helper
        self.untested: dict[str, str] = {}  # part of the scan -> why it is incomplete
        self.violations: dict[str, str] = {}  # violation id -> what the server did (the first seen)
        self.stalled: set[tuple[int, str]] = set()  # (version, key exchange) whose flight stalls
        self.unanswered: dict[int, int] = {}  # version -> probes that got no answer at all
        self.silent = False  # some part is incomplete because the server went quiet
        self.waves = Waves()  # which wave each connection ran in (the critical path, measured)

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

    def out_of_time(self) -> bool:
        return self.time_left() is None

    def skip(self, part: str, why: str, *, silent: bool = False) -> None:
        """Mark ``part`` incomplete; ``silent``: because the server stopped answering (which,
        unlike our own deadline, is a finding about the server)."""
        self.untested.setdefault(part, why)
        self.silent |= silent

    async def open_stream(self, timeout: float) -> tuple[Stream | None, str]:
        tcp, sock = await open_tcp(self.target.address, self.target.port, timeout)
        if sock is None:
            return None, tcp.describe()
        stream = Stream(sock, time.monotonic() + timeout, self.target.max_bytes)
        if self.target.starttls:  # every probe pays the preamble: each is its own connection
            from tlsdoctor.net.starttls import upgrade

            result = await upgrade(stream, self.target.starttls, self.target.servername)
            if not result.ready:
                stream.close()
                return None, result.describe()
        return stream, ""

    async def probe(
        self, offer: Offer, *, flight: Flight = True, part: str = "", retry_hrr: bool = False
    ) -> ProbeResult:
        """One connection, one ClientHello (with our SNI), one deadline; nothing at all once the
        scan's deadline has passed or this version's probes go unanswered (``end`` says which)."""
        part = part or f"{VERSION_NAME.get(offer.version, offer.version)} probes"
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
                name = VERSION_NAME.get(offer.version, str(offer.version))
                self.skip(part, f"not tested: the server stopped answering {name} hellos", silent=True)
                return ProbeResult(end="silent")
            self.count += 1
            wave = self.waves.begin()
            try:
                result = await run_probe(self.open_stream, hello, timeout, flight=wanted, retry=retry)
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
    name = VERSION_NAME.get(ProtocolVersion(version), str(version))
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


def selected(result: ProbeResult, version: ProtocolVersion) -> bool:
    """The server chose ``version`` (RFC 8446 §4.2.1: supported_versions wins; HRR counts)."""
    chosen = result.chosen
    return chosen is not None and chosen.selected_version == version


def usable(result: ProbeResult, version: ProtocolVersion) -> bool:
    """A version probe that a client could go on from: the server chose ``version`` without
    breaking the RFCs and sent its whole first flight (TLS 1.3: up to its first encrypted record;
    an HRR that the server then honoured, if it sent one)."""
    return (
        selected(result, version)
        and not result.stalled
        and not result.violation
        and not _retry_unanswered(result)
    )


def _retry_unanswered(result: ProbeResult) -> bool:
    """The server asked for a second ClientHello (HRR), got it, and then sent no ServerHello: it
    closed, reset or went quiet, so no client can finish there (RFC 8446 §4.1.4)."""
    return result.retried is not None and result.server_hello is None and not result.hrr_again


async def scan(
    target: ScanTarget, anchors: Awaitable[TrustAnchors] | None = None, helper: Helper | None = None
) -> ScanData:
    """Scan one endpoint; network failures end up in the data, never as exceptions. ``anchors``:
    the trust anchors for the certificate analysis, when the caller loads them already;
    ``helper``: a process that analyses the chains (scan/helper.py). No probe starts after
    ``target.deadline``; what that left out is in ``ScanData.untested``."""
    prober = Prober(target, anchors, helper)
    data = ScanData()
    # A backstop only: every probe already ends by the deadline (its stream's), so this fires only
    # if one does not (a bug); the scan then reports what it has, as cut short.
    backstop = None if target.deadline is None else target.deadline + target.timeout + BACKSTOP_GRACE
    try:
        async with asyncio.timeout_at(backstop):
            await _scan(prober, data)
    except TimeoutError:
        prober.skip("scan", "cut: a probe outlived the scan's deadline; later results are missing")
    finally:
        data.handshakes = prober.count
        data.untested = dict(prober.untested)
        data.silent = prober.silent
        data.violations = dict(prober.violations)
        floor = floor_waves(_answers(data), target.concurrency)
        data.round_trips = waves_contract(prober.waves, floor, target.concurrency)
    data.weaknesses = find_weaknesses(data)
    data.vulnerabilities = vulns.complete(data)
    return data


async def _scan(prober: Prober, data: ScanData) -> None:
    first = await asyncio.gather(
        *(
            prober.probe(Offer(version=v, suites=suites_for(v)), part=VERSIONS_PART, retry_hrr=v == V.TLS1_3)
            for _, v in VERSIONS
        )
    )
    supported: dict[ProtocolVersion, ProbeResult] = {}
    for (name, v), result in zip(VERSIONS, first, strict=True):
        ok = _sslv2_ok(result) if v == V.SSL2 else usable(result, v)
        if ok:
            supported[v] = result
        data.protocols.append(
            ProtocolResult(
                version=name,
                supported=ok,
                tested=len(SSL2_KINDS) if v == V.SSL2 else len(suites_for(v)),
                handshakes=1,
                ended=f"{result.end}: {result.alert}" if result.alert is not None else result.end,
                unusable=_unusable(result, v) if not ok else "",
            )
        )
    if supported:
        # The known clients' hellos go out with the phases; judging them needs the phases' findings.
        answers = asyncio.ensure_future(_clients(prober))
        await asyncio.gather(*(_phase(name, run, prober, supported, data) for name, run in PHASES))
        data.clients = clients.judge_clients(data, await answers)


async def _phase(
    name: str, run: Phase, prober: Prober, supported: dict[ProtocolVersion, ProbeResult], data: ScanData
) -> None:
    PHASE.set(name)  # this task's context: its connections count for ``name`` (scan/waves.py)
    await run(prober, supported, data)


async def _clients(prober: Prober) -> clients.Answers:
    PHASE.set(clients.PART)
    return await clients.probe_clients(prober)


def _answers(data: ScanData) -> int:
    """The distinct answers the report holds after the version wave (scan/waves.py floor_waves):
    each accepted suite, group, scheme, ALPN protocol and chain needs one ServerHello naming it
    (a version probe named a version's first suite), and each list one answer naming nothing."""
    n = sum(len(p.suites) for p in data.supported() if p.version != "SSLv2")
    n += len(data.groups) + 1 if data.groups else 0
    n += len(data.schemes) + 1 if data.schemes else 0
    n += len(data.certificates)
    alpn = data.features.get("alpn")
    n += len(alpn) + 1 if isinstance(alpn, list) else 0
    return n


def _unusable(result: ProbeResult, version: ProtocolVersion) -> str:
    """Why a version the server answered is still not supported (empty when it did not answer)."""
    if result.violation:
        return result.violation
    if _retry_unanswered(result):
        return (
            f"the server asked for a second ClientHello (HelloRetryRequest), then ended with "
            f"'{result.end}' instead of a ServerHello: no client can finish the handshake"
        )
    if result.stalled and selected(result, version):
        return (
            "the server sent its ServerHello, then nothing until the timeout: no client can finish the "
            "handshake (if the server is fine, its larger packets may be lost on the way: try "
            "'tlsdoctor diagnose')"
        )
    return ""


async def cipher_suites(
    prober: Prober, supported: dict[ProtocolVersion, ProbeResult], data: ScanData
) -> None:
    """Every supported version's suites, each version's enumeration at once."""
    await asyncio.gather(
        *(
            _suites(prober, p, supported[v])
            for p, (_, v) in zip(data.protocols, VERSIONS, strict=True)
            if v in supported
        )
    )


def _dhe(hello: ServerHello) -> bool:
    """Read on past the ServerHello only for a DHE suite: its ServerKeyExchange has the prime."""
    info = SUITES.get(int(hello.cipher_suite))
    return info is not None and info.kx == "DHE"


def _sslv2_ok(result: ProbeResult) -> bool:
    hello = result.sslv2.server_hello if result.sslv2 is not None else None
    return hello is not None and bool(hello.cipher_specs)


async def _suites(prober: Prober, proto: ProtocolResult, first: ProbeResult) -> None:
    """Every suite of one version by removal, then whose order counts."""
    v = dict((n, ver) for n, ver in VERSIONS)[proto.version]
    if v == V.SSL2:  # the SERVER-HELLO lists every kind the server shares with us
        assert first.sslv2 is not None and first.sslv2.server_hello is not None
        proto.suites = list(first.sslv2.server_hello.cipher_specs)
        return

    async def offer(suites: tuple[int, ...]) -> ProbeResult:
        return await prober.probe(
            Offer(version=v, suites=suites), flight=_dhe, part=f"{proto.version} suites"
        )

    def pick(result: ProbeResult) -> int | None:
        return int(result.chosen.cipher_suite) if result.chosen is not None and selected(result, v) else None

    # Blocks where the chain is the scan's longest path (TLS 1.2: ~300 candidates, often 20-40
    # accepted); elsewhere one chain costs fewer handshakes, and handshakes are the client's CPU.
    blocks = suite_blocks(v) if v == V.TLS1_2 else (suites_for(v),)
    chain = await remove_in_blocks(offer, blocks, pick, first)
    proto.suites = chain.accepted
    proto.server_order = chain.server_order
    proto.handshakes = len(chain.probes)
    dh = [
        r.key_exchange.dh_prime_bits
        for r in chain.probes
        if r.key_exchange is not None and r.key_exchange.dh_prime_bits is not None
    ]
    proto.dh_bits = min(dh) if dh else None


# A phase: reads which versions answered (their version probes' results), probes through the
# Prober, writes its own fields of ScanData.
Phase = Callable[[Prober, dict[ProtocolVersion, ProbeResult], ScanData], Awaitable[None]]

#: Every probe phase after the version wave. They all start together, when the versions are
#: known, and share the Prober's gate (--max-connections), so a phase costs the scan only what
#: its own longest chain of dependent probes costs. A scan module hooks in by adding one entry
#: (name -> phase); the name labels its connections in ``scan.round_trips.phases``.
PHASES: tuple[tuple[str, Phase], ...] = (
    ("cipher-suites", cipher_suites),
    ("groups", extras.groups),
    ("signature-schemes", extras.schemes),
    ("certificates", extras.certificates),
    ("features", extras.features),
    ("sessions", sessions.sessions),
    ("vulnerabilities", vulns.probe),
)
