"""The hello matrix: crafted ClientHellos that differ in one property each, sent concurrently.

Python's ssl sends one hello shape (OpenSSL's, padded to 512 bytes). Middleboxes and servers fail on
shapes: a post-quantum key share makes a browser's hello ~1.8 KB and two TCP segments, which boxes
that inspect only the first segment reset ("curl works, Chrome fails"); a hello of 256-511 bytes
hangs some F5 BIG-IP versions (RFC 7685 §1); a DPI box resets a hello that names a blocked host but
passes the same hello naming another. Which shapes are answered and which die is the evidence
(inference/rules/matrix.py reads it); each probe records its end, bytes and milliseconds.

Two checks, so diagnose can cancel what a working default handshake makes moot: ``hello.size`` (SIZE:
the control and the post-quantum hello, two connections) runs on every diagnosis; ``hello.matrix``
(MATRIX, ten more) only while the default fails. Every probe of a check shares one deadline: the matrix
costs one timeout, not one per probe.

The codec (wire/) is imported with this module, which diagnose imports before the default handshake
starts. Measured on loopback, that is cheaper than importing it in a thread (GIL hand-offs) or inside a
probe (the blocked event loop would also inflate the default handshake's measured timings). For the same
reason a check's hello bytes (fresh key shares: milliseconds of EC and ML-KEM work) can be built before
any probe's clock starts (:meth:`HelloCheck.prepared`): diagnose does so for hello.size, which runs
beside the default handshake, whose connect time decides whether the load ramp runs.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import secrets
import ssl
import time
from collections.abc import Sequence

from tlsdoctor.context import Context
from tlsdoctor.model import CheckResult, Status
from tlsdoctor.net.exchange import exchange
from tlsdoctor.net.route import Route, open_stream
from tlsdoctor.net.tcp import tcp_info
from tlsdoctor.observations.hello import HelloEnd, HelloProbe, reproduced
from tlsdoctor.wire.hello import F5_RANGE, HelloSpec, build_client_hello
from tlsdoctor.wire.http import build_request
from tlsdoctor.wire.registry import group_name
from tlsdoctor.wire.sniff import sniff
from tlsdoctor.wire.variants import VARIANTS

PROBE_CAP = 64 * 1024  # a ServerHello is the first message; nothing decisive needs more bytes
CONFIRM_RUNS = 2  # re-runs of a size-dependent death before it counts (HelloCheck._confirm)
HTTP_GRACE_S = 0.5  # the HTTP probe's time after every hello died (see HelloCheck._gather)
# The large hello is suspect when still silent this many times later than the control's answer (within
# the bounds): a loss-free path answers both within a round trip or two. See HelloCheck._confirm_early.
SUSPECT_FACTOR, SUSPECT_MIN_S, SUSPECT_MAX_S = 4.0, 0.5, 1.5
NEUTRAL_NAMES = ("www.example.com", "www.example.org")  # RFC 2606 §3: reserved, unrelated to any target


@dataclasses.dataclass(frozen=True, slots=True)
class Probe:
    """One row of the matrix: the hello shape (a name in wire/variants.py; None: a plain HTTP request)
    and the SNI it carries."""

    name: str
    shape: str | None
    sni_role: str  # "target" | "none" | "neutral" | "random"
    why: str


# Started with the default handshake and kept even when it succeeds: the size browsers send and it does not.
SIZE: tuple[Probe, ...] = (
    Probe("modern", "modern", "target", "a typical TLS 1.3 hello (512 B): the control"),
    Probe("pq-large", "pq-large", "target", "browser-like, X25519MLKEM768 share, ~1.8 KB, 2 segments"),
)
# Started after the default's head start; cancelled when the default handshake succeeds.
MATRIX: tuple[Probe, ...] = (
    Probe("minimal", "minimal", "target", "under 200 B: passes any size limit"),
    Probe("padded-300", "padded-300", "target", "inside 256-511 B (the F5 range); the others are out"),
    Probe("sni-none", "modern", "none", "the control without SNI"),
    Probe("sni-neutral", "modern", "neutral", "the control naming www.example.com"),
    Probe("sni-random", "modern", "random", "the control naming a random .invalid host"),
    Probe("tls1.3", "tls1.3", "target", "only TLS 1.3"),
    Probe("tls1.2", "tls1.2", "target", "TLS 1.2 without supported_versions"),
    Probe("tls1.1", "tls1.1", "target", "TLS 1.1, legacy CBC suites"),
    Probe("tls1.0", "tls1.0", "target", "TLS 1.0, legacy CBC suites"),
    Probe("http", None, "target", "HEAD / HTTP/1.1: does the port speak HTTP when TLS dies"),
)


@functools.cache
def default_suites() -> frozenset[int]:
    """The suites the default client offers: Python's default list, as checks/handshake.py leaves it."""
    return frozenset(int(c["id"]) & 0xFFFF for c in ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).get_ciphers())


