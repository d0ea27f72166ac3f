"""Enumeration by removal: offer everything, note what the server chose, offer the rest again.

About one handshake per accepted value plus one that ends the chain (testssl.sh's and
sslyze's one-suite-per-connection approach costs one handshake per *candidate*). With a
server that has a preference, the removal order *is* that preference; :func:`server_order`
tells whether it has one by offering the accepted list reversed.

One chain costs one round trip per accepted value, one after the other. Over a long path that
is the scan's length, so :func:`remove_in_blocks` runs a chain per block of candidates side by
side, forks a chain by family while connections are free, and proves the order of what the
chains found with few, parallel probes (scan/order.py): about as many handshakes, a fraction of
the round trips.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Generic, Protocol, TypeVar

from tlsdoctor.scan.gate import URGENCY
from tlsdoctor.scan.order import RETRY_ENDS, Facts, order_verdict, prove_order
from tlsdoctor.scan.probe import ProbeResult


class Answer(Protocol):
    """What a chain needs from one offer's answer: how it ended (ProbeResult.end's words)."""

    @property
    def end(self) -> str: ...


A = TypeVar("A", bound=Answer)
Offerer = Callable[[tuple[int, ...]], Awaitable[ProbeResult]]
Picker = Callable[[ProbeResult], int | None]


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
    return order_verdict(pick(await offer(reverse)), reverse[0], accepted[0])


async def remove_in_blocks(
    offer: Offerer,
    blocks: Sequence[Sequence[int]],
    pick: Picker,
    first: ProbeResult | None = None,
    *,
    family: Callable[[int], Hashable] | None = None,
    idle: Callable[[], bool] = lambda: True,
    order_probe: bool = True,
    serial: bool = False,
) -> Chain[ProbeResult]:
    """Every accepted value of ``blocks`` in the server's order, and whose order counts.

    Discovery: one removal chain per block, all at once. With ``family``, a chain that finds a
    value goes on as two, side by side: one over that value's family (the same cipher with
    another key exchange or signature, which servers list next to each other), one over the
    rest of the block. A block's depth is then about the number of families the server takes
    from it, not the number of values. Order: every answer is a fact (scan/order.py); the facts'
    order, ties in block order, is proven by :func:`~tlsdoctor.scan.order.prove_order`, which
    costs one wave where the server's order agrees with the blocks' and a few where it does
    not, never a wrong order. ``first`` is a probe already made with all the candidates.
    ``idle``: whether a fork would make no other probe wait; ``order_probe``: ask whether the
    server imposes its order (``Chain.server_order``; one probe more).

    ``serial``: the blocks run as one removal chain, in block order, without forks: where
    handshakes, not round trips, are what a scan waits for (a server on this machine or next to
    it, Prober.serial), the fewest handshakes win: one per accepted value and one more, and each
    answer already orders its value before all that remain, so nothing is left to prove. The
    chain keeps one retry per block it stands for (a lost connection costs what it costs there).
    """
    lists_in = [tuple(dict.fromkeys(b)) for b in blocks if b]
    retries = 1
    if serial:
        retries, family = max(1, len(lists_in)), None
        lists_in = [tuple(dict.fromkeys(c for b in lists_in for c in b))] if lists_in else []
    candidates = tuple(c for b in lists_in for c in b)
    out: Chain[ProbeResult] = Chain(tested=len(set(candidates)))
    seen: list[tuple[int, tuple[int, ...]]] = []  # (chosen, offered) of every clear answer

    def note(values: tuple[int, ...], result: ProbeResult) -> ProbeResult:
        out.probes.append(result)
        chosen = pick(result)
        if chosen is not None and chosen in values:
            seen.append((chosen, values))
        return result

    async def counted(values: tuple[int, ...]) -> ProbeResult:
        return note(values, await offer(values))

    chosen = pick(first) if first is not None else None
    owner = next((i for i, b in enumerate(lists_in) if chosen in b), None)
    if first is not None and owner is not None:
        note(candidates, first)
    found: list[tuple[tuple[int, ...], int]] = []
    await asyncio.gather(
        *(
            _discover(
                counted,
                b,
                pick,
                found,
                family,
                idle,
                first if i == owner else None,
                key=(i,),
                retries=retries,
            )
            for i, b in enumerate(lists_in)
        )
    )
    # Ties in the order of discovery (block by block, each value's family right after it: the
    # likely server order). Without the order probe a server that follows the client cannot be
    # told apart, so ties follow our order: such a server then gets exactly our order back.
    rank = {c: i for i, c in enumerate(candidates)}
    if order_probe:
        facts = Facts([value for _, value in sorted(found)])
    else:
        facts = Facts(sorted({value for _, value in found}, key=rank.__getitem__))
    for winner, offered in seen:
        facts.add(winner, offered)
    out.accepted, out.server_order = await prove_order(counted, pick, facts, order_probe=order_probe)  # type: ignore[arg-type]
    if out.server_order is False:  # the server follows the client: the order is ours
        out.accepted.sort(key=rank.__getitem__)
    return out


async def _discover(
    offer: Offerer,
    block: Sequence[int],
    pick: Picker,
    found: list[tuple[tuple[int, ...], int]],
    family: Callable[[int], Hashable] | None,
    idle: Callable[[], bool],
    first: ProbeResult | None = None,
    *,
    key: tuple[int, ...],
    found_before: bool = False,
    retries: int = 1,
) -> None:
    """A removal chain over ``block`` that forks by ``family`` after each find; ``found`` gets
    (``key`` + the find's place in the chain, value). An ambiguous end (silence, reset, FIN) is
    asked again once per chain, and only once the chain found something (``found_before``: its
    parent did), so that one lost connection does not truncate a list: the removal chain's rule
    (remove_chosen). ``retries``: the second chances left (the parent's, when it forked)."""
    remaining = list(block)
    result = first
    for _ in range(len(block) + 2):
        if not remaining:
            return
        if result is None:
            result = await offer(tuple(remaining))
        chosen = pick(result)
        if chosen is None:
            if result.end in RETRY_ENDS and retries > 0 and (found_before or len(remaining) < len(block)):
                retries, result = retries - 1, None
                continue
            return
        if chosen not in remaining:
            return  # the server chose what was not offered: nothing it says later counts
        step = (*key, len(block) - len(remaining))
        found.append((step, chosen))
        URGENCY.set(URGENCY.get() - 1)  # a chain that finds is likely the critical path
        remaining.remove(chosen)
        result = None
        if family is not None and idle():
            kin = [c for c in remaining if family(c) == family(chosen)]
            rest = [c for c in remaining if family(c) != family(chosen)]
            if kin and rest:
                forks = ((kin, None), (rest, family))
                await asyncio.gather(
                    *(
                        _discover(
                            offer,
                            part,
                            pick,
                            found,
                            fam,
                            idle,
                            key=(*step, i),
                            found_before=True,
                            retries=retries,
                        )
                        for i, (part, fam) in enumerate(forks)
                    )
                )
                return
