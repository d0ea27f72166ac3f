"""The diagnose playbook: resolve, reach, converse — readable top to bottom.

A later phase is skipped (with the reason) when an earlier one makes it moot. Independent
probes of a phase run concurrently, so a dead endpoint costs about one timeout per phase.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import time

from tlsdoctor import runner
from tlsdoctor.checks.connect import ProxyCheck, TcpCheck
from tlsdoctor.checks.dns import resolve_addresses
from tlsdoctor.checks.handshake import (
    DEFAULT,
    VARIANTS,
    HandshakeCheck,
    alike,
    handshake_outcomes,
    load_trust,
)
from tlsdoctor.context import Context
from tlsdoctor.inference import engine
from tlsdoctor.inference.rules.helpers import SILENT_ENDS
from tlsdoctor.model import CheckResult, Report, TargetInfo
from tlsdoctor.net.dns import first_address
from tlsdoctor.net.proxy import proxy_for
from tlsdoctor.net.route import Route
from tlsdoctor.observations.cert import CertificateProblem, ChainValidation, ProblemKind
from tlsdoctor.observations.path import MssProbe, Reproduction
from tlsdoctor.observations.tcp import ConnectOutcome, TcpConnect
from tlsdoctor.observations.tls import HandshakeAttempt, HandshakeOutcome, PeerChain


async def diagnose(ctx: Context) -> Report:
    """Run every phase against ctx.options and infer the causes."""
    start = time.monotonic()
    opts = ctx.options
    results: list[CheckResult] = []
    # Trust material (--ca-file, the system store) loads in a thread meanwhile, off every probe's clock.
    trust = asyncio.create_task(load_trust(ctx))

    # Every probe below is judged against our own event loop's stalls (runner.watching).
    async with runner.watching():
        # 1 resolve
        addresses = await resolve_addresses(ctx, results)

        # 2 reach
        route = await reach(ctx, addresses, results)

        # 3 converse
        await trust
        if route is None:
            results.append(runner.skipped("handshake.default", "no route to the target: TCP never connected"))
        else:
            await converse(ctx, route, results)

    verdict, causes = engine.diagnose(results)
    target = TargetInfo(host=opts.host, port=opts.port, servername=ctx.servername, addresses=tuple(addresses))
    return Report(
        command="diagnose",
        target=target,
        verdict=verdict,
        causes=tuple(causes),
        checks=tuple(results),
        duration_ms=(time.monotonic() - start) * 1000,
    )


async def reach(ctx: Context, addresses: list[str], results: list[CheckResult]) -> Route | None:
    """Phase 2: TCP to each address (or the CONNECT tunnel); the route later phases use."""
    proxy = proxy_for(ctx.options.host, ctx.options.proxy, ctx.options.no_proxy)
    if proxy is not None:
        proxy_address = await first_address(proxy.host, proxy.port, ctx.timeout)
        route = Route(
            address=addresses[0] if addresses else ctx.options.host,
            proxy=proxy,
            proxy_address=proxy_address or proxy.host,
        )
        # The direct path too, concurrently: direct blocked + proxy passing is proxy-required.
        direct = [TcpCheck(a) for a in addresses]
        proxied, *_ = reached = await runner.run([ProxyCheck(route), *direct], ctx)
        results.extend(reached)
        results.extend(await host_facts(reached, ctx))
        return route if proxied.status.value == "pass" else None
    if not addresses:
        results.append(runner.skipped("tcp", "no address to connect to"))
        return None
    tcp_results = await runner.run([TcpCheck(a) for a in addresses], ctx)
    results.extend(tcp_results)
    results.extend(await host_facts(tcp_results, ctx))
    for r in tcp_results:
        for o in r.observations:
            if isinstance(o, TcpConnect) and o.outcome is ConnectOutcome.CONNECTED:
                return Route(address=o.address)
    # Nothing connected, and not because the target refused: which hop is the last to answer?
    silent = (ConnectOutcome.TIMEOUT, ConnectOutcome.HOST_UNREACHABLE, ConnectOutcome.NET_UNREACHABLE)
    lost = [
        o.address
        for r in tcp_results
        for o in r.observations
        if isinstance(o, TcpConnect) and o.outcome in silent
    ]
    if lost:
        from tlsdoctor.checks.icmp import TraceCheck
        from tlsdoctor.observations.path import PathTrace

        traced = await runner.run([TraceCheck(lost[0])], ctx)
        results.extend(traced)
        if any(isinstance(o, PathTrace) and o.reached for r in traced for o in r.observations):
            # The target answered the traceroute's SYN: its SYN path works, the connect's SYNs were lost
            # (a lossy path, a flapping filter). Go on: the handshakes' own connects say how often.
            return Route(address=lost[0])
    return None


async def host_facts(tcp_results: list[CheckResult], ctx: Context) -> list[CheckResult]:
    """The client's own limits, when a connect failed for want of a descriptor or a local port:
    the same facts `tlsdoctor host` shows, for client-fd-exhaustion / client-port-exhaustion.
    (The host modules load only then: a healthy run never pays for them.)"""
    ended = {o.outcome for r in tcp_results for o in r.observations if isinstance(o, TcpConnect)}
    wanted: list[runner.Check] = []
    if ConnectOutcome.FD_EXHAUSTED in ended:
        from tlsdoctor.host.fds import FdCheck

        wanted.append(FdCheck())
    if ConnectOutcome.PORT_EXHAUSTED in ended:
        from tlsdoctor.host.ports import PortCheck

        wanted.append(PortCheck())
    return await runner.run(wanted, ctx) if wanted else []


HEAD_START_S = 0.15


async def converse(ctx: Context, route: Route, results: list[CheckResult]) -> None:
    """Phase 3: the default handshake and, concurrently, the variants that explain a failure."""
    from tlsdoctor.checks.hello import MATRIX, SIZE, HelloCheck
    from tlsdoctor.checks.path import MssCheck

    # Hello sizes the default client never sends (checks/hello.py), kept even when it succeeds:
    # a large post-quantum hello dying where the default works is "curl works, Chrome fails".
    # Their bytes are built before the default handshake starts: its connect time is the yardstick
    # for "slow after a fast connect" (path_checks), and a stalled loop would read as a slow connect.
    size_check = HelloCheck("hello.size", SIZE, route, size_only=True).prepared(ctx)
    default_task = asyncio.create_task(runner.run_one(HandshakeCheck(DEFAULT, route), ctx))
    client_task = None
    if ctx.options.client is not None:  # --client: the named client's own hello, alongside the default
        from tlsdoctor.checks.client_profile import ClientProfileCheck

        chain = functools.partial(served_chain, default_task)
        check = ClientProfileCheck(route, ctx.options.client, chain=chain)
        client_task = asyncio.create_task(runner.run_one(check, ctx))
    size_task = asyncio.create_task(runner.run_one(size_check, ctx))
    # Started alongside, like the variants, so a silent endpoint still costs one timeout here.
    mss_task = asyncio.create_task(runner.run_one(MssCheck(route), ctx)) if route.proxy is None else None
    variant_checks: list[runner.Check] = [HandshakeCheck(v, route) for v in VARIANTS]
    variant_checks.append(HelloCheck("hello.matrix", MATRIX, route))  # the rest of the matrix, likewise
    # A short head start: a default handshake that completes quickly (a healthy endpoint) never
    # pays for the variants; a failing or silent one starts them after at most HEAD_START.
    await asyncio.wait({default_task}, timeout=min(HEAD_START_S, ctx.timeout / 10))
    variant_tasks = [asyncio.create_task(runner.run_one(c, ctx)) for c in variant_checks]
    early = asyncio.create_task(early_confirm(ctx, route, default_task, mss_task)) if mss_task else None
    default = await default_task
    results.append(default)
    healthy = any(
        isinstance(o, HandshakeAttempt) and o.outcome is HandshakeOutcome.OK for o in default.observations
    )
    idle_task = None
    if healthy and ctx.options.idle is not None:  # --idle: held quiet while the probes below run
        from tlsdoctor.checks.idle import IdleCheck

        idle_task = asyncio.create_task(runner.run_one(IdleCheck(route, ctx.options.idle), ctx))
    elif ctx.options.idle is not None:
        results.append(runner.skipped("idle", "not run: the default handshake failed, so nothing to hold"))
    first = handshake_outcomes([default]).get("default")
    if early is not None and (first is None or first.outcome not in SILENT_ENDS):
        early.cancel()  # the default answered after all: nothing to confirm
        await asyncio.gather(early, return_exceptions=True)
        early = None
    if healthy:
        for task in variant_tasks:
            task.cancel()
        await asyncio.gather(*variant_tasks, return_exceptions=True)
        results.extend(
            runner.skipped(c.id, "not needed: the default handshake succeeded") for c in variant_checks
        )
    else:
        results.extend(await asyncio.gather(*variant_tasks))
        if route.proxy is None and alike(results):  # ask the server what it accepts (checks/accepts.py)
            from tlsdoctor.checks.accepts import AcceptCheck

            results.extend(await runner.run([AcceptCheck(route)], ctx))
    if mss_task is not None:
        stalled = any(
            isinstance(o, HandshakeAttempt) and o.outcome is HandshakeOutcome.TIMEOUT
            for o in default.observations
        )
        if stalled:
            results.append(await mss_task)
        else:
            mss_task.cancel()
            await asyncio.gather(mss_task, return_exceptions=True)
    if healthy and route.proxy is None and ctx.options.repeat == 0:
        # One connection can hide a lossy path: a burst of bare connects sees SYN loss cheaply.
        from tlsdoctor.checks.ramp import SynSampleCheck

        results.extend(await runner.run([SynSampleCheck(route)], ctx))
    seen = [*results, *finished(size_task)]
    other = early_pair(seen) if early is not None and first is not None else None
    if early is not None and other is None:
        early.cancel()
        await asyncio.gather(early, return_exceptions=True)
        early = None
    later, reproduced = await asyncio.gather(
        runner.run(path_checks(ctx, route, seen, confirmed=early is not None), ctx),
        confirmation(ctx, route, early, first, other),
    )
    results.extend(later)
    if reproduced is not None:
        results.append(reproduced)
    # What the path probes found can itself be a sign of loss (a ramp with failures, a failure that did
    # not reproduce): follow it with the short repeat, unless one already ran.
    if route.proxy is None and ctx.options.repeat == 0 and not any(r.id == "path.stability" for r in results):
        signs = loss_signs([*results, *finished(size_task)])
        if signs:
            seen = [*results, *finished(size_task)]
            results.extend(await runner.run([auto_stability(route, signs, seen)], ctx))
    if (
        route.proxy is None
        and held_unanswered(ctx, results)
        and not any(r.id == "server.ramp" for r in results)
    ):
        # A failure symptom: does the server fail more as load grows? Our own connections are released
        # first (hello.size may still hold some open): the ramp must measure the server, not us.
        from tlsdoctor.checks.ramp import RampCheck

        await asyncio.wait({size_task})
        results.extend(await runner.run([RampCheck(route)], ctx))
    await inspect(ctx, route, results)
    results.append(await size_task)  # it ran alongside all of the above
    if client_task is not None:
        results.append(await client_task)
    if idle_task is not None:
        results.append(await idle_task)


async def served_chain(default: asyncio.Task[CheckResult]) -> tuple[tuple[bytes, ...], bool] | None:
    """The chain the default handshake was sent, and whether our own client accepted it."""
    result = await asyncio.shield(default)
    chain = next((o.chain for o in result.observations if isinstance(o, PeerChain)), None)
    ok = any(
        isinstance(o, HandshakeAttempt) and o.outcome is HandshakeOutcome.OK for o in result.observations
    )
    return (chain, ok) if chain else None


def finished(task: asyncio.Task[CheckResult]) -> list[CheckResult]:
    """A check running alongside, if it has already ended (its evidence can be read before it is shown)."""
    return [task.result()] if task.done() and not task.cancelled() and task.exception() is None else []


EARLY_MIN_S, EARLY_FACTOR, EARLY_MAX_S = 1.0, 4.0, 2.0


async def early_confirm(
    ctx: Context,
    route: Route,
    default_task: asyncio.Task[CheckResult],
    mss_task: asyncio.Task[CheckResult],
) -> CheckResult | None:
    """The re-runs of (default, small MSS), started while the default handshake is still silent.

    A small-MSS handshake that completed while the default one stays silent (EARLY_FACTOR times longer
    than the small one took, within EARLY_MIN_S..EARLY_MAX_S) is the path-MTU black hole's picture; its
    confirmation re-runs (checks/confirm.py) would otherwise start only after the default's whole
    timeout, and themselves last one more. Started now, they end about when the default does. Cancelled
    by converse when the default answers after all, and used only when it ended silent.
    """
    from tlsdoctor.checks.confirm import ConfirmCheck

    start = time.monotonic()
    await asyncio.wait({mss_task}, timeout=ctx.timeout)
    if default_task.done() or not mss_task.done() or mss_task.cancelled() or mss_task.exception():
        return None
    other = early_pair([mss_task.result()])
    if other is None:
        return None
    took = max(o.elapsed_ms for o in mss_task.result().observations if isinstance(o, MssProbe)) / 1000
    wait = min(EARLY_MAX_S, max(EARLY_MIN_S, EARLY_FACTOR * took)) - (time.monotonic() - start)
    await asyncio.wait({default_task}, timeout=max(0.0, wait))
    if default_task.done():
        return None
    return await runner.run_one(ConfirmCheck(route, pair=(("default", "timeout"), other)), ctx)


def early_pair(results: list[CheckResult]) -> tuple[str, str] | None:
    """The small-MSS probe that answered, as the confirmation pair's other side."""
    from tlsdoctor.checks.confirm import answering_probe

    mss = [o for r in results for o in r.observations if isinstance(o, MssProbe)]
    return answering_probe({}, mss) if mss else None


