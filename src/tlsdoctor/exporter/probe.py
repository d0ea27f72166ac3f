"""One probe of the exporter: the fast path, the full path, the scrape's deadline, and sharing.

A scrape must be answered before Prometheus gives up on it (``X-Prometheus-Scrape-Timeout-Seconds``),
and most endpoints are healthy most of the time. So a probe first runs what a healthy endpoint needs,
the default client's handshake (the same ``HandshakeCheck`` diagnose runs first); when that passes,
the answer is ``healthy`` at the cost of one handshake. When it fails, or has not answered within a
head start, the whole diagnose playbook runs beside it, with per-step timeouts cut to fit what is
left of the deadline. At the deadline the probe answers with what was established by then: the
results of every check that had finished (the runner tells an observer as each one ends), inferred by
the same engine, marked incomplete and never called healthy. The playbook goes on in the background
and its finished report is what the next probes in the share window, and the exporter's page, see.

Probes of the same target and module share one diagnosis (single-flight): those that arrive while it
runs, and for ``share_window`` seconds after it ended, get its result instead of starting another.
Two Prometheus servers of an HA pair, or a dashboard's refresh, then cost one diagnosis, and a silent
endpoint scraped every few seconds never has more than one diagnosis in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import secrets
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping
from typing import Any

from tlsdoctor.context import CheckObserver, Context, Options
from tlsdoctor.errors import InputError, UsageError
from tlsdoctor.exporter.modules import Module
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
OPTIONS_CACHE = 4096  # (target, module) -> validated Options; a --ca-file is read once, not per probe
PARTIAL_NOTE = "the scrape's deadline came first: the diagnosis was still running; this is what it had"


class Path:
    """How a probe was answered: the names the metrics and the page show."""

    FAST = "fast"  # the default handshake passed: healthy without the playbook
    FULL = "full"  # the whole diagnose playbook finished
    PARTIAL = "partial"  # the deadline came first: what the playbook had established by then


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ProbeResult:
    """One answered probe."""

    id: str
    target: str
    module: str
    report: Report
    path: str
    started: float  # wall-clock seconds (time.time()) when the diagnosis started
    duration_s: float  # from the diagnosis's start to this answer
    shared: bool = False  # answered from a diagnosis another probe started

    @property
    def success(self) -> bool:
        return self.path != Path.PARTIAL and self.report.verdict is Verdict.HEALTHY

    @property
    def complete(self) -> bool:
        return self.path != Path.PARTIAL


class _Collector:
    """The runner's observer for one diagnosis: every check result as it finishes."""

    def __init__(self) -> None:
        self.results: list[CheckResult] = []

    def started(self, check_id: str) -> None:
        return None

    def finished(self, result: CheckResult) -> None:
        self.results.append(result)


@dataclasses.dataclass(slots=True)
class Flight:
    """One diagnosis of one (target, module), awaited by every probe that shares it."""

    key: tuple[str, str]
    options: Options
    budget: float
    start_mono: float = dataclasses.field(default_factory=time.monotonic)
    start_wall: float = dataclasses.field(default_factory=time.time)
    fast: _Collector = dataclasses.field(default_factory=_Collector)
    full: _Collector = dataclasses.field(default_factory=_Collector)
    result: asyncio.Future[ProbeResult] | None = None
    ended: float | None = None  # monotonic time the diagnosis ended
    task: asyncio.Task[None] | None = None
    id: str = ""

    def partial(self, target: str, module: str) -> ProbeResult:
        """A report of what this diagnosis had established so far (never healthy)."""
        from tlsdoctor.inference import engine

        ids = {r.id for r in self.full.results}
        results = [*(r for r in self.fast.results if r.id not in ids), *self.full.results]
        verdict, causes = engine.diagnose(results) if results else (Verdict.INCONCLUSIVE, [])
        if (
            verdict is Verdict.HEALTHY
        ):  # "no fault found yet" is not healthy: the checks that would say so had not ended
            verdict, causes = Verdict.INCONCLUSIVE, []
        note = CheckResult(id="exporter.deadline", status=Status.WARN, summary=PARTIAL_NOTE)
        opts = self.options
        elapsed = time.monotonic() - self.start_mono
        report = Report(
            command="diagnose",
            target=TargetInfo(host=opts.host, port=opts.port, servername=opts.servername or None),
            verdict=verdict,
            causes=tuple(causes),
            checks=(*results, note),
            duration_ms=elapsed * 1000,
        )
        return ProbeResult(
            id=self.id,
            target=target,
            module=module,
            report=report,
            path=Path.PARTIAL,
            started=self.start_wall,
            duration_s=elapsed,
        )


def step_timeout(module_timeout: float, budget: float) -> float:
    """The per-step timeout that fits ``budget`` seconds: a silent endpoint costs about one step
    timeout per playbook phase that waits on it, and the slowest (the default handshake with the
    variants beside it, then the re-runs that confirm a silence) wait about two."""
    return max(MIN_STEP_S, min(module_timeout, budget / 2))


