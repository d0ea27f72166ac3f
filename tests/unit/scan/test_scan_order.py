"""scan/order.py: answers as facts about a server's order, and the proof of a guessed order
against simulated servers: exact orders, one wave when the guess holds, always bounded."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence

from tlsdoctor.scan.order import Facts, prove_order
from tlsdoctor.scan.probe import ProbeResult


class Server:
    """Picks its best offered value (``prefer``) or the client's first; counts waves of offers."""

    def __init__(self, order: Sequence[int], *, prefer: bool = True) -> None:
        self.order, self.prefer = list(order), prefer
        self.offers: list[tuple[int, ...]] = []
        self.waves = 0
        self._pending = 0

    async def offer(self, offered: tuple[int, ...]) -> ProbeResult:
        self.offers.append(offered)
        if self._pending == 0:
            self.waves += 1
        self._pending += 1
        await asyncio.sleep(0)
        self._pending -= 1
        ranked = self.order if self.prefer else offered
        chosen = next((v for v in ranked if v in offered and v in self.order), None)
        return ProbeResult(end="hello" if chosen is not None else "alert", detail=str(chosen))


def pick(r: ProbeResult) -> int | None:
    return int(r.detail) if r.end == "hello" else None


def test_facts_are_transitive_and_say_when_they_are_new() -> None:
    f = Facts([1, 2, 3, 4])
    assert f.add(1, (1, 2)) is True
    assert f.add(2, (2, 3)) is True
    assert f.beats(1, 3) and not f.beats(3, 1)
    assert f.add(1, (1, 3)) is False  # already implied
    assert f.add(9, (9, 1)) is False  # not one of the values
    assert f.linear() == [1, 2, 3, 4] and f.gaps([1, 2, 3, 4]) == [2]


def test_linear_follows_the_facts_and_breaks_ties_by_position() -> None:
    f = Facts([1, 2, 3, 4])
    f.add(4, (4, 1))
    assert f.linear() == [2, 3, 4, 1]
    f.add(1, (1, 4))  # a cycle: a server that is no total order; still every value, once
    assert sorted(f.linear()) == [1, 2, 3, 4]


def test_a_right_guess_costs_one_wave_a_probe_per_open_boundary_and_the_order_probe() -> None:
    server = Server([1, 2, 3, 4, 5, 6])
    f = Facts([1, 2, 3, 4, 5, 6])
    for chain in ([1, 2, 3], [4, 5, 6]):  # two blocks, each chain's answers as facts
        for i, v in enumerate(chain):
            f.add(v, chain[i:])
    order, verdict = asyncio.run(prove_order(server.offer, pick, f))
    assert order == [1, 2, 3, 4, 5, 6] and verdict is True
    assert server.offers == [(3, 4, 5, 6), (6, 5, 4, 3, 2, 1)] and server.waves == 1


def test_every_random_order_is_proven_exactly_from_any_partial_facts() -> None:
    rng = random.Random(7)
    for _ in range(300):
        n = rng.randint(0, 14)
        truth = rng.sample(range(100), n)
        prefer = rng.random() < 0.7
        server = Server(truth, prefer=prefer)
        guess = sorted(truth)
        f = Facts(guess)
        for _ in range(rng.randint(0, 6) if n else 0):  # a few true facts, as discovery gives
            offered = tuple(sorted(rng.sample(guess, min(n, rng.randint(1, 4)))))  # in our order
            ranked = truth if prefer else offered
            f.add(next(v for v in ranked if v in offered), offered)
        order, verdict = asyncio.run(prove_order(server.offer, pick, f))
        if prefer:
            assert order == truth
            assert verdict is (True if n > 1 else None)
        else:
            assert order == guess and verdict is (False if n > 1 else None)  # ours
        assert len(server.offers) <= n * n + 2


def test_without_the_order_probe_nothing_extra_is_asked() -> None:
    server = Server([5, 6])
    f = Facts([5, 6])
    f.add(5, (5, 6))
    order, verdict = asyncio.run(prove_order(server.offer, pick, f, order_probe=False))
    assert order == [5, 6] and verdict is None and server.offers == []


def test_a_server_that_answers_at_random_ends_the_proof() -> None:
    rng = random.Random(1)

    async def chaos(offered: tuple[int, ...]) -> ProbeResult:
        return ProbeResult(end="hello", detail=str(rng.choice(offered)))

    f = Facts(list(range(12)))
    order, _ = asyncio.run(prove_order(chaos, pick, f))
    assert sorted(order) == list(range(12))


def _warshall(n: int, told: list[tuple[int, tuple[int, ...]]], index: dict[int, int]) -> list[int]:
    """The transitive closure from scratch: what Facts keeps up to date fact by fact."""
    reach = [0] * n
    for winner, offered in told:
        for o in offered:
            if o != winner and o in index:
                reach[index[winner]] |= 1 << index[o]
    for k in range(n):
        for i in range(n):
            if reach[i] >> k & 1:
                reach[i] |= reach[k]
    return reach


def test_the_closure_kept_fact_by_fact_equals_the_closure_from_scratch() -> None:
    """Cycles included (a server that is no total order), and facts that add nothing."""
    rng = random.Random(11)
    for _ in range(200):
        n = rng.randint(1, 40)
        values = rng.sample(range(500), n)
        f = Facts(values)
        told: list[tuple[int, tuple[int, ...]]] = []
        for _ in range(rng.randint(0, 3 * n)):
            offered = tuple(rng.sample(values, rng.randint(1, min(n, 6))))
            winner = rng.choice(offered)
            f.add(winner, offered)
            told.append((winner, offered))
            assert f.closure() == _warshall(n, told, f.index)
