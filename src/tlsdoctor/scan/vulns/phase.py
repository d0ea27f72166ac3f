"""The vulnerability phase of a scan: every wire probe at once (each holds one of the scan's
``--max-connections`` slots while it talks), started as soon as the version probes said which
versions there are; then the verdicts that the scan's own suite lists give, once those exist.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TYPE_CHECKING

from tlsdoctor.scan.vulns import (
    ccs,
    heartbleed,
    hello_answers,
    legacy_offers,
    poodle,
    renegotiation,
    robot,
    suite_list,
    ticketbleed,
)
from tlsdoctor.scan.vulns.base import IDS, Vulnerability, unknown
from tlsdoctor.scan.vulns.link import PART

if TYPE_CHECKING:
    from tlsdoctor.scan.probe import ProbeResult
    from tlsdoctor.scan.prober import Prober
    from tlsdoctor.scan.result import ScanData
    from tlsdoctor.wire.codepoints import ProtocolVersion


async def probe(prober: Prober, supported: dict[ProtocolVersion, ProbeResult], data: ScanData) -> None:
    """The probes that talk to the server; their results go to ``data.vulnerabilities``."""
    families = await asyncio.gather(
        _one(heartbleed.run(prober, supported)),
        _one(ccs.run(prober, supported)),
        _one(robot.run(prober, supported)),
        _one(ticketbleed.run(prober, supported)),
        _one(renegotiation.run(prober, supported)),
        _one(poodle.run(prober, supported)),
        hello_answers.run(prober, supported),
        legacy_offers.run(prober, supported),
    )
    data.vulnerabilities = [v for family in families for v in family]


async def _one(probe: Awaitable[Vulnerability]) -> list[Vulnerability]:
    return [await probe]


def complete(data: ScanData) -> list[Vulnerability]:
    """Every contract id once, in the contract's order: the wire probes' results, the suite-list
    verdicts, and an undecided entry for whatever did not run (no version answered)."""
    have = {v.id: v for v in data.vulnerabilities}
    if data.supported():
        have.update((v.id, v) for v in suite_list.run(data))
    why = "not tested: no protocol version answered the scan's version probes"
    if PART in data.untested:
        why = data.untested[PART]
    return [have.get(i) or unknown(i, why) for i in IDS]
