"""Run checks concurrently, each under its own deadline; a crash becomes ``status: error``.

One broken check must never sink a diagnosis, and a dead endpoint must cost about
one timeout, not one per probe: so every check runs in the same TaskGroup.

A deadline measures the network only. Under :func:`watching`, a heartbeat task records when the event
loop woke late (blocked by a computation, or a starved CPU); a check that did not pass while the loop
was stalled is re-run once, and if the stall repeats its result is marked unreliable (``LoopStall``), so
that the engine never turns our own stall into a cause.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import dataclasses
import time
import traceback
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from typing import Protocol

from tlsdoctor.context import Context
from tlsdoctor.model import CheckResult, Status

TICK_S = 0.05  # the heartbeat's period: cheap (a diagnosis lasts seconds), fine enough for stalls
NOTICE_S = 0.1  # a wake-up this late is a stall worth recording
UNRELIABLE_S = 0.25  # stalls adding up to this (or 5 % of the timeout) during a check make it doubtful


class Check(Protocol):
    """A probe of one thing. Network failure is an observation in the result, not an exception."""

    @property
    def id(self) -> str: ...

    @property
    def layer(self) -> str: ...

    def budget(self, ctx: Context) -> float:
        """Seconds this check may take at most, including all its own retries."""
        ...

    async def run(self, ctx: Context) -> CheckResult: ...


class LoopWatch:
    """A heartbeat on the event loop: the intervals during which it woke late, i.e. the loop was stalled."""

    def __init__(self) -> None:
        self.stalls: list[tuple[float, float]] = []

    async def beat(self) -> None:
        while True:
            before = time.monotonic()
            await asyncio.sleep(TICK_S)
            now = time.monotonic()
            late = now - before - TICK_S
            if late >= NOTICE_S:
                self.stalls.append((now - late, now))

    def stalled(self, start: float, end: float) -> float:
        """Seconds of stall inside [start, end]."""
        return sum(max(0.0, min(b, end) - max(a, start)) for a, b in self.stalls)


_WATCH: contextvars.ContextVar[LoopWatch | None] = contextvars.ContextVar(
    "tlsdoctor_loop_watch", default=None
)


@contextlib.asynccontextmanager
async def watching() -> AsyncIterator[LoopWatch]:
    """Watch the event loop for stalls while the block runs; checks run inside it are judged by it."""
    watch = LoopWatch()
    token = _WATCH.set(watch)
    task = asyncio.create_task(watch.beat())
    try:
        yield watch
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        _WATCH.reset(token)


def stalled_since(start: float) -> float:
    """Seconds our event loop stalled from ``start`` (a time.monotonic() value) until now; 0 outside
    :func:`watching`. A probe that times something subtracts it: that much of its time was ours."""
    watch = _WATCH.get()
    return 0.0 if watch is None else watch.stalled(start, time.monotonic())


def unreliable_after(ctx: Context) -> float:
    """Seconds of stall during a check that make its (failed) result doubtful."""
    return max(UNRELIABLE_S, 0.05 * ctx.timeout)


class Timeline:
    """The clock of one run: every check's start is stamped relative to the run's start, so the report
    shows what ran beside what and what waited for what (``checks[].started_ms``, ``critical_path``)."""

    def __init__(self) -> None:
        self.start = time.monotonic()

    def ms(self, at: float | None = None) -> float:
        """Milliseconds from the run's start to ``at`` (default: now)."""
        return ((time.monotonic() if at is None else at) - self.start) * 1000


_TIMELINE: contextvars.ContextVar[Timeline | None] = contextvars.ContextVar(
    "tlsdoctor_timeline", default=None
)


@contextlib.contextmanager
def timeline() -> Iterator[Timeline]:
    """Stamp the checks run inside the block on one clock that starts now."""
    clock = Timeline()
    token = _TIMELINE.set(clock)
    try:
        yield clock
    finally:
        _TIMELINE.reset(token)