async def confirmation(
    ctx: Context,
    route: Route,
    early: asyncio.Task[CheckResult | None] | None,
    first: HandshakeAttempt | None,
    other: tuple[str, str] | None,
) -> CheckResult | None:
    """The early confirmation, with the default's real first outcome (it was started before the default
    ended); or, when it did not start in time, the same re-runs now."""
    from tlsdoctor.checks.confirm import ConfirmCheck

    if early is None or first is None or other is None:
        return None
    done = await early
    if done is None:
        return await runner.run_one(ConfirmCheck(route, pair=(("default", first.outcome.value), other)), ctx)
    fixed = tuple(
        dataclasses.replace(o, first=first.outcome.value)
        if isinstance(o, Reproduction) and o.probe == "default"
        else o
        for o in done.observations
    )
    return dataclasses.replace(done, observations=fixed)


def path_checks(
    ctx: Context, route: Route, results: list[CheckResult], *, confirmed: bool = False
) -> list[runner.Check]:
    """Phase 3a: the path probes the default handshake's ending calls for (checks/path.py, checks/ramp.py)."""
    from tlsdoctor.checks.confirm import ConfirmCheck, answering_probe
    from tlsdoctor.checks.path import ResetOriginCheck
    from tlsdoctor.checks.ramp import RampCheck, StabilityCheck
    from tlsdoctor.checks.repeat import RepeatCheck
    from tlsdoctor.observations.path import MssProbe

    runs = handshake_outcomes(results)
    default, twin = runs.get("default"), runs.get("no-verify")
    checks: list[runner.Check] = []
    direct = route.proxy is None
    if default is not None and direct and default.outcome is HandshakeOutcome.RESET:
        checks.append(ResetOriginCheck(route))
    # The first attempts disagree (one silent, its twin answered): a failure symptom. Does the server
    # fail more as load grows, and what does the transport itself say?
    pair = [a for a in (default, twin) if a is not None]
    silent = [a for a in pair if a.outcome in SILENT_ENDS and a.bytes_received == 0]
    answered = [a for a in pair if a.bytes_received > 0]
    if direct and silent and answered:
        checks.append(RampCheck(route))
    if direct and silent and not answered and syn_dropped_after_accept(results, route.address):
        from tlsdoctor.checks.ramp import SynRetestCheck

        checks.append(SynRetestCheck(route))  # our connections are closed now: is the SYN path open?
    signs = loss_signs(results) if direct and ctx.options.repeat == 0 else ()
    if direct and (ctx.options.repeat > 0 or (silent and answered)):
        checks.append(StabilityCheck(route))
    elif signs:  # no --repeat, but the first probes saw loss: a short repeat on our own
        checks.append(auto_stability(route, signs, results))
    if ctx.options.repeat > 0:  # alongside the other path probes: one wall-clock cost, not two
        checks.append(RepeatCheck(route, ctx.options.repeat))
    if direct and default is not None and default.outcome is HandshakeOutcome.TIMEOUT:
        from tlsdoctor.checks.icmp import PmtuCheck

        checks.append(PmtuCheck(route.address))  # do large packets vanish without ICMP?
    # The decisive probes disagree (the default failed silently, another probe answered): a
    # difference counts only if it reproduces, so re-run the pair (checks/confirm.py).
    first = default.outcome.value if default is not None else first_connect(results)
    if (
        direct
        and first is not None
        and first != HandshakeOutcome.OK.value
        and (default is None or default.outcome in SILENT_ENDS)
    ):
        mss = [o for r in results for o in r.observations if isinstance(o, MssProbe)]
        other = answering_probe(runs, mss)
        if other is not None and not confirmed:  # (confirmed: the re-runs started early, early_confirm)
            checks.append(ConfirmCheck(route, pair=(("default", first), other)))
    return checks