class Prober:
    """Runs probes: options per (target, module), flights, the share window, recent results."""

    def __init__(
        self,
        modules: Mapping[str, Module],
        *,
        share_window: float = 2.0,
        max_flights: int = 256,
        keep: int = 100,
        on_result: Callable[[ProbeResult], None] | None = None,
    ) -> None:
        self.modules = dict(modules)
        self.share_window = share_window
        self.max_flights = max_flights
        self.recent: deque[ProbeResult] = deque(maxlen=keep)
        self._by_id: dict[str, ProbeResult] = {}
        self._flights: dict[tuple[str, str], Flight] = {}
        self._running = 0
        self._options: OrderedDict[tuple[str, str], Options] = OrderedDict()
        self._ids = itertools.count(1)
        self._salt = secrets.token_hex(2)
        self._background: set[asyncio.Task[Any]] = set()
        self._full_slots: asyncio.Semaphore | None = None  # made on the loop that runs the probes
        self.on_result = on_result

    # -- inputs ------------------------------------------------------------------------------------

    def options(self, target: str, module: str) -> Options:
        """The validated Options of ``target`` under ``module`` (cached); UsageError/InputError if bad."""
        from tlsdoctor.inputs import diagnose_options

        key = (target, module)
        cached = self._options.get(key)
        if cached is not None:
            self._options.move_to_end(key)
            return cached
        if module not in self.modules:
            raise UsageError(f"unknown module {module!r}")
        try:
            options = diagnose_options(target, **self.modules[module].options)
        except TypeError as exc:  # validated at start-up; only a target of the wrong shape gets here
            raise UsageError(str(exc)) from None
        self._options[key] = options
        if len(self._options) > OPTIONS_CACHE:
            self._options.popitem(last=False)
        return options

    def report(self, probe_id: str) -> ProbeResult | None:
        """A recent probe by id (the page's links), or None once it has left the recent list."""
        return self._by_id.get(probe_id)

    @property
    def in_flight(self) -> int:
        return self._running

    # -- probing -----------------------------------------------------------------------------------

    async def probe(self, target: str, module: str, budget: float) -> ProbeResult:
        """Diagnose ``target`` under ``module``, answering within ``budget`` seconds.

        Raises UsageError/InputError for a bad target or module, and :class:`Busy` when
        ``max_flights`` diagnoses are already running."""
        options = self.options(target, module)
        start = time.monotonic()
        key = (target, module)
        flight = self._flights.get(key) if self.share_window > 0 else None
        shared = flight is not None
        if flight is None:
            if self._running >= self.max_flights:
                raise Busy(f"{self._running} diagnoses are running; at most {self.max_flights}")
            flight = self._start(key, options, budget)
        assert flight.result is not None
        remaining = budget - (time.monotonic() - start)
        try:
            async with asyncio.timeout(max(0.0, remaining)):
                result = await asyncio.shield(flight.result)
        except TimeoutError:
            partial = flight.partial(target, module)
            if self._flights.get(key) is not flight and flight.task is not None:
                flight.task.cancel()  # nobody can share it: finishing it would only load the exporter
                self._keep(partial)  # the page shows what was answered
            return partial
        if shared:
            result = dataclasses.replace(result, shared=True, duration_s=time.monotonic() - start)
        return result

    def _start(self, key: tuple[str, str], options: Options, budget: float) -> Flight:
        flight = Flight(key=key, options=options, budget=budget)
        flight.id = f"{next(self._ids):x}{self._salt}"
        flight.result = asyncio.get_running_loop().create_future()
        if self.share_window > 0:
            self._flights[key] = flight
        self._running += 1
        task = flight.task = asyncio.create_task(self._fly(flight))
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return flight

    async def _fly(self, flight: Flight) -> None:
        assert flight.result is not None
        try:
            result = await self._diagnose(flight)
        except asyncio.CancelledError:  # the exporter is stopping, or nobody can use the answer any more
            flight.result.cancel()
            self._land(flight)
            raise
        except Exception as exc:  # a bug: every waiter hears it (the server answers 500)
            flight.result.set_exception(exc)
            flight.result.exception()  # retrieved here: nobody may be waiting any more
            self._land(flight)
            return
        flight.result.set_result(result)
        self._keep(result)
        self._land(flight)

    def _land(self, flight: Flight) -> None:
        self._running -= 1
        flight.ended = time.monotonic()
        if flight.key not in self._flights or self._flights[flight.key] is not flight:
            return
        loop = asyncio.get_running_loop()
        loop.call_later(self.share_window, self._forget, flight)

    def _forget(self, flight: Flight) -> None:
        if self._flights.get(flight.key) is flight:
            del self._flights[flight.key]

    def _keep(self, result: ProbeResult) -> None:
        if len(self.recent) == self.recent.maxlen:
            old = self.recent[0]
            self._by_id.pop(old.id, None)
        self.recent.append(result)
        self._by_id[result.id] = result
        if self.on_result is not None:
            self.on_result(result)

    async def _diagnose(self, flight: Flight) -> ProbeResult:
        if self._full_slots is None:
            self._full_slots = asyncio.Semaphore(FULL_AT_ONCE)
        report, path = await fast_then_full(
            flight.options,
            budget=flight.budget,
            fast_observer=flight.fast,
            full_observer=flight.full,
            full_slots=self._full_slots,
        )
        return self._result(flight, report, path)

    def _result(self, flight: Flight, report: Report, path: str) -> ProbeResult:
        target, module = flight.key
        return ProbeResult(
            id=flight.id,
            target=target,
            module=module,
            report=report,
            path=path,
            started=flight.start_wall,
            duration_s=time.monotonic() - flight.start_mono,
        )

    async def close(self) -> None:
        """Cancel the diagnoses still running (the exporter is stopping)."""
        tasks = list(self._background)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


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


class Busy(Exception):
    """Too many diagnoses in flight: the probe is refused (HTTP 503) rather than queued."""


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
        proxy_address = await first_address(proxy.host, proxy.port, ctx.timeout)
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


def bad_input(exc: Exception) -> bool:
    """Whether ``exc`` is the user's fault (HTTP 400), as the command line's exit status 2."""
    return isinstance(exc, UsageError | InputError | ValueError)
