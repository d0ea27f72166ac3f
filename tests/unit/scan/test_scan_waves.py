"""scan/waves.py: a connection's wave is one more than the deepest finished one; phases inherit
their name through the task context; the floor counts answers at the connection limit."""

from __future__ import annotations

import asyncio

from tlsdoctor.scan.waves import PHASE, Waves, floor_waves, to_contract


def test_side_by_side_share_a_wave_and_a_dependent_one_is_deeper() -> None:
    w = Waves()
    a, b = w.begin(), w.begin()  # both start before either ends
    assert (a, b) == (1, 1)
    w.end(a)
    c = w.begin()  # started after a ended: waited for it
    w.end(b)
    w.end(c)
    assert c == 2 and w.begin() == 3
    assert w.critical_path == 3


def test_phases_are_named_by_the_task_context() -> None:
    w = Waves()

    async def phase(name: str, chain: int) -> None:
        PHASE.set(name)
        for _ in range(chain):
            wave = w.begin()
            await asyncio.sleep(0.001 * chain)
            w.end(wave)

    async def main() -> None:
        wave = w.begin()  # the version wave, in the default context
        w.end(wave)
        await asyncio.gather(phase("short", 1), phase("long", 3))

    asyncio.run(main())
    out = to_contract(w, floor_waves(4, 16), 16)
    assert out["phases"]["versions"]["waves"] == [1, 1]
    assert out["phases"]["short"]["waves"] == [2, 2]
    assert out["phases"]["long"]["waves"] == [2, 4] and out["phases"]["long"]["connections"] == 3
    assert out["critical_path"] == 4 and out["floor"] == 2


def test_floor_grows_with_answers_over_the_connection_limit() -> None:
    assert floor_waves(0, 16) == 1  # nothing supported: the version wave only
    assert floor_waves(16, 16) == 2
    assert floor_waves(17, 16) == 3
    assert floor_waves(83, 16) == 7
    assert floor_waves(83, 1) == 84