def held_unanswered(ctx: Context, results: list[CheckResult]) -> bool:
    """Most of the automatic repeat's handshakes went unanswered, none lost a segment, in a window more
    than twice as long as the default handshake took: the server holds connections it does not serve (a
    failure symptom, not slowness: a server just slow would have answered them in that time)."""
    from tlsdoctor.checks.ramp import StabilityCheck
    from tlsdoctor.observations.path import PathStats

    default = handshake_outcomes(results).get("default")
    stats = next((o for r in results for o in r.observations if isinstance(o, PathStats)), None)
    if default is None or default.outcome is not HandshakeOutcome.OK or stats is None or not stats.reasons:
        return False
    window = StabilityCheck(Route(address=default.address), reasons=stats.reasons).window(ctx) or 0.0
    return (
        2 * stats.unfinished > stats.attempts
        and not (stats.retransmits or stats.out_of_order or stats.slow_connects)
        and window * 1000 > 2 * default.elapsed_ms
    )


def syn_dropped_after_accept(results: list[CheckResult], address: str) -> bool:
    """Connects to ``address`` succeeded, and later ones (while those were held) went unanswered."""
    tries = [
        o
        for r in results
        for o in r.observations
        if isinstance(o, TcpConnect) and o.role == "target" and o.address == address
    ]
    outcomes = {c.outcome for c in tries}
    return ConnectOutcome.CONNECTED in outcomes and ConnectOutcome.TIMEOUT in outcomes


