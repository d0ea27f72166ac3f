"""The scan playbook: versions first (one probe each, concurrently), then per supported
version its suites by removal, and alongside them groups, signature schemes, certificates
per key type and the feature probes. Everything after the version probes depends only on
which versions answered, so it all runs at once under one concurrency gate.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Awaitable
from typing import TYPE_CHECKING

from tlsdoctor.net.stream import Stream
from tlsdoctor.net.tcp import open_tcp
from tlsdoctor.scan import extras
from tlsdoctor.scan.enumerate import remove_in_blocks
from tlsdoctor.scan.offers import VERSIONS, Offer, build, suite_blocks, suites_for
from tlsdoctor.scan.probe import Flight, ProbeResult, run_probe
from tlsdoctor.scan.result import ProtocolResult, ScanData
from tlsdoctor.scan.weaknesses import find_weaknesses
from tlsdoctor.wire.codepoints import ProtocolVersion
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


class Prober:
    """Opens connections and runs probes for one target, at most ``concurrency`` at a time.
    ``anchors``: the trust anchors being loaded elsewhere (None: the scan loads them itself)."""

    def __init__(
        self, target: ScanTarget, anchors: Awaitable[TrustAnchors] | None = None, helper: Helper | None = None
    ) -> None:
        self.target = target
        self.gate = asyncio.Semaphore(target.concurrency)
        self.count = 0
        self.anchors = anchors
        self.helper = helper

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

    async def probe(self, offer: Offer, *, flight: Flight = True) -> ProbeResult:
        """One connection, one ClientHello (with our SNI), one deadline."""
        hello = build(dataclasses.replace(offer, sni=self.target.servername))
        async with self.gate:
            self.count += 1
            return await run_probe(self.open_stream, hello, self.target.timeout, flight=flight)


def selected(result: ProbeResult, version: ProtocolVersion) -> bool:
    """The server chose ``version`` (RFC 8446 §4.2.1: supported_versions wins; HRR counts)."""
    chosen = result.chosen
    return chosen is not None and chosen.selected_version == version


async def scan(
    target: ScanTarget, anchors: Awaitable[TrustAnchors] | None = None, helper: Helper | None = None
) -> ScanData:
    """Scan one endpoint; network failures end up in the data, never as exceptions. ``anchors``:
    the trust anchors for the certificate analysis, when the caller loads them already;
    ``helper``: a process that analyses the chains (scan/helper.py)."""
    prober = Prober(target, anchors, helper)
    first = await asyncio.gather(*(prober.probe(Offer(version=v, suites=suites_for(v))) for _, v in VERSIONS))
    data = ScanData()
    supported: dict[ProtocolVersion, ProbeResult] = {}
    for (name, v), result in zip(VERSIONS, first, strict=True):
        ok = _sslv2_ok(result) if v == V.SSL2 else selected(result, v)
        if ok:
            supported[v] = result
        data.protocols.append(
            ProtocolResult(
                version=name,
                supported=ok,
                tested=len(SSL2_KINDS) if v == V.SSL2 else len(suites_for(v)),
                handshakes=1,
                ended=result.end,
            )
        )
    if supported:
        await asyncio.gather(
            *(
                _suites(prober, p, supported[v])
                for p, (_, v) in zip(data.protocols, VERSIONS, strict=True)
                if v in supported
            ),
            extras.groups(prober, supported, data),
            extras.schemes(prober, supported, data),
            extras.certificates(prober, supported, data),
            extras.features(prober, supported, data),
        )
    data.weaknesses = find_weaknesses(data)
    data.handshakes = prober.count
    return data


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
        return await prober.probe(Offer(version=v, suites=suites), flight=_dhe)

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
