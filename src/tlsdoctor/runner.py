"""Run checks concurrently, each under its own deadline; a crash becomes ``status: error``.

One broken check must never sink a diagnosis, and a dead endpoint must cost about
one timeout, not one per probe: so every check runs in the same TaskGroup.
"""

from __future__ import annotations

import asyncio
import time
import traceback
from collections.abc import Iterable, Sequence
from typing import Protocol

from tlsdoctor.context import Context
from tlsdoctor.model import CheckResult, Status


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


async def run_one(check: Check, ctx: Context) -> CheckResult:
    """Run one check under its deadline; time out or crash into a CheckResult."""
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


def skipped(check_id: str, reason: str) -> CheckResult:
    """The result of a check made moot by an earlier phase."""
    return CheckResult(id=check_id, status=Status.SKIP, summary=reason)


def _with_duration(result: CheckResult, ms: float) -> CheckResult:
    import dataclasses

    return dataclasses.replace(result, duration_ms=ms)