SLOW_HANDSHAKE_FACTOR = 4  # a handshake costs about two connect round trips; far more is a retransmission
SLOW_HANDSHAKE_EXTRA_MS = 150.0  # Linux retransmits after 200 ms at the soonest (TCP_RTO_MIN)


def loss_signs(results: list[CheckResult]) -> tuple[str, ...]:
    """Signs of packet loss in what already ran (issue: instability seen without --repeat).

    Each is cheap to see and points at the path: a connect of about a second (a SYN retransmitted), a
    probe's own TCP_INFO counters (segments retransmitted or received out of order), the default
    handshake far slower than its connect (a retransmission timer, or a slow server: the repeat tells
    them apart), failures in the concurrency ramp, a failure that did not reproduce on re-runs.
    """
    from tlsdoctor.checks.repeat import SLOW_CONNECT_MS
    from tlsdoctor.observations.hello import HelloProbe
    from tlsdoctor.observations.path import RampLevel, Reproduction, SynSample, TcpCounters

    obs = [o for r in results for o in r.observations]
    signs: list[str] = []
    connects = [o for o in obs if isinstance(o, TcpConnect) and o.role == "target"]
    slow = [c for c in connects if c.outcome is ConnectOutcome.CONNECTED and c.elapsed_ms >= SLOW_CONNECT_MS]
    slow_probes = [p for p in obs if isinstance(p, HelloProbe) and p.connect_ms >= SLOW_CONNECT_MS]
    timed_out = [c for c in connects if c.outcome is ConnectOutcome.TIMEOUT]
    tls_answered = any(a.bytes_received for a in handshake_outcomes(results).values())
    if timed_out and tls_answered and any(c.outcome is ConnectOutcome.CONNECTED for c in connects):
        signs.append(f"{len(timed_out)} of {len(connects)} TCP connects timed out while others connected")
    if slow or slow_probes:
        worst = max([c.elapsed_ms for c in slow] + [p.connect_ms for p in slow_probes])
        signs.append(
            f"{len(slow) + len(slow_probes)} TCP connects took up to {worst:.0f} ms (a SYN retransmitted)"
        )
    # Only probes that were answered: retransmissions on a connection whose hello went unanswered are
    # that silence itself (a firewall dropping it), not random loss that TCP recovered from.
    lost = [p for p in obs if isinstance(p, HelloProbe) and p.answered and (p.retransmits or p.reordered)]
    if lost:
        segments = sum(p.retransmits + p.reordered for p in lost)
        signs.append(f"{segments} segments retransmitted or reordered on {len(lost)} hello probes (TCP_INFO)")
    answered = {a.variant for a in handshake_outcomes(results).values() if a.bytes_received}
    counted = [c for c in obs if isinstance(c, TcpCounters) and c.lossy and c.probe in answered]
    if counted:
        segments = sum(c.retransmits + c.reordered for c in counted)
        names = ", ".join(sorted({c.probe for c in counted}))
        signs.append(f"{segments} segments retransmitted or reordered on the {names} handshake (TCP_INFO)")
    default = handshake_outcomes(results).get("default")
    connect = next(
        (
            o.elapsed_ms
            for r in results
            if r.id == "handshake.default"
            for o in r.observations
            if isinstance(o, TcpConnect)
        ),
        None,
    )
    if (
        default is not None
        and connect is not None
        and default.outcome is HandshakeOutcome.OK
        and default.elapsed_ms > SLOW_HANDSHAKE_FACTOR * connect + SLOW_HANDSHAKE_EXTRA_MS
    ):
        signs.append(
            f"the default handshake took {default.elapsed_ms:.0f} ms after a {connect:.0f} ms connect"
        )
    syn = [o for o in obs if isinstance(o, SynSample) and o.fast and (o.slow or o.unanswered)]
    if syn:
        retried = syn[0].slow + syn[0].unanswered
        signs.append(f"{retried} of {syn[0].attempts} bare TCP connects needed a SYN retransmission")
    ramp = [lv for lv in obs if isinstance(lv, RampLevel) and lv.failures]
    if ramp:
        signs.append(f"{sum(lv.failures for lv in ramp)} handshakes of the concurrency ramp failed")
    if any(isinstance(o, Reproduction) and not o.reproduced for o in obs):
        signs.append("a failure did not reproduce on identical re-runs")
    return tuple(signs)


