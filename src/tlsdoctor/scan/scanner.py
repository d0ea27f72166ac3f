"""The scan playbook: versions first (one probe each, concurrently), then every phase of
:data:`PHASES` at once: per supported version its suites by removal, groups, signature
schemes, certificates per key type and the feature probes. Everything after the version
probes depends only on which versions answered, so it all runs at once under one
concurrency gate (``--max-connections``), and the scan's critical path is the deepest of
those phases (measured per phase in ``ScanData.round_trips``, scan/waves.py).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

from tlsdoctor.scan import extras
from tlsdoctor.scan.enumerate import remove_in_blocks
from tlsdoctor.scan.gate import BACKGROUND, URGENCY
from tlsdoctor.scan.offers import VERSIONS, Offer, suite_blocks, suite_family, suites_for
from tlsdoctor.scan.probe import ProbeResult
from tlsdoctor.scan.prober import Prober, ScanTarget
from tlsdoctor.scan.result import ProtocolResult, ScanData
from tlsdoctor.scan.waves import PHASE, Waves, floor_waves
from tlsdoctor.scan.waves import to_contract as waves_contract
from tlsdoctor.scan.weaknesses import find_weaknesses
from tlsdoctor.wire.codepoints import ProtocolVersion
from tlsdoctor.wire.handshake import ServerHello
from tlsdoctor.wire.registry import SUITES
from tlsdoctor.wire.variants import SSL2_KINDS

if TYPE_CHECKING:
    from tlsdoctor.certs.trust import TrustAnchors
    from tlsdoctor.scan.clients import Answers
    from tlsdoctor.scan.helper import Helper

V = ProtocolVersion
VERSIONS_PART = "versions"  # the part of the scan the version probes are (judge.ESSENTIAL)
BACKSTOP_GRACE = 1.0  # seconds past deadline + timeout after which scan() stops waiting for probes


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
    target: ScanTarget,
    anchors: Awaitable[TrustAnchors] | None = None,
    helper: Helper | None = None,
    *,
    phases: Sequence[tuple[str, Phase]] | None = None,
    clients: bool = True,
) -> ScanData:
    """Scan one endpoint; network failures end up in the data, never as exceptions. ``anchors``:
    the trust anchors for the certificate analysis, when the caller loads them already;
    ``helper``: a process that analyses the chains (scan/helper.py). No probe starts after
    ``target.deadline``; what that left out is in ``ScanData.untested``. ``phases`` (default:
    all of :data:`PHASES`) and ``clients`` (the client simulation) run after the version wave:
    a part of the scan alone (bench/scan_parts.py times the versions and suites so), with the
    same schedule as in the whole scan; a phase's module loads when the phase runs."""
    prober = Prober(target, anchors, helper)
    data = ScanData()
    chosen = PHASES if phases is None else tuple(phases)
    # A backstop only: every probe already ends by the deadline (its stream's), so this fires only
    # if one does not (a bug); the scan then reports what it has, as cut short.
    backstop = None if target.deadline is None else target.deadline + target.timeout + BACKSTOP_GRACE
    try:
        async with asyncio.timeout_at(backstop):
            await _scan(prober, data, chosen, clients)
    except TimeoutError:
        prober.skip("scan", "cut: a probe outlived the scan's deadline; later results are missing")
    finally:
        data.handshakes = prober.count
        data.untested = dict(prober.untested)
        data.silent = prober.silent
        data.violations = dict(prober.violations)
        floor = floor_waves(_answers(data) + _others(prober.waves), target.concurrency)
        data.round_trips = waves_contract(prober.waves, floor, target.concurrency)
        data.round_trips["chains"] = "serial" if prober.serial else "parallel"  # Prober.pace's choice
    data.weaknesses = find_weaknesses(data)
    if any(name == "vulnerabilities" for name, _ in chosen):  # a part without the probes: none
        from tlsdoctor.scan.vulns import phase as vulns  # cryptography, for the probes: loaded by then

        data.vulnerabilities = vulns.complete(data)
    return data