def sni_for(role: str, target: str | None) -> str | None:
    """The SNI a probe sends for its role (RFC 6066 §3; .invalid is reserved by RFC 6761 §6.4)."""
    if role == "target":
        return target
    if role == "neutral":
        return next(n for n in NEUTRAL_NAMES if n != target)
    if role == "random":
        return f"tlsdoctor-{secrets.token_hex(5)}.invalid"
    return None


def hello_bytes(shape: HelloSpec, sni: str | None) -> bytes | None:
    """The record bytes for a shape and SNI; None when a padded shape cannot stay in its range."""
    spec = dataclasses.replace(shape, sni=sni)
    if spec.padding_target is None:
        return build_client_hello(spec)
    for target in (spec.padding_target, F5_RANGE.stop - 12, F5_RANGE.stop - 1):  # a long name needs room
        try:
            return build_client_hello(dataclasses.replace(spec, padding_target=target))
        except ValueError:
            continue
    return None


def http_request(host: str) -> bytes:
    """A minimal HEAD request (RFC 9110 §9.3.2; Host is mandatory in HTTP/1.1, RFC 9112 §3.2)."""
    return build_request("HEAD", "/", host, accept=True)


@dataclasses.dataclass(frozen=True, slots=True)
class Payload:
    """What one probe sends: its SNI and its bytes (None: a padded shape that this name cannot fit)."""

    sni: str | None
    data: bytes | None


def payload_for(ctx: Context, route: Route, probe: Probe) -> Payload:
    """The probe's bytes for this target: a hello with fresh key shares, or the HTTP request."""
    sni = sni_for(probe.sni_role, ctx.servername)
    if probe.shape is None:
        host = ctx.servername or (f"[{route.address}]" if ":" in route.address else route.address)
        return Payload(sni, http_request(host))
    return Payload(sni, hello_bytes(VARIANTS[probe.shape], sni))


async def run_probe(
    ctx: Context, route: Route, probe: Probe, payload: Payload, deadline: float
) -> HelloProbe:
    """Connect, send the probe's payload, read until the answer is decided or the deadline; never raises
    for I/O."""
    sni = payload.sni
    base = HelloProbe(
        probe=probe.name,
        shape=probe.shape or "http",
        address=route.address,
        port=ctx.options.port,
        sni=sni,
        sni_role=probe.sni_role,
        hello_bytes=len(payload.data or b""),
        end=HelloEnd.ERROR,
    )
    if payload.data is None:
        return dataclasses.replace(base, error="this name leaves no room to pad the hello into 256-511 bytes")
    start = time.monotonic()
    obs, stream = await open_stream(route, ctx.dial, max(0.0, deadline - start))
    connect_ms = (time.monotonic() - start) * 1000
    if stream is None:
        return dataclasses.replace(
            base, end=HelloEnd.CONNECT_FAILED, connect_ms=connect_ms, error=obs[-1].describe()
        )
    stream.deadline, stream.cap = deadline, min(PROBE_CAP, ctx.limits.max_read_bytes)
    try:
        t = await exchange(stream, payload.data)
        # Loss on this very connection (a sign that makes diagnose look at the path's stability); through
        # a proxy the counters would describe the proxy's connection, not the path to the target.
        retrans, _rtt, ooo = tcp_info(stream.sock) if route.proxy is None else (0, 0.0, 0)
    finally:
        stream.close()
    sh = t.server_hello
    suite = int(sh.cipher_suite) if sh is not None and not sh.is_hrr else None
    share = sh.key_share_group if suite is not None and sh is not None else None
    return dataclasses.replace(
        base,
        end=t.end,
        alert=t.alert,
        version=str(sh.selected_version) if sh is not None else None,
        cipher=sh.cipher_suite.name if suite is not None and sh is not None else None,
        group=group_name(share) if share is not None else None,  # the Verified block's key exchange
        default_offers_cipher=None if suite is None else suite in default_suites(),
        bytes_received=t.bytes_received,
        elapsed_ms=t.elapsed_ms,
        connect_ms=connect_ms,
        first_bytes=t.first_bytes if t.end is not HelloEnd.SERVER_HELLO else b"",
        sniffed=sniff(t.first_bytes).protocol if t.end is HelloEnd.NOT_TLS else None,
        error=t.error,
        retransmits=retrans,
        reordered=ooo,
    )


