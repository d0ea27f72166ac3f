"""How one target is diagnosed under a deadline: the fast path, then the full path.

Most endpoints are healthy most of the time, so the first thing run is what a healthy endpoint needs:
the default client's handshake (the same ``HandshakeCheck`` diagnose runs first). When it fails, or
has not passed within a head start, the whole diagnose playbook runs beside it, with its per-step
timeouts cut to fit what is left of the budget; the first certain answer wins. The exporter's probes
(probe.py) and batch mode (commands/batch.py) both diagnose this way.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time

from tlsdoctor.context import CheckObserver, Context, Options
from tlsdoctor.model import CheckResult, Report, Status, TargetInfo, Verdict

MIN_STEP_S = 0.2  # below this a per-step timeout measures our scheduling, not the network
# How long the fast path runs alone before the full path joins it: a fraction of the budget (a loaded
# exporter's handshakes are slow, and a playbook started for each would load it further), and a
# fixed second without a deadline (batch mode).
HEAD_START_FRACTION = 0.4
HEAD_START_MIN_S = 0.2
HEAD_START_MAX_S = 1.0
# Full playbooks starting at once in one process. A playbook's first half second builds a dozen
# ClientHellos and runs the variants on the one event loop: ten starting together stall it for tenths
# of a second, which the runner rightly calls doubtful (runner.watching), and the answers turn
# inconclusive. After that burst a playbook mostly waits (a silent endpoint: its timeouts), so the slot
# is held for BURST_S only: four bursts at once keep the loop responsive on two cores, and any number
# of playbooks may wait. The fast paths, one handshake each, are not limited.
FULL_AT_ONCE = 4
BURST_S = 0.5


class Path:
    """How a probe was answered: the names the metrics and the page show."""

    FAST = "fast"  # the default handshake passed: healthy without the playbook
    FULL = "full"  # the whole diagnose playbook finished
    PARTIAL = "partial"  # the deadline came first: what the playbook had established by then


def step_timeout(module_timeout: float, budget: float) -> float:
    """The per-step timeout that fits ``budget`` seconds: a silent endpoint costs about one step
    timeout per playbook phase that waits on it, and the slowest (the default handshake with the
    variants beside it, then the re-runs that confirm a silence) wait about two."""
    return max(MIN_STEP_S, min(module_timeout, budget / 2))


async def fast_then_full(
    options: Options,
    *,
    budget: float | None,
    fast_observer: CheckObserver | None = None,
    full_observer: CheckObserver | None = None,
    full_slots: asyncio.Semaphore | None = None,
) -> tuple[Report, str]:
    """The fast path, then (when it fails, or has not passed within its head start) the full path;
    the report and :class:`Path` that answered. With a ``budget`` (seconds) the per-step timeouts
    are cut to fit it; without one (batch mode) they are the options' own. ``full_slots`` bounds the
    full playbooks running at once (:data:`FULL_AT_ONCE`)."""
    start = time.monotonic()
    if wants_playbook(options):  # one passing handshake cannot clear what the module asks for
        return await _full_path(options, budget, start, full_observer, full_slots), Path.FULL
    fast_step = options.timeout if budget is None else step_timeout(options.timeout, budget)
    fast_options = dataclasses.replace(options, timeout=fast_step)
    fast = asyncio.create_task(fast_path(Context(options=fast_options, observer=fast_observer)))
    head_start = HEAD_START_MAX_S if budget is None else max(HEAD_START_MIN_S, HEAD_START_FRACTION * budget)
    full: asyncio.Task[Report] | None = None
    try:
        await asyncio.wait({fast}, timeout=head_start)
        if _healthy(fast):
            return fast.result(), Path.FAST
        full = asyncio.create_task(_full_path(options, budget, start, full_observer, full_slots))
        # The fast path may still pass (a slow but healthy endpoint, a loaded exporter): the first to
        # answer for certain wins; the playbook alone can say what a failure is.
        pending: set[asyncio.Task[Report]] = {full, fast} if not fast.done() else {full}
        while True:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            if _healthy(fast):
                return fast.result(), Path.FAST
            if full in done:
                return full.result(), Path.FULL
    finally:
        for task in (fast, full):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task


async def full_path(options: Options, *, full_slots: asyncio.Semaphore | None = None) -> Report:
    """The whole diagnose playbook at once, without a budget (batch mode's re-run of a target whose
    first diagnosis our own stall made doubtful: its handshake has already failed once)."""
    return await _full_path(options, None, time.monotonic(), None, full_slots)


def _healthy(fast: asyncio.Task[Report]) -> bool:
    """Whether the fast path has ended, healthy."""
    if not fast.done() or fast.cancelled() or fast.exception() is not None:
        return False
    return fast.result().verdict is Verdict.HEALTHY


async def _full_path(
    options: Options,
    budget: float | None,
    start: float,
    observer: CheckObserver | None,
    slots: asyncio.Semaphore | None,
) -> Report:
    """The whole diagnose playbook, its per-step timeouts cut to what is left of ``budget``."""
    from tlsdoctor.commands.diagnose import diagnose

    task: asyncio.Task[Report] | None = None
    try:
        async with slots or contextlib.nullcontext():
            full_options = options
            if budget is not None:
                left = budget - (time.monotonic() - start)
                full_options = dataclasses.replace(options, timeout=step_timeout(options.timeout, left))
            task = asyncio.create_task(diagnose(Context(options=full_options, observer=observer)))
            await asyncio.wait({task}, timeout=BURST_S)  # the slot is for the busy start only
        return await task
    finally:
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(BaseException):
                await task


def wants_playbook(options: Options) -> bool:
    """Whether the module asks for checks that only the playbook runs (a repeated handshake, an idle
    hold, a pinned leaf, the clock against NTP): one passing handshake cannot clear those."""
    return bool(options.repeat or options.idle or options.expect_fingerprint or options.ntp)


async def fast_path(ctx: Context) -> Report:
    """What a healthy endpoint needs: the addresses (diagnose's own DNS phase when the target is a
    name), and the default client's handshake along the route diagnose would take (a proxy, when the
    module or the environment sets one); inferred by the engine like any diagnosis."""
    from tlsdoctor import runner
    from tlsdoctor.checks.dns import addresses_from
    from tlsdoctor.checks.dns import resolve as dns_resolve
    from tlsdoctor.checks.handshake import DEFAULT, HandshakeCheck, load_trust
    from tlsdoctor.inference import engine
    from tlsdoctor.net.dns import first_address
    from tlsdoctor.net.proxy import proxy_for
    from tlsdoctor.net.route import Route

    start = time.monotonic()
    opts = ctx.options
    results: list[CheckResult] = []
    await load_trust(ctx)  # built once per module, in a thread; a no-op afterwards
    if opts.connect_to:
        addresses = [opts.connect_to]
    elif opts.host_is_ip:
        addresses = [opts.host]
    else:
        found = await dns_resolve(ctx)
        results.extend(found)
        addresses = addresses_from(found)
    proxy = proxy_for(opts.host, opts.proxy, opts.no_proxy)
    route: Route | None = None
    if proxy is not None:
        proxy_address = await first_address(proxy.host, ctx.timeout)
        route = Route(
            address=addresses[0] if addresses else opts.host, proxy=proxy, proxy_address=proxy_address
        )
    elif addresses:
        route = Route(address=addresses[0])
    if route is not None and (proxy is None or route.proxy_address is not None):
        async with runner.watching():  # our own stalls are never the network's fault
            results.append(await runner.run_one(HandshakeCheck(DEFAULT, route), ctx))
    verdict, causes = engine.diagnose(results)
    if route is None or not results or results[-1].status is not Status.PASS:
        verdict = Verdict.FAULT if verdict is Verdict.HEALTHY else verdict  # the full path decides
    return Report(
        command="diagnose",
        target=TargetInfo(
            host=opts.host, port=opts.port, servername=ctx.servername, addresses=tuple(addresses)
        ),
        verdict=verdict,
        causes=tuple(causes),
        checks=tuple(results),
        duration_ms=(time.monotonic() - start) * 1000,
    )