async def run_one(check: Check, ctx: Context, *, waited_for: str | None = None) -> CheckResult:
    """Run one check (:func:`_run_judged`), telling ``ctx.observer`` when it starts and ends, and stamping
    its start on the run's timeline (and ``waited_for``: the check whose end released it)."""
    clock = _TIMELINE.get()
    started = clock.ms() if clock is not None else None
    if ctx.observer is not None:
        ctx.observer.started(check.id)
    result = await _run_judged(check, ctx)
    if started is not None:
        result = dataclasses.replace(result, started_ms=started, waited_for=waited_for)
    if ctx.observer is not None:
        ctx.observer.finished(result)
    return result


async def _run_judged(check: Check, ctx: Context) -> CheckResult:
    """Run one check under its deadline; time out or crash into a CheckResult. Under :func:`watching`, a
    result that did not pass while the loop stalled is re-run once, then marked if the stall repeats."""
    watch = _WATCH.get()
    start = time.monotonic()
    result = await _run_once(check, ctx)
    if watch is None or result.status in (Status.PASS, Status.SKIP):
        return result
    first = watch.stalled(start, time.monotonic())
    if first < unreliable_after(ctx) or stall_proof(result, first):
        return result
    from tlsdoctor.observations.path import LoopStall

    again_start = time.monotonic()
    again = await _run_once(check, ctx)
    second = watch.stalled(again_start, time.monotonic())
    reliable = again.status in (Status.PASS, Status.SKIP) or second < unreliable_after(ctx)
    note = LoopStall(stalled_ms=first * 1000, rerun=True, reliable=reliable, rerun_stalled_ms=second * 1000)
    # Its duration spans both runs, so that started_ms + duration_ms is when its result was known.
    spent = (time.monotonic() - start) * 1000
    return dataclasses.replace(again, observations=(*again.observations, note), duration_ms=spent)


def stall_proof(result: CheckResult, stalled_s: float) -> bool:
    """Nothing the failed result rests on could have come from a stall this long (each observation
    says: Observation.stall_proof): the peer's reset or alert, the certificate it sent, a clock
    offset of days. Kept as it is, neither re-run nor doubted; a timeout is never such a thing."""
    return bool(result.observations) and all(o.stall_proof(stalled_s) for o in result.observations)


async def _run_once(check: Check, ctx: Context) -> CheckResult:
    start = time.monotonic()
    budget = check.budget(ctx)
    try:
        async with asyncio.timeout(budget):
            result = await check.run(ctx)
    except TimeoutError:
        return CheckResult(
            id=check.id,
            status=Status.ERROR,
            summary=f"the check did not finish within its {budget:.1f} s deadline",
            duration_ms=(time.monotonic() - start) * 1000,
            error="deadline exceeded",
        )
    except Exception as exc:  # a bug in a check: report it, keep diagnosing
        return CheckResult(
            id=check.id,
            status=Status.ERROR,
            summary=f"the check crashed: {type(exc).__name__}: {exc}",
            duration_ms=(time.monotonic() - start) * 1000,
            error="".join(traceback.format_exception(exc)),
        )
    if not result.duration_ms:
        result = _with_duration(result, (time.monotonic() - start) * 1000)
    return result


async def run(checks: Iterable[Check], ctx: Context) -> list[CheckResult]:
    """Run checks concurrently; results in the order the checks were given."""
    items: Sequence[Check] = list(checks)
    tasks: list[asyncio.Task[CheckResult]] = []
    async with asyncio.TaskGroup() as group:
        for check in items:
            tasks.append(group.create_task(run_one(check, ctx)))
    return [t.result() for t in tasks]


def skipped(check_id: str, reason: str, *, waited_for: str | None = None) -> CheckResult:
    """The result of a check made moot by an earlier phase (stamped when that was decided)."""
    clock = _TIMELINE.get()
    started = clock.ms() if clock is not None else None
    return CheckResult(
        id=check_id, status=Status.SKIP, summary=reason, started_ms=started, waited_for=waited_for
    )


def _with_duration(result: CheckResult, ms: float) -> CheckResult:
    return dataclasses.replace(result, duration_ms=ms)