def status_for(probes: Sequence[HelloProbe], *, size_only: bool = False) -> Status:
    """FAIL when the answer depends on the shape: some hellos answered in TLS, others died, stalled or got
    another protocol (the faults this matrix exists for); WARN when no hello was answered (the handshake
    checks tell that story); PASS otherwise (an alert to a legacy version or a random name is normal).

    ``size_only`` (hello.size, which runs on every diagnosis): FAIL only for a size-dependent death, the
    pattern rules/matrix.py names clienthello-too-large; any other oddity is a WARN, so one lost probe
    never turns a working endpoint into an unexplained failure.
    """
    tls = [p for p in probes if p.is_tls and p.ran]
    bad = [p for p in tls if not p.answered]
    if bad and len(bad) < len(tls) and (not size_only or size_dependent(tls)):
        return Status.FAIL
    return Status.WARN if bad or not tls else Status.PASS


def size_dependent(probes: Sequence[HelloProbe]) -> bool:
    """pq-large died and every hello that died is larger than every one answered; or padded-300 (in the
    256-511 byte range) died while minimal (below it) and modern (above it) were answered."""
    by: dict[str, HelloProbe] = {}
    for p in probes:
        by.setdefault(p.probe, p)  # the first run; re-runs only confirm (see reproduced)
    sized = [by[n] for n in ("minimal", "modern", "pq-large") if n in by]
    alive, dead = [p for p in sized if p.answered], [p for p in sized if p.died]
    pq, f5 = by.get("pq-large"), by.get("padded-300")
    largest_alive = max((p.hello_bytes for p in alive), default=0)
    if pq is not None and pq.died and alive and min(p.hello_bytes for p in dead) > largest_alive:
        small = max(alive, key=lambda p: p.hello_bytes)
        return reproduced(probes, pq.probe, small.probe)
    neighbours = [by.get("minimal"), by.get("modern")]
    return f5 is not None and f5.died and all(n is not None and n.answered for n in neighbours)


def summary_for(probes: Sequence[HelloProbe]) -> str:
    """One line: each probe's size and end."""

    def one(p: HelloProbe) -> str:
        end = f"{p.end.value} {p.alert}" if p.end is HelloEnd.ALERT else p.end.value
        size = f" {p.hello_bytes} B" if p.is_tls else ""
        return f"{p.probe}{size}: {end}"

    return "; ".join(one(p) for p in probes)


