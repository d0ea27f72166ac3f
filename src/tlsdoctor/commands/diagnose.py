"""The diagnose command: run the playbook (commands/playbook.py, a declared graph of probes), then infer.

Every probe whose dependencies are done runs at once, so a dead endpoint costs about one timeout, and
the report shows when each check started (``checks[].started_ms``) and the chain of checks that decided
how long the run took (``critical_path``).
"""

from __future__ import annotations

import time

from tlsdoctor import graph, runner, timeline
from tlsdoctor.commands.playbook import NODES
from tlsdoctor.commands.reach import resolve
from tlsdoctor.context import Context
from tlsdoctor.inference import engine
from tlsdoctor.model import Report, TargetInfo

__all__ = ["diagnose", "resolve"]


async def diagnose(ctx: Context) -> Report:
    """Run the playbook against ctx.options and infer the causes."""
    start = time.monotonic()
    opts = ctx.options
    state = graph.State(ctx)
    # Every probe is judged against our own event loop's stalls (runner.watching), and stamped on the
    # run's timeline (runner.timeline).
    with runner.timeline():
        async with runner.watching():
            results = await graph.execute(NODES, state)
    verdict, causes = engine.diagnose(results)
    addresses = tuple(state.values.get("addresses", ()))
    target = TargetInfo(host=opts.host, port=opts.port, servername=ctx.servername, addresses=addresses)
    return Report(
        command="diagnose",
        target=target,
        verdict=verdict,
        causes=tuple(causes),
        checks=tuple(results),
        duration_ms=(time.monotonic() - start) * 1000,
        critical_path=timeline.critical_path(results),
    )