def first_loss_events(results: list[CheckResult]) -> int:
    """Loss events the first probes' own kernel counters showed, on connections that were answered: each
    is a lost segment as surely as one the automatic repeat counts (a silent connection's retransmissions
    are its silence, not evidence of random loss)."""
    from tlsdoctor.checks.repeat import SLOW_CONNECT_MS
    from tlsdoctor.observations.hello import HelloProbe
    from tlsdoctor.observations.path import SynSample, TcpCounters

    obs = [o for r in results for o in r.observations]
    answered = {a.variant for a in handshake_outcomes(results).values() if a.bytes_received}
    events = sum(
        c.retransmits + c.reordered for c in obs if isinstance(c, TcpCounters) and c.probe in answered
    )
    events += sum(p.retransmits + p.reordered for p in obs if isinstance(p, HelloProbe) and p.answered)
    events += sum(s.slow + s.unanswered for s in obs if isinstance(s, SynSample) and s.fast)
    # A connect of about a second is a retransmitted SYN; where the connection's counters were read,
    # they already include it.
    slow = [
        o
        for r in results
        if not any(isinstance(c, TcpCounters) for c in r.observations)
        for o in r.observations
        if isinstance(o, TcpConnect) and o.role == "target" and o.elapsed_ms >= SLOW_CONNECT_MS
    ]
    return events + sum(c.outcome is ConnectOutcome.CONNECTED for c in slow)