@dataclasses.dataclass(frozen=True, slots=True)
class HelloCheck:
    """A set of matrix probes along one route, all concurrent, under one deadline."""

    check_id: str
    probes: tuple[Probe, ...]
    route: Route
    size_only: bool = False  # see status_for
    layer: str = "tls"
    payloads: tuple[Payload, ...] | None = None  # one per probe, built ahead (see prepared)

    @property
    def id(self) -> str:
        return self.check_id

    def budget(self, ctx: Context) -> float:
        # The first run (one timeout, two through a proxy), then the confirmation re-runs: started early
        # (see _confirm) they end at most SUSPECT_MAX_S + one timeout after the first run started.
        first = ctx.timeout * (2 if self.route.proxy else 1)
        confirm = min(SUSPECT_MAX_S, first) + ctx.timeout if self.size_only else 0.0
        return max(first, confirm) + 1.0

    def prepared(self, ctx: Context) -> HelloCheck:
        """This check with its bytes built now, so that building them (a few milliseconds on the event
        loop) cannot fall inside the timed window of a probe that is already running."""
        return dataclasses.replace(self, payloads=tuple(payload_for(ctx, self.route, p) for p in self.probes))

    async def run(self, ctx: Context) -> CheckResult:
        payloads = self.payloads or self.prepared(ctx).payloads or ()
        by_name = {p.name: data for p, data in zip(self.probes, payloads, strict=True)}
        deadline = time.monotonic() + ctx.timeout * (2 if self.route.proxy else 1)
        tasks = {
            p.name: asyncio.create_task(run_probe(ctx, self.route, p, by_name[p.name], deadline))
            for p in self.probes
        }
        again: list[asyncio.Task[HelloProbe]] = []
        try:
            if self.size_only:
                again = await self._confirm_early(ctx, tasks, by_name)
            results = await self._gather(tasks)
            if self.size_only and size_dependent(results):
                if not again:  # the pattern showed only at the end (a slow reset): confirm it now
                    again = self._rerun(ctx, results, by_name)
                done = await asyncio.gather(*again, return_exceptions=True)
                results += [r for r in done if isinstance(r, HelloProbe)]
        finally:
            for task in [*tasks.values(), *again]:
                task.cancel()
            await asyncio.gather(*tasks.values(), *again, return_exceptions=True)
        status = status_for(results, size_only=self.size_only)
        return CheckResult(
            id=self.id, status=status, summary=summary_for(results), observations=tuple(results)
        )

    async def _confirm_early(
        self, ctx: Context, tasks: dict[str, asyncio.Task[HelloProbe]], payloads: dict[str, Payload]
    ) -> list[asyncio.Task[HelloProbe]]:
        """Start the confirmation re-runs as soon as the first run looks size-dependent, without waiting
        for its end: the control answered, and the large hello died or is still silent SUSPECT_FACTOR
        times later than the control's answer (at least SUSPECT_MIN_S, at most SUSPECT_MAX_S).

        A box that silently drops large hellos makes the large probe last its whole deadline; re-running
        it only then would cost a second timeout (and, at the default 5 s, outlive the check's deadline,
        losing the evidence). Started early, the re-runs end about when the first run does. When the large
        hello answers after all, the speculative re-runs are cancelled: a healthy endpoint never pays.
        """
        small, large = tasks.get("modern"), tasks.get("pq-large")
        if small is None or large is None:
            return []
        start = time.monotonic()
        await asyncio.wait({small}, timeout=max(0.0, ctx.timeout - SUSPECT_MIN_S))
        if not small.done() or small.exception() is not None or not small.result().answered:
            return []
        control = small.result()
        wait = min(SUSPECT_MAX_S, max(SUSPECT_MIN_S, SUSPECT_FACTOR * (time.monotonic() - start)))
        await asyncio.wait({large}, timeout=wait)
        if large.done() and (large.exception() is not None or not large.result().died):
            return []  # answered (or a bug, which _gather reports): nothing to confirm
        return self._rerun(ctx, [control], payloads)

    def _rerun(
        self, ctx: Context, first: Sequence[HelloProbe], payloads: dict[str, Payload]
    ) -> list[asyncio.Task[HelloProbe]]:
        """The control and the large hello, CONFIRM_RUNS times each, concurrently, with the same bytes (a
        repeat differs from the first run in nothing but the connection), under one fresh deadline.

        hello.size runs on every diagnosis, even a healthy one, so a single lost segment must not
        make a working endpoint a fault: rules/matrix.py trusts the pattern only when every re-run
        repeats it.
        """
        del first  # the pair is fixed: the control and the post-quantum hello
        again = [p for p in self.probes if p.name in ("modern", "pq-large")] * CONFIRM_RUNS
        deadline = time.monotonic() + ctx.timeout
        return [asyncio.create_task(run_probe(ctx, self.route, p, payloads[p.name], deadline)) for p in again]

    async def _gather(self, tasks: dict[str, asyncio.Task[HelloProbe]]) -> list[HelloProbe]:
        """The probes' results. The HTTP probe only tells server-not-tls from a dead port when every hello
        dies: once a hello is answered (in TLS or another protocol) it is dropped, and when every hello died
        it gets HTTP_GRACE more than they took (an HTTP server answers a HEAD in about one round trip)."""
        http = tasks.get("http")
        hellos = [t for name, t in tasks.items() if name != "http"]
        if http is not None and hellos:
            await asyncio.wait(hellos)
            ends = [t.result() for t in hellos if not t.cancelled() and t.exception() is None]
            if any(p.answered or p.end is HelloEnd.NOT_TLS for p in ends):
                http.cancel()
            else:
                slowest = max((p.connect_ms + p.elapsed_ms for p in ends), default=0.0) / 1000
                await asyncio.wait({http}, timeout=max(HTTP_GRACE_S, 2 * slowest))
                http.cancel()
        done = await asyncio.gather(*tasks.values(), return_exceptions=True)
        for r in done:
            if isinstance(r, Exception):
                raise r  # a bug in a probe: the runner reports the check as an error
        return [r for r in done if isinstance(r, HelloProbe)]
