"""What the server accepts, asked of it directly, when every handshake variant failed alike.

The variants change the client's policy one axis at a time; when all of them end the same way
(every one refused with handshake_failure, say) they have not separated the causes. The scan
engine (scan/) then asks the server: which versions, TLS 1.3 and 1.2 suites, groups and signature
schemes it accepts, bounded in time (one --timeout in all) and connections (4 at once). The
client's side is its own ClientHello, built in memory from the default context and parsed: what
this client really offers, not a table of what OpenSSL might.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import ssl

from tlsdoctor.checks.handshake import DEFAULT, build_context
from tlsdoctor.context import Context
from tlsdoctor.model import CheckResult, Status
from tlsdoctor.net.route import Route
from tlsdoctor.observations.tls import AcceptScan
from tlsdoctor.scan import extras
from tlsdoctor.scan.enumerate import remove_chosen
from tlsdoctor.scan.offers import Offer, suites_for
from tlsdoctor.scan.probe import ProbeResult
from tlsdoctor.scan.prober import Prober, ScanTarget
from tlsdoctor.scan.result import ScanData
from tlsdoctor.scan.scanner import selected
from tlsdoctor.wire.codepoints import ProtocolVersion
from tlsdoctor.wire.extensions import SignatureAlgorithms, SupportedGroups, SupportedVersions
from tlsdoctor.wire.handshake import ClientHello, parse_client_hello
from tlsdoctor.wire.reader import DecodeError
from tlsdoctor.wire.registry import group_name, scheme_name, suite_name, version_name

V = ProtocolVersion
ASKED = (V.TLS1_3, V.TLS1_2, V.TLS1_1, V.TLS1_0)
CONCURRENCY = 4


def client_hello(context: ssl.SSLContext, servername: str | None) -> ClientHello | None:
    """The ClientHello ``context`` sends, built in memory (no connection) and parsed."""
    obj = context.wrap_bio(ssl.MemoryBIO(), out := ssl.MemoryBIO(), server_hostname=servername)
    with contextlib.suppress(ssl.SSLError):  # it wants the server's answer: the hello is written
        obj.do_handshake()
    data = out.read()
    if len(data) < 9 or data[0] != 22 or data[5] != 1:
        return None
    try:
        return parse_client_hello(data[9 : 9 + int.from_bytes(data[6:9], "big")])
    except DecodeError:
        return None


def offered(hello: ClientHello) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """(versions, suites, groups, schemes) a ClientHello offers, by name."""
    sv = hello.extension(0x002B)
    versions = sv.versions if isinstance(sv, SupportedVersions) else (hello.legacy_version,)
    groups = hello.extension(0x000A)
    schemes = hello.extension(0x000D)
    return (
        tuple(version_name(v) for v in versions if V(int(v)).known),
        tuple(suite_name(int(c)) for c in hello.cipher_suites),
        tuple(group_name(int(g)) for g in groups.groups) if isinstance(groups, SupportedGroups) else (),
        tuple(scheme_name(int(s)) for s in schemes.schemes)
        if isinstance(schemes, SignatureAlgorithms)
        else (),
    )


@dataclasses.dataclass(frozen=True, slots=True)
class AcceptCheck:
    """A bounded scan of what the server accepts, for the decision table to name the mismatch."""

    route: Route
    id: str = "server.accepts"
    layer: str = "tls"

    def budget(self, ctx: Context) -> float:
        return ctx.timeout + 1.0

    async def run(self, ctx: Context) -> CheckResult:
        opts = ctx.options
        target = ScanTarget(
            address=self.route.address,
            port=opts.port,
            servername=ctx.servername,
            verify_name=ctx.verify_name,
            timeout=min(ctx.timeout, 2.0),
            concurrency=CONCURRENCY,
            starttls=opts.starttls,
        )
        prober = Prober(target)
        found = _Found()
        complete = True
        try:
            async with asyncio.timeout(ctx.timeout):
                await _ask(prober, found)
        except TimeoutError:
            complete = False
        hello = client_hello(build_context(ctx, DEFAULT), ctx.servername)
        mine = offered(hello) if hello is not None else ((), (), (), ())
        obs = AcceptScan(
            versions=tuple(version_name(v) for v in ASKED if v in found.versions),
            suites13=tuple(suite_name(c) for c in found.suites13),
            suites12=tuple(suite_name(c) for c in found.suites12),
            groups=tuple(group_name(g) for g in found.data.groups),
            schemes=tuple(scheme_name(s) for s in found.data.schemes),
            client_versions=mine[0],
            client_suites=mine[1],
            client_groups=mine[2],
            client_schemes=mine[3],
            version_ends=tuple(found.ends),
            handshakes=prober.count,
            complete=complete,
        )
        return CheckResult(
            id=self.id,
            status=Status.PASS if obs.versions else Status.FAIL,
            summary=obs.describe(),
            observations=(obs,),
        )


@dataclasses.dataclass(slots=True)
class _Found:
    versions: dict[ProtocolVersion, ProbeResult] = dataclasses.field(default_factory=dict)
    ends: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    suites13: list[int] = dataclasses.field(default_factory=list)
    suites12: list[int] = dataclasses.field(default_factory=list)
    data: ScanData = dataclasses.field(default_factory=ScanData)


async def _ask(prober: Prober, found: _Found) -> None:
    """Versions first (all at once), then per supported version its suites, and groups and schemes."""
    firsts = await asyncio.gather(*(prober.probe(Offer(version=v, suites=suites_for(v))) for v in ASKED))
    for v, result in zip(ASKED, firsts, strict=True):
        if selected(result, v):
            found.versions[v] = result
        else:
            found.ends.append((version_name(v), result.end))
    if not found.versions:
        return

    async def suites(v: ProtocolVersion, into: list[int]) -> None:
        async def offer(cs: tuple[int, ...]) -> ProbeResult:
            return await prober.probe(Offer(version=v, suites=cs), flight=False)

        def pick(r: ProbeResult) -> int | None:
            return int(r.chosen.cipher_suite) if r.chosen is not None and selected(r, v) else None

        into += (await remove_chosen(offer, suites_for(v), pick, found.versions[v])).accepted

    jobs = [
        extras.groups(prober, found.versions, found.data),
        extras.schemes(prober, found.versions, found.data),
    ]
    if V.TLS1_3 in found.versions:
        jobs.append(suites(V.TLS1_3, found.suites13))
    if V.TLS1_2 in found.versions:
        jobs.append(suites(V.TLS1_2, found.suites12))
    await asyncio.gather(*jobs)