async def _scan(
    prober: Prober, data: ScanData, phases: Sequence[tuple[str, Phase]], with_clients: bool
) -> None:
    cpu = time.thread_time()  # the event loop's own CPU (not a helper thread's): what a probe costs
    first = await asyncio.gather(
        *(
            prober.probe(Offer(version=v, suites=suites_for(v)), part=VERSIONS_PART, retry_hrr=v == V.TLS1_3)
            for _, v in VERSIONS
        )
    )
    prober.pace(first, time.thread_time() - cpu)
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
        # Every phase asks at once; the connections then go to the most urgent (scan/gate.py).
        prober.gate.pause()
        running = asyncio.gather(*(_phase(name, run, prober, supported, data) for name, run in phases))
        answers = asyncio.ensure_future(_clients(prober)) if with_clients else None
        await prober.gate.resume()
        await running
        if answers is not None:
            from tlsdoctor.scan import clients

            data.clients = clients.judge_clients(data, await answers)


async def _phase(
    name: str, run: Phase, prober: Prober, supported: dict[ProtocolVersion, ProbeResult], data: ScanData
) -> None:
    PHASE.set(name)  # this task's context: its connections count for ``name`` (scan/waves.py)
    URGENCY.set(PHASE_URGENCY.get(name, 0))
    await run(prober, supported, data)


async def _clients(prober: Prober) -> Answers:
    from tlsdoctor.scan import clients  # the client profiles (TOML) and their judge

    PHASE.set(clients.PART)
    URGENCY.set(BACKGROUND)  # one hello per client, nothing waits for them: free slots serve them
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


# The phases whose fewest connections _answers counts; the others' (one probe per client
# profile, per vulnerability test...) are counted as made: each is needed as such.
ENUMERATIONS = frozenset(
    {"versions", "cipher-suites", "groups", "signature-schemes", "certificates", "features"}
)


def _others(waves: Waves) -> int:
    return sum(p.connections for name, p in waves.phases.items() if name not in ENUMERATIONS)


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

    # Blocks side by side, forking by family while connections are free (enumerate.py): the
    # chains are the scan's longest path (TLS 1.2: ~300 candidates, often 20-60 accepted). Where
    # answers come faster than we can send hellos (Prober.pace), one chain: the fewest handshakes.
    blocks = suite_blocks(v)
    chain = await remove_in_blocks(
        offer, blocks, pick, first, family=suite_family, idle=prober.idle, serial=prober.serial
    )
    proto.suites = chain.accepted
    proto.server_order = chain.server_order
    proto.handshakes = len(chain.probes)
    dh = [
        r.key_exchange.dh_prime_bits
        for r in chain.probes
        if r.key_exchange is not None and r.key_exchange.dh_prime_bits is not None
    ]
    proto.dh_bits = min(dh) if dh else None


async def _sessions(prober: Prober, supported: dict[ProtocolVersion, ProbeResult], data: ScanData) -> None:
    from tlsdoctor.scan import sessions  # the stdlib handshakes' module: loaded when the phase runs

    await sessions.sessions(prober, supported, data)


async def _vulnerabilities(
    prober: Prober, supported: dict[ProtocolVersion, ProbeResult], data: ScanData
) -> None:
    from tlsdoctor.scan.vulns import phase  # cryptography's ciphers and x509: loaded when it runs

    await phase.probe(prober, supported, data)


# A phase: reads which versions answered (their version probes' results), probes through the
# Prober, writes its own fields of ScanData.
Phase = Callable[[Prober, dict[ProtocolVersion, ProbeResult], ScanData], Awaitable[None]]

#: Every probe phase after the version wave. They all start together, when the versions are
#: known, and share the Prober's gate (--max-connections), so a phase costs the scan only what
#: its own longest chain of dependent probes costs. A scan module hooks in by adding one entry
#: (name -> phase); the name labels its connections in ``scan.round_trips.phases``.
PHASES: tuple[tuple[str, Phase], ...] = (
    ("cipher-suites", cipher_suites),  # the longest chains first: the first to ask get connections
    ("signature-schemes", extras.schemes),
    ("groups", extras.groups),
    ("certificates", extras.certificates),
    ("features", extras.features),
    ("sessions", _sessions),
    ("vulnerabilities", _vulnerabilities),
)
# Who gets a connection first when more probes are ready than --max-connections allows (lower
# first, scan/gate.py): the suite chains are the longest path. Not the certificate probes: the
# chain's analysis follows them, so late probes would lengthen the scan. Unnamed phases: 0.
PHASE_URGENCY = {"cipher-suites": -1}
