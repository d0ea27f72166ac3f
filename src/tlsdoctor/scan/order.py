"""A server's preference order, from answers, proven in as few waves as the answers allow.

Every answer to an offer is a fact: the value the server chose beats every other accepted value
offered with it (a server with a preference picks its best; one that follows the client picks
our first, and we offer in our order, so the facts agree with that order instead). The facts
give a guess (:meth:`Facts.linear`); the guess is *proven* once each value is known to beat the
next one, which by transitivity orders everything. :func:`prove_order` asks only what the facts
leave open, all at once per wave, so a guess that is right costs one wave and a wrong one a few,
never a wrong order.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol


class Answer(Protocol):
    @property
    def end(self) -> str: ...


Offerer = Callable[[tuple[int, ...]], Awaitable[Answer]]
Picker = Callable[[Answer], int | None]
RETRY_ENDS = frozenset({"timeout", "reset", "closed", "connect"})  # ambiguous: not a clear "no"
PAIR_BUDGET = 24  # at most this many open pairs: ask them all in one wave
WINDOW = 8  # else: this many positions from the first open one, as a removal chain would ask them


class Facts:
    """What the answers proved about the order of ``values`` (a few hundred at most): direct
    "beats" relations and their transitive closure, as bitsets."""

    def __init__(self, values: Sequence[int]) -> None:
        self.values = list(dict.fromkeys(values))
        self.index = {v: i for i, v in enumerate(self.values)}
        self.reach = [0] * len(self.values)  # i -> bitset of the values i beats, told or implied

    def add(self, winner: int, offered: Sequence[int]) -> bool:
        """``winner`` was chosen from ``offered``; True when that says something not known yet."""
        w = self.index.get(winner)
        if w is None:
            return False
        index = self.index
        if len(offered) > len(index):  # a chain's offer: every candidate left, a few accepted
            present = set(offered)
            found = [j for v, j in index.items() if v in present]
        else:
            found = [j for j in map(index.get, offered) if j is not None]
        bits = 0
        for j in found:
            bits |= 1 << j
        bits &= ~(1 << w)
        reach = self.reach
        new = bits & ~reach[w]
        if not new:
            return False
        # The closure kept up to date edge by edge (a few hundred facts over ~80 values made a
        # full Warshall per fact a tenth of a legacy scan's CPU): a new path runs through one of
        # the new edges w -> j, so w now beats what each j beats, and whoever beat w (or w
        # itself) beats all of that too.
        grown = reach[w] | new
        rest = new
        while rest:
            low = rest & -rest
            grown |= reach[low.bit_length() - 1]
            rest ^= low
        wbit = 1 << w
        for i, row in enumerate(reach):
            if i == w or row & wbit:
                reach[i] = row | grown
        return True

    def closure(self) -> list[int]:
        """Per value, the bitset of the values it beats, told or implied (transitively closed)."""
        return self.reach

    def beats(self, a: int, b: int) -> bool:
        return bool(self.closure()[self.index[a]] >> self.index[b] & 1)

    def linear(self) -> list[int]:
        """An order that agrees with every fact: each time, the first value (in ``values``' order)
        that nothing left is known to beat. A server that is no total order (a cycle) gets the
        first value left in ``values``' order there."""
        reach = self.closure()
        left = list(range(len(self.values)))
        out: list[int] = []
        while left:
            beaten = 0
            for j in left:
                beaten |= reach[j]
            i = next((i for i in left if not beaten >> i & 1), left[0])
            left.remove(i)
            out.append(self.values[i])
        return out

    def gaps(self, order: Sequence[int]) -> list[int]:
        """Positions k where order[k] is not known to beat order[k + 1]."""
        return [k for k in range(len(order) - 1) if not self.beats(order[k], order[k + 1])]

    def open_pairs(self, order: Sequence[int]) -> list[tuple[int, int]]:
        """Every pair whose order no fact gives, earlier value first."""
        reach = self.closure()
        idx = [self.index[v] for v in order]
        return [
            (order[a], order[b])
            for a in range(len(order))
            for b in range(a + 1, len(order))
            if not (reach[idx[a]] >> idx[b] & 1 or reach[idx[b]] >> idx[a] & 1)
        ]

    def beats_rest(self, order: Sequence[int], k: int) -> bool:
        """order[k] is known to beat every value after it."""
        row = self.closure()[self.index[order[k]]]
        return all(row >> self.index[v] & 1 for v in order[k + 1 :])


def order_verdict(chosen: int | None, offered_first: int, best: int) -> bool | None:
    """Offered every accepted value with ``offered_first`` first, the server chose ``chosen``:
    ours if it is our first and not the server's best (contract/cli.md ``server_order``)."""
    if chosen is None:
        return None
    return not (chosen == offered_first and chosen != best)


async def prove_order(
    offer: Offerer,
    pick: Picker,
    facts: Facts,
    *,
    order_probe: bool = True,
    pairs: int = PAIR_BUDGET,
    window: int = WINDOW,
) -> tuple[list[int], bool | None]:
    """The values in the server's order, and whose order counts (None: fewer than two values, or
    no clear answer).

    Wave 1 asks, at each place where the guess is not known to hold, for that value against
    everything after it (one probe per block boundary when the server's order agrees with the
    blocks'), and (``order_probe``) every value reversed: whose order counts. Later waves ask every open
    pair at once when there are at most ``pairs`` of them, else ``window`` places from the first
    open one, each against everything after it (a removal chain's next probes, guessed ahead).
    Each wave adds a fact or ends the proof; what stays open keeps the guess's order.
    """
    order = facts.linear()
    if len(order) < 2:
        return order, None
    reverse = tuple(reversed(order))
    reversed_choice: int | None = None
    retried = False
    for wave in range(len(order) ** 2 + 2):
        order = facts.linear()
        gaps = facts.gaps(order)
        if (wave or not order_probe) and not gaps:
            break
        if wave == 0:
            offers = [tuple(order[k:]) for k in gaps]
            if order_probe:
                offers.append(reverse)
        else:
            open_pairs = facts.open_pairs(order)
            if len(open_pairs) <= pairs:
                offers = list(open_pairs)
            else:
                first = gaps[0]
                spots = range(first, min(first + window, len(order) - 1))
                offers = [tuple(order[k:]) for k in spots if not facts.beats_rest(order, k)]
        results = await asyncio.gather(*(offer(o) for o in offers))
        if wave == 0 and order_probe:
            reversed_choice = pick(results[-1])
        new = False
        for offered, result in zip(offers, results, strict=True):
            chosen = pick(result)
            if chosen is not None and chosen in offered:
                new |= facts.add(chosen, offered)
        if not new and wave:
            if retried or not any(r.end in RETRY_ENDS for r in results):
                break
            retried = True  # one lost connection does not end the proof
    order = facts.linear()
    return order, order_verdict(reversed_choice, reverse[0], order[0])