def auto_stability(route: Route, signs: tuple[str, ...], results: list[CheckResult]) -> runner.Check:
    """The short, bounded repeat diagnose runs on its own when it saw signs of loss (checks/ramp.py).

    When the only sign is a slow handshake (no segment lost, no SYN retried), the likelier story is a slow
    server (a big key, an HSM): a few connections, two at a time, tell loss from slowness without leaving
    it a queue of handshakes to work through after we are gone (a slow server serves a handshake whether
    or not we still wait for it, and the next diagnosis would meet that queue).
    """
    from tlsdoctor.checks.ramp import (
        AUTO_CONCURRENCY,
        AUTO_COUNT,
        SLOW_ONLY_CONCURRENCY,
        SLOW_ONLY_COUNT,
        StabilityCheck,
    )

    events = first_loss_events(results)
    slow_only = events == 0 and len(signs) == 1
    return StabilityCheck(
        route,
        count=SLOW_ONLY_COUNT if slow_only else AUTO_COUNT,
        reasons=signs,
        concurrency=SLOW_ONLY_CONCURRENCY if slow_only else AUTO_CONCURRENCY,
        first_signs=events,
        slow_only=slow_only,
    )


def first_connect(results: list[CheckResult]) -> str | None:
    """How the default handshake's own connect failed ("connect-timeout"), when it never got to a hello."""
    return next(
        (
            f"connect-{o.outcome.value}"
            for r in results
            if r.id == "handshake.default"
            for o in r.observations
            if isinstance(o, TcpConnect)
        ),
        None,
    )


