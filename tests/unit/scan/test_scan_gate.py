"""scan/gate.py: never more holders than the limit, waiters served by urgency then arrival, and
a cancelled waiter never keeps a slot."""

from __future__ import annotations

import asyncio

import pytest

from tlsdoctor.scan.gate import URGENCY, Gate


def test_never_more_than_the_limit_and_the_limit_is_used() -> None:
    gate = Gate(4)
    live = 0
    peak = 0

    async def hold() -> None:
        nonlocal live, peak
        async with gate:
            live += 1
            peak = max(peak, live)
            await asyncio.sleep(0.001)
            live -= 1

    async def main() -> None:
        await asyncio.gather(*(hold() for _ in range(50)))

    asyncio.run(main())
    assert peak == 4 and gate.peak == 4 and gate.held == 0


def test_waiters_are_served_by_urgency_then_arrival() -> None:
    gate = Gate(1)
    served: list[str] = []

    async def want(name: str, urgency: int) -> None:
        URGENCY.set(urgency)
        async with gate:
            served.append(name)
            await asyncio.sleep(0)

    async def main() -> None:
        async with gate:  # hold the only slot while everyone queues
            queue = (("bg", 1), ("a", 0), ("chain", -2), ("b", 0))
            tasks = [asyncio.create_task(want(n, u)) for n, u in queue]
            await asyncio.sleep(0)
            assert gate.locked() and gate.waiting(0) and not gate.waiting(-3)
        await asyncio.gather(*tasks)

    asyncio.run(main())
    assert served == ["chain", "a", "b", "bg"]


def test_a_cancelled_waiter_keeps_no_slot() -> None:
    gate = Gate(1)

    async def main() -> None:
        async with gate:
            waiter = asyncio.create_task(gate.__aenter__())
            await asyncio.sleep(0)
            waiter.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiter
        assert gate.held == 0
        async with asyncio.timeout(1):  # the slot is free again
            async with gate:
                assert gate.held == 1

    asyncio.run(main())


def test_the_limit_must_allow_a_connection() -> None:
    with pytest.raises(ValueError):
        Gate(0)
