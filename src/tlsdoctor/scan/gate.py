"""The scan's connection limit (``--max-connections``), served by urgency rather than arrival.

When more probes are ready than connections are allowed, the order they get one decides the
scan's length: a removal chain that keeps finding values is the critical path (each answer
starts its next probe), while a probe whose answer nothing waits for (a certificate, ALPN one
protocol at a time, the fallback SCSV probe) can take any free slot later. :data:`URGENCY`
says which is which for the running task (lower goes first, then first come, first served);
tasks inherit it, so a phase sets it once.
"""

from __future__ import annotations

import asyncio
import contextvars
import heapq
import itertools
from types import TracebackType

#: How urgent the running task's connections are: lower first. 0: default; > 0: nothing waits
#: for the answer; < 0: a chain that found that many values (the critical path, likely).
URGENCY: contextvars.ContextVar[int] = contextvars.ContextVar("scan_urgency", default=0)
BACKGROUND = 1


class Gate:
    """At most ``limit`` holders at once; waiters get a slot by (urgency, arrival). ``async with
    gate:`` holds one slot for the block (the urgency is the task's :data:`URGENCY`)."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("the connection limit must be at least 1")
        self.limit = limit
        self.held = 0
        self.peak = 0
        self._waiting: list[tuple[int, int, asyncio.Future[None]]] = []
        self._arrival = itertools.count()
        self._paused = False

    def pause(self) -> None:
        """Hold every request until :meth:`resume`: when many tasks start at once, the first to
        run would otherwise take the free slots, however urgent the others."""
        self._paused = True

    async def resume(self, turns: int = 8) -> None:
        """After ``turns`` turns of the event loop (the tasks just started have asked by then),
        hand the free slots out by urgency."""
        for _ in range(turns):
            await asyncio.sleep(0)
        self._paused = False
        while self.held < self.limit and self._grant():
            pass

    def locked(self) -> bool:
        """No slot free now: one more probe would wait."""
        return self.held >= self.limit

    def waiting(self, urgency: int) -> bool:
        """Some probe at least this urgent waits for a slot."""
        return any(u <= urgency and not f.done() for u, _, f in self._waiting)

    async def __aenter__(self) -> None:
        if not self._paused and self.held < self.limit and not any(not f.done() for _, _, f in self._waiting):
            self._take()
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiting, (URGENCY.get(), next(self._arrival), future))
        try:
            await future  # the slot is handed over by _release: ``held`` already counts it
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self._release()  # handed a slot, then cancelled before using it
            raise

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._release()

    def _take(self) -> None:
        self.held += 1
        self.peak = max(self.peak, self.held)

    def _release(self) -> None:
        self.held -= 1
        if not self._paused:
            self._grant()

    def _grant(self) -> bool:
        """Hand one slot to the most urgent waiter; False when none waits."""
        while self._waiting:
            _, _, future = heapq.heappop(self._waiting)
            if not future.done():  # a cancelled waiter is done: skip it
                self._take()
                future.set_result(None)
                return True
        return False