async def inspect(ctx: Context, route: Route, results: list[CheckResult]) -> None:
    """Phase 3b: the certificate as sent, and the clock when validity is in question."""
    from tlsdoctor.checks.certificate import CertificateCheck
    from tlsdoctor.checks.clock import ClockCheck
    from tlsdoctor.checks.httpdate import HttpDateCheck

    chains = [o for r in results for o in r.observations if isinstance(o, PeerChain)]
    tried = [o for r in results for o in r.observations if isinstance(o, HandshakeAttempt)]
    later: list[runner.Check] = []
    if chains:
        pin = ctx.options.expect_fingerprint
        later.append(CertificateCheck(chains, attempts=tried, expect_fingerprint=pin))
    results.extend(await runner.run(later, ctx))
    seen = [o for r in results if r.id == "certificate" for o in r.observations]
    judged = [o for o in seen if isinstance(o, ChainValidation)]
    if judged and not judged[0].valid:  # the client's store refused it: would another store here accept it?
        from tlsdoctor.checks.stores import TrustStoresCheck

        chain = CertificateCheck(chains).pick() or chains[0]
        results.extend(await runner.run([TrustStoresCheck(chain)], ctx))
    # The clock matters when asked for, or when a validity window is what failed: only then
    # can skew, not the certificate, be the cause. An unreachable NTP server costs nothing otherwise.
    validity = any(
        isinstance(o, CertificateProblem) and o.problem in (ProblemKind.EXPIRED, ProblemKind.NOT_YET_VALID)
        for r in results
        for o in r.observations
    )
    if validity:  # NTP when configured, and the server's own Date header, which needs no NTP
        results.extend(await runner.run([ClockCheck(), HttpDateCheck(route)], ctx))
    elif ctx.options.ntp:
        results.extend(await runner.run([ClockCheck()], ctx))
    else:
        results.append(
            runner.skipped("clock", "not needed: no certificate validity problem (use --ntp to force)")
        )
