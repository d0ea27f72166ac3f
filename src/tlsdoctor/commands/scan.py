"""The scan playbook: resolve, reach, scan the TLS configuration, judge the certificate, grade.

Exit status (contract/cli.md): ``1`` for what the contract's causes name, i.e. what makes clients
*fail*: no route (tcp-refused, ...), no TLS version answering (inconclusive), or a certificate
problem (cert-expired, cert-untrusted, ...) found by the very certificate check ``diagnose``
runs; and ``1`` when a finding (``scan.weaknesses``, ``scan.vulnerabilities``) reaches
``--fail-on`` (default ``high``: an RFC-prohibited or exploitable configuration; TLS 1.0 alone
is ``medium``, so it fails only ``--fail-on medium``). The grade (A+ to F, T) and the Mozilla
profile lead the report (scan/grade.py, scan/mozilla.py, scan/judge.py).
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from tlsdoctor.scan.helper import Helper, HelperError

if TYPE_CHECKING:
    import asyncio

    from tlsdoctor.certs.trust import TrustAnchors
    from tlsdoctor.context import Context
    from tlsdoctor.model import Cause, CheckResult, Report, Verdict
    from tlsdoctor.scan.result import ScanData

# A scan is client-CPU bound on loopback and Python start-up is a third of it, so what only the
# end of a scan needs (the certificate check, cryptography's x509, the inference engine) runs in
# the helper process (scan/helper.py; a thread where forking is not safe), forked as early as it
# can be: after what both sides need (the model and its observations: imported once, not twice)
# and, from the command line (:func:`scan_command`), before this process imports asyncio, the
# codec and the probes, so that the two processes' imports run at once, on two cores, while the
# probes find the machine's CPU free. What only a failure needs (the TcpCheck machinery: proxies,
# STARTTLS) is imported where used.


# What both processes import after the fork, loaded before it so the helper inherits it:
# cryptography's core, the observations the helper's answers carry, the cause table. Imported on
# each side, they were ~50 ms of the helper's CPU. Not asyncio, though both use it: with it
# loaded this process would enter asyncio.run within milliseconds of the fork, and a Ctrl-C or
# SIGTERM there falls into windows the CLI cannot cover (logging's at-fork hook swallows the
# KeyboardInterrupt; asyncio.Runner resets its interrupt count after installing its handler).
SHARED = (
    "cryptography.hazmat.primitives.asymmetric.ec",
    "cryptography.hazmat.primitives.ciphers",
    "tomllib",
    "tlsdoctor.model",
    "tlsdoctor.observations.cert",
    "tlsdoctor.observations.tcp",
    "tlsdoctor.observations.tls",
    "tlsdoctor.inference.causes",
)


# --max-time's default, in --timeout's: a loopback scan takes a fraction of one timeout and a
# distant server a few (the removal chains are about ten round trips deep), so this cuts only a
# server that stalls (contract/cli.md: "a few times --timeout").
MAX_TIME_FACTOR = 6
# The share of --max-time the probes may use; the rest is for judging the certificate and the
# causes (milliseconds in the helper; a second or so in-process when the helper failed).
PROBE_SHARE = 0.85


def max_time_for(ctx: Context, max_time: float | None) -> float:
    return max_time if max_time is not None else MAX_TIME_FACTOR * ctx.timeout


def scan_command(ctx: Context, *, max_time: float | None = None, fail_on: str = "high") -> Report:
    """The command line's scan: fork the helper, then start the event loop and scan. No probe
    starts after ``max_time`` seconds (default: MAX_TIME_FACTOR x --timeout); a finding of
    severity ``fail_on`` or worse makes the verdict a fault (``--fail-on``)."""
    start = time.monotonic()
    with _helper(ctx) as helper:
        import asyncio

        return asyncio.run(_timed(ctx, start, helper, max_time_for(ctx, max_time), fail_on))


async def run_scan(ctx: Context, *, max_time: float | None = None, fail_on: str = "high") -> Report:
    """Scan ctx.options' target; the Report carries ``extra["scan"]`` (contract shape). For a
    caller whose event loop already runs (the library API, tests)."""
    start = time.monotonic()
    with _helper(ctx) as helper:
        return await _timed(ctx, start, helper, max_time_for(ctx, max_time), fail_on)


@contextlib.contextmanager
def _helper(ctx: Context) -> Iterator[Helper | None]:
    """The helper process for this scan (None where it cannot fork), ended on the way out."""
    import importlib

    for name in SHARED:  # before the fork: both sides need them
        importlib.import_module(name)
    helper = Helper.start(ctx, _ca_file(ctx))
    try:
        yield helper
    finally:
        if helper is not None:
            helper.close()


def _ca_file(ctx: Context) -> str | None:
    return str(ctx.options.ca_file) if ctx.options.ca_file else None


async def _timed(ctx: Context, start: float, helper: Helper | None, max_time: float, fail_on: str) -> Report:
    # The probes are latency-bound (a removal chain waits for each answer) and _warm is CPU work in
    # a thread: with the default 5 ms GIL switch interval an answer can wait 5 ms for the loop.
    interval = sys.getswitchinterval()
    sys.setswitchinterval(min(interval, 0.0005))
    try:
        return await _scan_with(ctx, start, helper, start + max_time, fail_on)
    finally:
        sys.setswitchinterval(interval)


async def _scan_with(
    ctx: Context, start: float, helper: Helper | None, deadline: float, fail_on: str
) -> Report:
    import asyncio

    from tlsdoctor.model import Report, Status, TargetInfo, Verdict
    from tlsdoctor.scan import judge
    from tlsdoctor.scan.contract import to_contract
    from tlsdoctor.scan.prober import ScanTarget
    from tlsdoctor.scan.scanner import scan

    opts = ctx.options
    results: list[CheckResult] = []
    ca_file = _ca_file(ctx)
    warm = None if helper is not None else asyncio.create_task(asyncio.to_thread(_warm, ca_file))
    addresses = await _addresses(ctx, results)
    target = TargetInfo(host=opts.host, port=opts.port, servername=ctx.servername, addresses=tuple(addresses))
    extra: dict[str, object] = {}
    data: ScanData | None = None
    if not addresses:
        from tlsdoctor import runner

        results.append(runner.skipped("tcp", "no address to connect to"))
    else:
        reached = await _reach(ctx, addresses[0])
        results.append(reached)
        if reached.status is Status.PASS:
            caa = _caa(ctx)  # a DNS question beside the probes
            data = await scan(
                anchors=warm,
                helper=helper,
                target=ScanTarget(
                    address=addresses[0],
                    port=opts.port,
                    servername=ctx.servername,
                    verify_name=ctx.verify_name,
                    timeout=ctx.timeout,
                    max_bytes=ctx.limits.max_read_bytes,
                    concurrency=ctx.limits.max_concurrency,
                    ca_file=ca_file,
                    starttls=opts.starttls,
                    deadline=start + PROBE_SHARE * (deadline - start),
                ),
            )
            if data.certificates:
                checked, _ = await asyncio.gather(
                    _certificate_check(ctx, data.certificates[0].chain, helper, deadline),
                    _describe(ctx, data, helper, deadline),
                )
            data.caa = await caa if caa is not None else None
            judge.assess(data)
            results.extend(scan_checks(data, time.monotonic() - start))
            results.extend(judge.finding_checks(data))
            if data.certificates:
                results.append(checked)
            extra["scan"] = to_contract(data)
    if warm is not None:
        await warm
    verdict, causes = await _judge_with(results, helper, deadline)
    if data is not None:
        verdict, causes = judge.verdict(data, verdict, causes)
        if not data.supported() and verdict is Verdict.HEALTHY:
            verdict = Verdict.INCONCLUSIVE
        graded = judge.grade_check(data, fail_on)  # after the engine: its fail is the gate's, not a cause's
        if graded is not None:
            results.append(graded)
        verdict, causes = judge.gate(data, verdict, causes, fail_on)
    return Report(
        command="scan",
        target=target,
        verdict=verdict,
        causes=tuple(causes),
        checks=tuple(results),
        duration_ms=(time.monotonic() - start) * 1000,
        extra=extra,
    )


def _caa(ctx: Context) -> asyncio.Future[dict[str, Any]] | None:
    """The CAA lookup for the certificate's name (scan/caa.py), asked of the resolvers the
    scan uses (``resolvers``, else the system's), bounded by --timeout; None for an IP address."""
    import asyncio
    import ipaddress

    name = ctx.verify_name
    try:
        ipaddress.ip_address(name)
        return None
    except ValueError:
        pass
    if "." not in name.strip("."):  # localhost, an intranet host: no public CAA to climb to
        done: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        done.set_result(
            {"name": name, "records": [], "found_at": None, "asked": [], "error": "not a public DNS name"}
        )
        return done
    from tlsdoctor.net.resolvconf import system_nameservers
    from tlsdoctor.scan.caa import caa_lookup

    servers = list(ctx.options.resolvers) or system_nameservers()
    return asyncio.create_task(asyncio.to_thread(caa_lookup, name, servers, ctx.timeout))


async def _describe(ctx: Context, data: ScanData, helper: Helper | None, deadline: float) -> None:
    """Every chain in full and each trust store's verdict (scan/certinfo.py), in the helper when
    there is one (it loaded the stores while the probes ran)."""
    import datetime as dt

    chains = [c.chain for c in data.certificates]
    now = dt.datetime.now(dt.UTC)
    described: list[dict[str, Any]] | None = None
    if helper is not None:
        try:
            described = await helper.call(
                "describe", chains, ctx.verify_name, now, timeout=helper_time(ctx, deadline)
            )
        except HelperError:
            described = None
    if described is None:
        from tlsdoctor.scan.certinfo import describe_here

        described = await describe_here(chains, ctx.verify_name, now)
    for c, d in zip(data.certificates, described, strict=True):
        c.details, c.stores = d["certificates"], d["stores"]
        if c.chain and c.chain[0] in data.delivered:  # SCTs over TLS and OCSP, beside the embedded
            from tlsdoctor.scan.certinfo import add_delivered_scts, delivered_scts

            add_delivered_scts(c.details, delivered_scts(*data.delivered[c.chain[0]]))


def _warm(ca_file: str | None) -> TrustAnchors:
    """Without the helper process: what the end of a scan needs, done in a thread while the
    probes wait on the network: the
    trust anchors (the system store is a few hundred certificates to parse; it is loaded once
    here, the certificate analysis and CertificateCheck wait for it rather than parse it again
    in a thread of their own), cryptography's x509 with it, and the modules named below."""
    from pathlib import Path

    from tlsdoctor.certs.trust import load_ca_file, load_system_store

    system = load_system_store()
    # What judges the chain and, when a check fails, the causes: on loopback the probes leave
    # the CPU idle a good part of the time, and a remote target leaves it idle nearly always.
    import tlsdoctor.checks.certificate
    import tlsdoctor.inference.engine  # noqa: F401

    return load_ca_file(Path(ca_file)) if ca_file else system


async def _reach(ctx: Context, address: str) -> CheckResult:
    """The ``tcp.<address>`` check. A plain connect that works gives the result TcpCheck gives
    (its observation, PASS) without importing it; anything else (a failure, a proxy, STARTTLS)
    runs the real TcpCheck, whose observations the inference engine reads."""
    from tlsdoctor.model import CheckResult, Status

    opts = ctx.options
    if not opts.proxy and not opts.starttls:
        from tlsdoctor.net.tcp import open_tcp
        from tlsdoctor.observations.tcp import ConnectOutcome

        start = time.monotonic()
        obs, sock = await open_tcp(address, opts.port, ctx.timeout)
        if sock is not None:
            sock.close()
        if obs.outcome is ConnectOutcome.CONNECTED:
            return CheckResult(
                id=f"tcp.{address}",
                status=Status.PASS,
                summary=obs.describe(),
                observations=(obs,),
                duration_ms=(time.monotonic() - start) * 1000,
            )
    from tlsdoctor import runner
    from tlsdoctor.checks.connect import TcpCheck

    return await runner.run_one(TcpCheck(address), ctx)


async def _addresses(ctx: Context, results: list[CheckResult]) -> list[str]:
    """--connect-to or an IP literal as is; a name through the DNS checks diagnose runs."""
    if ctx.options.connect_to:
        return [ctx.options.connect_to]
    if ctx.options.host_is_ip:
        return [ctx.options.host]
    from tlsdoctor.checks.dns import resolve_addresses

    return await resolve_addresses(ctx, results)


def helper_time(ctx: Context, deadline: float) -> float:
    """How long one helper request may take: --timeout, cut at the scan's deadline, but at least
    half a second (the in-process fallback after it costs about that much again)."""
    return max(0.5, min(ctx.timeout, deadline - time.monotonic()))


async def _certificate_check(
    ctx: Context, chain: tuple[bytes, ...], helper: Helper | None, deadline: float
) -> CheckResult:
    """CertificateCheck on the first chain (the one ``diagnose`` runs), in the helper if any."""
    if helper is not None:
        try:
            result: CheckResult = await helper.call(
                "check", chain, ctx.servername, timeout=helper_time(ctx, deadline)
            )
            return result
        except HelperError:
            pass  # the same check in-process
    from tlsdoctor.checks.certificate import check_served_chain

    return await check_served_chain(ctx, chain, ctx.servername)


async def _judge_with(
    results: list[CheckResult], helper: Helper | None, deadline: float
) -> tuple[Verdict, list[Cause]]:
    from tlsdoctor.model import Status

    if helper is not None and any(r.status in (Status.FAIL, Status.ERROR) for r in results):
        try:
            wait = max(0.5, min(5.0, deadline - time.monotonic()))
            verdict, causes = await helper.call("judge", results, timeout=wait)
            return verdict, list(causes)
        except HelperError:
            pass
    return _judge(results)


def _judge(results: list[CheckResult]) -> tuple[Verdict, list[Cause]]:
    """The inference engine when something failed (it names the cause); healthy otherwise.
    Importing the engine and its rules costs more than a loopback scan, so only when needed."""
    from tlsdoctor.model import Cause, Evidence, Status, Verdict, healthy_summary

    if any(r.status in (Status.FAIL, Status.ERROR) for r in results):
        from tlsdoctor.inference import engine

        return engine.diagnose(results)
    evidence = tuple(Evidence(check=r.id, observation=r.summary) for r in results if r.status is Status.PASS)
    return Verdict.HEALTHY, [
        Cause(id="healthy", confidence=1.0, summary=healthy_summary(results), evidence=evidence[:8])
    ]


def scan_checks(data: ScanData, elapsed_s: float) -> list[CheckResult]:
    """The scan's findings as checks: one line each for ``checks[]`` and the human table."""
    from tlsdoctor.model import CheckResult, Status
    from tlsdoctor.wire.registry import group_name, scheme_name

    supported = data.supported()
    out = [
        CheckResult(
            id="scan.protocols",
            status=Status.PASS if supported else Status.FAIL,
            duration_ms=elapsed_s * 1000,
            summary=(
                ", ".join(f"{p.version} ({len(p.suites)} suites)" for p in supported)
                if supported
                else _none_supported(data)
            ),
        )
    ]
    if not supported:
        return out
    out.append(
        CheckResult(
            id="scan.groups",
            status=Status.PASS if data.groups else Status.SKIP,
            summary=", ".join(group_name(g) for g in data.groups) or "no group seen",
        )
    )
    out.append(
        CheckResult(
            id="scan.signature-schemes",
            status=Status.PASS if data.schemes else Status.SKIP,
            summary=", ".join(scheme_name(s) for s in data.schemes) or "not observable",
        )
    )
    feats = ", ".join(f"{k}={v}" for k, v in data.features.items() if v is not None)
    out.append(CheckResult(id="scan.features", status=Status.PASS, summary=feats or "not observable"))
    for w in data.weaknesses:
        out.append(
            CheckResult(
                id=f"scan.weakness.{w.id}",
                status=Status.WARN,
                summary=f"[{w.severity}] {w.summary} ({w.reference})",
            )
        )
    return out


def _none_supported(data: ScanData) -> str:
    why: dict[str, list[str]] = {}
    for p in data.protocols:
        if p.unusable:
            why.setdefault(p.unusable, []).append(p.version)
    if why:
        text = "; ".join(f"{', '.join(versions)}: {reason}" for reason, versions in why.items())
        return f"no usable SSL/TLS version; the server answered, but {text}"
    ends: dict[str, list[str]] = {}
    for p in data.protocols:
        ends.setdefault(p.ended or "no answer", []).append(p.version)
    how = "; ".join(f"{', '.join(versions)}: {end}" for end, versions in ends.items())
    return f"no SSL/TLS version accepted ({how}): run 'tlsdoctor diagnose' on this target"
