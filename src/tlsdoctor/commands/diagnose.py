"""The diagnose playbook: resolve, reach, converse — readable top to bottom.

A later phase is skipped (with the reason) when an earlier one makes it moot. Independent
probes of a phase run concurrently, so a dead endpoint costs about one timeout per phase.
"""

from __future__ import annotations

import asyncio
import time

from tlsdoctor import runner
from tlsdoctor.checks.connect import ProxyCheck, Route, TcpCheck, resolve_proxy
from tlsdoctor.checks.handshake import DEFAULT, VARIANTS, HandshakeCheck
from tlsdoctor.context import Context
from tlsdoctor.inference import engine
from tlsdoctor.model import CheckResult, Report, TargetInfo
from tlsdoctor.net.proxy import proxy_for
from tlsdoctor.observations.cert import CertificateProblem, ProblemKind
from tlsdoctor.observations.tcp import ConnectOutcome, TcpConnect
from tlsdoctor.observations.tls import HandshakeAttempt, HandshakeOutcome, PeerChain


async def diagnose(ctx: Context) -> Report:
    """Run every phase against ctx.options and infer the causes."""
    start = time.monotonic()
    opts = ctx.options
    results: list[CheckResult] = []

    # 1 resolve
    addresses = await resolve(ctx, results)

    # 2 reach
    route = await reach(ctx, addresses, results)

    # 3 converse
    if route is None:
        results.append(runner.skipped("handshake.default", "no route to the target: TCP never connected"))
    else:
        await converse(ctx, route, results)

    verdict, causes = engine.diagnose(results)
    target = TargetInfo(host=opts.host, port=opts.port, servername=ctx.servername, addresses=tuple(addresses))
    return Report(command="diagnose", target=target, verdict=verdict, causes=tuple(causes),
                  checks=tuple(results), duration_ms=(time.monotonic() - start) * 1000)


async def resolve(ctx: Context, results: list[CheckResult]) -> list[str]:
    """Phase 1: the addresses to try (or --connect-to / the IP literal, with DNS skipped)."""
    from tlsdoctor.checks.dns import addresses_from, dns_checks

    opts = ctx.options
    if opts.connect_to:
        results.append(runner.skipped("dns", f"--connect-to {opts.connect_to} given"))
        return [opts.connect_to]
    if opts.host_is_ip:
        results.append(runner.skipped("dns", "the target is an IP address"))
        return [opts.host]
    dns_results = await runner.run(dns_checks(ctx), ctx)
    results.extend(dns_results)
    return addresses_from(dns_results)


async def reach(ctx: Context, addresses: list[str], results: list[CheckResult]) -> Route | None:
    """Phase 2: TCP to each address (or the CONNECT tunnel); the route later phases use."""
    proxy = proxy_for(ctx.options.host, ctx.options.proxy, ctx.options.no_proxy)
    if proxy is not None:
        proxy_address = await resolve_proxy(proxy, ctx.timeout)
        route = Route(address=addresses[0] if addresses else ctx.options.host, proxy=proxy,
                      proxy_address=proxy_address or proxy.host)
        results.extend(await runner.run([ProxyCheck(route)], ctx))
        return route if results[-1].status.value == "pass" else None
    if not addresses:
        results.append(runner.skipped("tcp", "no address to connect to"))
        return None
    tcp_results = await runner.run([TcpCheck(a) for a in addresses], ctx)
    results.extend(tcp_results)
    for r in tcp_results:
        for o in r.observations:
            if isinstance(o, TcpConnect) and o.outcome is ConnectOutcome.CONNECTED:
                return Route(address=o.address)
    return None


async def converse(ctx: Context, route: Route, results: list[CheckResult]) -> None:
    """Phase 3: the default handshake and, concurrently, the variants that explain a failure."""
    default_task = asyncio.create_task(runner.run_one(HandshakeCheck(DEFAULT, route), ctx))
    variant_checks = [HandshakeCheck(v, route) for v in VARIANTS]
    variant_tasks = [asyncio.create_task(runner.run_one(c, ctx)) for c in variant_checks]
    default = await default_task
    results.append(default)
    healthy = any(isinstance(o, HandshakeAttempt) and o.outcome is HandshakeOutcome.OK
                  for o in default.observations)
    if healthy:
        for task in variant_tasks:
            task.cancel()
        await asyncio.gather(*variant_tasks, return_exceptions=True)
        results.extend(runner.skipped(c.id, "not needed: the default handshake succeeded") for c in variant_checks)
    else:
        results.extend(await asyncio.gather(*variant_tasks))
    await inspect(ctx, route, results)


async def inspect(ctx: Context, route: Route, results: list[CheckResult]) -> None:
    """Phase 3b: the certificate as sent, repeats, and the clock when validity is in question."""
    from tlsdoctor.checks.certificate import CertificateCheck
    from tlsdoctor.checks.clock import ClockCheck

    chains = [o for r in results for o in r.observations if isinstance(o, PeerChain)]
    later: list[runner.Check] = []
    if chains:
        later.append(CertificateCheck(chains))
    if ctx.options.repeat > 0:
        from tlsdoctor.checks.repeat import RepeatCheck

        later.append(RepeatCheck(route, ctx.options.repeat))
    results.extend(await runner.run(later, ctx))
    # The clock matters when asked for, or when a validity window is what failed: only then
    # can skew, not the certificate, be the cause. An unreachable NTP server costs nothing otherwise.
    validity = any(isinstance(o, CertificateProblem) and o.problem in (ProblemKind.EXPIRED, ProblemKind.NOT_YET_VALID)
                   for r in results for o in r.observations)
    if ctx.options.ntp or validity:
        results.extend(await runner.run([ClockCheck()], ctx))
    else:
        results.append(runner.skipped("clock", "not needed: no certificate validity problem (use --ntp to force)"))
