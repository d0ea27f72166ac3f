"""Enumeration by removal: offer everything, note what the server chose, offer the rest again.

About one handshake per accepted value plus one that ends the chain (testssl.sh's and
sslyze's one-suite-per-connection approach costs one handshake per *candidate*). With a
server that has a preference, the removal order *is* that preference; :func:`server_order`
tells whether it has one by offering the accepted list reversed.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, Protocol, TypeVar

from tlsdoctor.scan.probe import ProbeResult


class Answer(Protocol):
    """What a chain needs from one offer's answer: how it ended (ProbeResult.end's words)."""

    @property
    def end(self) -> str: ...


A = TypeVar("A", bound=Answer)
Offerer = Callable[[tuple[int, ...]], Awaitable[ProbeResult]]
Picker = Callable[[ProbeResult], int | None]
RETRY_ENDS = frozenset({"timeout", "reset", "closed", "connect"})  # ambiguous: not a clear "no"


@dataclasses.dataclass(slots=True)
class Chain(Generic[A]):
    """The accepted values in the order chosen, and every answer it took (raw probes, or the
    stdlib handshakes of scan/tls13.py)."""

    accepted: list[int] = dataclasses.field(default_factory=list)
    probes: list[A] = dataclasses.field(default_factory=list)
    tested: int = 0  # distinct candidates offered at least once
    server_order: bool | None = None  # set by remove_in_blocks (contract/cli.md ``server_order``)


async def remove_chosen(
    offer: Callable[[tuple[int, ...]], Awaitable[A]],
    candidates: Sequence[int],
    pick: Callable[[A], int | None],
    first: A | None = None,
) -> Chain[A]:
    """Run the removal chain over ``candidates``; ``first`` is a probe already made with all of them.

    Bounded: at most len(candidates) + 2 probes, whatever the server does. A chosen value
    that was not offered ends the chain (the server is broken; nothing it says later counts).
    An ambiguous end (silence, reset, FIN without alert) is retried once, so one lost
    connection does not truncate the list; an alert is a clear "nothing else".
    """
    chain: Chain[A] = Chain(tested=len(set(candidates)))
    remaining = list(dict.fromkeys(candidates))
    retried = False
    result = first
    while remaining and len(chain.probes) < len(candidates) + 2:
        if result is None:
            result = await offer(tuple(remaining))
        chain.probes.append(result)
        chosen = pick(result)
        if chosen is None:
            if result.end in RETRY_ENDS and not retried and chain.accepted:
                retried, result = True, None
                continue
            break
        if chosen not in remaining:
            break
        chain.accepted.append(chosen)
        remaining.remove(chosen)
        result = None
    return chain


async def server_order(offer: Offerer, accepted: Sequence[int], pick: Picker) -> bool | None:
    """True: the server imposes its order; False: it follows ours; None: fewer than two values
    or no clear answer (contract/cli.md ``server_order``)."""
    if len(accepted) < 2:
        return None
    reverse = tuple(reversed(accepted))
    return _order_verdict(pick(await offer(reverse)), reverse[0], accepted[0])


def _order_verdict(chosen: int | None, offered_first: int, best: int) -> bool | None:
    """Offered every accepted value with ``offered_first`` first, the server chose ``chosen``:
    ours if it is our first and not the server's best."""
    if chosen is None:
        return None
    return not (chosen == offered_first and chosen != best)


async def remove_in_blocks(
    offer: Offerer, blocks: Sequence[Sequence[int]], pick: Picker, first: ProbeResult | None = None
) -> Chain[ProbeResult]:
    """:func:`remove_chosen` over each block at once, then the blocks' lists merged into the
    server's order, and whose order counts (``Chain.server_order``).

    The sequential chain costs one round trip per accepted value; here the rounds are those of
    the longest block. The merge assumes the blocks come in the server's order and checks it
    with one probe per boundary (block j's least preferred value against every value of the
    later blocks: if the server still chooses it, all of block j beats all later ones). Where a
    check fails the lists are merged by offering their heads (about one probe per value
    there), so a server that interleaves the blocks costs probes, never a wrong order. The
    order probe (every value, reversed) goes with the checks. ``first`` is a probe already
    made with all the candidates; it starts the chain of the block holding its choice.
    """
    lists_in = [tuple(dict.fromkeys(b)) for b in blocks if b]
    if len(lists_in) <= 1:
        chain = await remove_chosen(offer, lists_in[0] if lists_in else (), pick, first)

        async def counted(values: tuple[int, ...]) -> ProbeResult:
            chain.probes.append(result := await offer(values))
            return result

        chain.server_order = await server_order(counted, chain.accepted, pick)
        return chain
    chosen = pick(first) if first is not None else None
    owner = next((i for i, b in enumerate(lists_in) if chosen in b), None)
    chains = await asyncio.gather(
        *(remove_chosen(offer, b, pick, first if i == owner else None) for i, b in enumerate(lists_in))
    )
    out: Chain[ProbeResult] = Chain(tested=len({c for b in lists_in for c in b}))
    for ch in chains:
        out.probes += ch.probes
    lists = [ch.accepted for ch in chains if ch.accepted]
    if len(lists) <= 1:
        out.accepted = list(lists[0]) if lists else []
        if len(out.accepted) > 1:
            reverse = tuple(reversed(out.accepted))
            out.probes.append(r := await offer(reverse))
            out.server_order = _order_verdict(pick(r), reverse[0], out.accepted[0])
        return out
    guess = tuple(c for lst in lists for c in lst)
    reverse = tuple(reversed(guess))
    checks = [(lst[-1], *(c for later in lists[j + 1 :] for c in later)) for j, lst in enumerate(lists[:-1])]
    results = await asyncio.gather(*(offer(c) for c in checks), offer(reverse))
    out.probes += results
    passed = [pick(r) == c[0] for r, c in zip(results, checks, strict=False)]
    out.accepted = await _merge(offer, pick, lists, passed, out)
    out.server_order = _order_verdict(pick(results[-1]), reverse[0], out.accepted[0])
    return out


async def _merge(
    offer: Offerer, pick: Picker, lists: list[list[int]], passed: list[bool], out: Chain[ProbeResult]
) -> list[int]:
    """Merge the sorted lists: take the earliest live list's head without a probe when its
    boundary check passed (or it is the only one left), else offer every live head."""
    heads = [0] * len(lists)
    merged: list[int] = []
    retried = False
    while True:
        live = [j for j in range(len(lists)) if heads[j] < len(lists[j])]
        if not live:
            return merged
        a = live[0]
        if len(live) == 1 or passed[a]:
            merged.append(lists[a][heads[a]])
            heads[a] += 1
            continue
        r = await offer(tuple(lists[j][heads[j]] for j in live))
        out.probes.append(r)
        chosen = pick(r)
        winner = next((j for j in live if lists[j][heads[j]] == chosen), None)
        if winner is None:
            if r.end in RETRY_ENDS and not retried:
                retried = True
                continue
            for j in live:  # no clear answer: the rest in block order, as the lists stand
                merged += lists[j][heads[j] :]
            return merged
        merged.append(lists[winner][heads[winner]])
        heads[winner] += 1
