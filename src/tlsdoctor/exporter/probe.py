"""One probe of the exporter: the scrape's deadline, sharing, and the recent probes.

A scrape must be answered before Prometheus gives up on it (``X-Prometheus-Scrape-Timeout-Seconds``).
A probe's diagnosis runs the fast path, then the full path (paths.py), within that budget. At the
deadline the probe answers with what was established by then: the results of every check that had
finished (the runner tells an observer as each one ends), inferred by the same engine, marked
incomplete and never called healthy. A diagnosis others may share goes on in the background, and its
finished report is what the next probes in the share window, and the exporter's page, see; one that
nobody can share is stopped.

Probes of the same target and module share one diagnosis (single-flight): those that arrive while it
runs, and for ``share_window`` seconds after it ended, get its result instead of starting another.
Two Prometheus servers of an HA pair, or a dashboard's refresh, then cost one diagnosis, and a silent
endpoint scraped every few seconds never has more than one diagnosis in flight.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import secrets
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping
from typing import Any

from tlsdoctor.context import Options
from tlsdoctor.errors import InputError, UsageError
from tlsdoctor.exporter.modules import Module
from tlsdoctor.exporter.paths import FULL_AT_ONCE, Path, fast_then_full
from tlsdoctor.model import CheckResult, Report, Status, TargetInfo, Verdict

OPTIONS_CACHE = 4096  # (target, module) -> validated Options; a --ca-file is read once, not per probe
PARTIAL_NOTE = "the scrape's deadline came first: the diagnosis was still running; this is what it had"


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


class Busy(Exception):
    """Too many diagnoses in flight: the probe is refused (HTTP 503) rather than queued."""


def bad_input(exc: Exception) -> bool:
    """Whether ``exc`` is the user's fault (HTTP 400), as the command line's exit status 2."""
    return isinstance(exc, UsageError | InputError | ValueError)
