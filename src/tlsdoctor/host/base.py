"""What every host check shares: a deadline, a thread for the blocking reads, bounded file reads.

The host checks read /proc, /sys and a few configuration files. Those reads are fast but blocking,
and a hung filesystem (an NFS home, a stuck FUSE mount) must still cost no more than the check's
deadline: so each check collects in a daemon thread, and the runner's deadline ends the wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from tlsdoctor.context import Context
from tlsdoctor.model import CheckResult, Status
from tlsdoctor.observations.base import Observation

MAX_FILE = 1 << 20  # configuration and /proc files we read are far smaller; a larger one is cut
DEADLINE_S = 0.8  # a local read that takes longer than this is stuck, not slow

Collected = tuple[Status, str, Sequence[Observation]]
T = TypeVar("T")


def read_text(path: str | Path, limit: int = MAX_FILE) -> str | None:
    """A file's text (at most ``limit`` bytes, undecodable bytes replaced), or None when unreadable."""
    try:
        with open(path, "rb") as f:
            return f.read(limit).decode("utf-8", errors="replace")
    except OSError:
        return None


async def in_daemon_thread(work: Callable[[], T], name: str) -> T:
    """``work()`` in a daemon thread of its own, awaited. Unlike ``asyncio.to_thread`` (whose pool
    ``asyncio.run`` joins on the way out), a read that never returns (a FIFO, a hung mount) is
    abandoned when the deadline ends the wait, and the process still exits on time."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(value: T | None, error: BaseException | None) -> None:
        if future.done():  # the deadline came first: nobody waits for this any more
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(value)  # type: ignore[arg-type]

    def run() -> None:
        value: T | None = None
        error: BaseException | None = None
        try:
            value = work()
        except BaseException as exc:  # handed to the awaiting task, which the runner reports
            error = exc
        with contextlib.suppress(RuntimeError):  # the loop closed while we were stuck
            loop.call_soon_threadsafe(settle, value, error)

    threading.Thread(target=run, name=name, daemon=True).start()
    return await future


class FactCheck:
    """A host check: ``collect()`` does the blocking reads and returns (status, summary, observations)."""

    id = "host"
    layer = "client"

    def budget(self, ctx: Context) -> float:
        return DEADLINE_S

    def collect(self) -> Collected:
        raise NotImplementedError

    async def run(self, ctx: Context) -> CheckResult:
        status, summary, found = await in_daemon_thread(self.collect, f"tlsdoctor-{self.id}")
        return CheckResult(id=self.id, status=status, summary=summary, observations=tuple(found))
