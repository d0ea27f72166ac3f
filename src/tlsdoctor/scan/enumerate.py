"""Enumeration by removal: offer everything, note what the server chose, offer the rest again.

About one handshake per accepted value plus one that ends the chain (testssl.sh's and
sslyze's one-suite-per-connection approach costs one handshake per *candidate*). With a
server that has a preference, the removal order *is* that preference; :func:`server_order`
tells whether it has one by offering the accepted list reversed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Sequence

from tlsdoctor.scan.probe import ProbeResult

Offerer = Callable[[tuple[int, ...]], Awaitable[ProbeResult]]
Picker = Callable[[ProbeResult], int | None]
RETRY_ENDS = frozenset({"timeout", "reset", "closed", "connect"})  # ambiguous: not a clear "no"


@dataclasses.dataclass(slots=True)
class Chain:
    """The accepted values in the order chosen, and every probe it took."""

    accepted: list[int] = dataclasses.field(default_factory=list)
    probes: list[ProbeResult] = dataclasses.field(default_factory=list)
    tested: int = 0  # distinct candidates offered at least once


async def remove_chosen(
    offer: Offerer, candidates: Sequence[int], pick: Picker, first: ProbeResult | None = None
) -> Chain:
    """Run the removal chain over ``candidates``; ``first`` is a probe already made with all of them.

    Bounded: at most len(candidates) + 2 probes, whatever the server does. A chosen value
    that was not offered ends the chain (the server is broken; nothing it says later counts).
    An ambiguous end (silence, reset, FIN without alert) is retried once, so one lost
    connection does not truncate the list; an alert is a clear "nothing else".
    """
    chain = Chain(tested=len(set(candidates)))
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
    chosen = pick(await offer(reverse))
    if chosen is None:
        return None
    return not (chosen == reverse[0] and chosen != accepted[0])
