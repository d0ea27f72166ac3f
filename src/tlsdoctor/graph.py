"""Run a declared graph of probes: each node starts the moment what it waits for has finished.

A playbook (commands/playbook.py) is a literal table of :class:`Node`: what it runs, what it waits for,
and predicates over what earlier nodes observed (run it or skip it, with the reason; drop or keep it when
later evidence makes it moot). The executor starts every node whose dependencies are done, at once, so
independent probes always run side by side and the order in the table is only the order of the report.
Each result is stamped with the check whose end released it (``waited_for``), which is how the report
shows the run's critical path (timeline.py).
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from tlsdoctor.model import CheckResult
from tlsdoctor.runner import skipped

Reason = str | None  # None: go ahead; a sentence: why not (reported as a skip); DROP: not reported at all
DROP = ""


@dataclasses.dataclass(frozen=True, slots=True)
class Node:
    """One step of a playbook.

    ``run(state)`` does the work and returns its check results (usually one runner.run_one). It starts
    when every node in ``waits_for`` has finished, or ``head_start`` seconds after the first of them
    started if that comes sooner (a speculative start: a silent endpoint then costs one timeout, not
    two). ``skip_when`` is asked at the start (a reason: the node is reported as ``skip_ids`` skipped,
    without running). ``moot_when`` is asked whenever a node finishes and once at the end: a reason
    cancels the node (or discards what it found) and reports it skipped. A reason of DROP reports nothing
    (a probe that only matters in some outcomes, like today's silence). ``report``: False for a node whose
    results only feed another node.
    """

    name: str
    run: Callable[[State], Awaitable[Sequence[CheckResult]]]
    waits_for: tuple[str, ...] = ()
    skip_when: Callable[[State], Reason] | None = None
    moot_when: Callable[[State], Reason] | None = None
    head_start: Callable[[State], float | None] | None = None
    skip_ids: Callable[[State], Sequence[str]] | None = None  # the check ids a skip reports (default: name)
    # More nodes to wait for, decided once ``waits_for`` have finished (the route waits for TCP only when
    # there is more than one address to choose from).
    then_waits: Callable[[State], tuple[str, ...]] | None = None
    report: bool = True
    # Works on what was already received (CPU, no network): it gives way, so that the probes released
    # at the same moment put their packets on the wire first.
    local: bool = False


class State:
    """What the nodes have found so far, shared by the predicates; ``values`` carries what a node
    computed for later ones (the addresses, the route)."""

    def __init__(self, ctx: Any) -> None:
        self.ctx = ctx
        self.values: dict[str, Any] = {}
        self.found: dict[str, list[CheckResult]] = {}
        self.events: dict[str, asyncio.Event] = {}  # set when a node has finished
        self.began: dict[str, asyncio.Event] = {}  # set when a node has started (or finished)
        self.ended: dict[str, float] = {}
        self.mooted: dict[str, str] = {}  # node -> why it became moot (its results no longer count)

    def finished(self, name: str) -> bool:
        return name in self.found

    def results(self, *names: str) -> list[CheckResult]:
        """Results of the named nodes that have finished and still count (all of them when no name is
        given)."""
        keys = names or tuple(self.found)
        return [r for k in keys if k not in self.mooted for r in self.found.get(k, ())]

    async def wait(self, name: str) -> list[CheckResult]:
        """Inside a node: wait for another node (one it does not declare, e.g. to read it if it ends)."""
        await self.events.setdefault(name, asyncio.Event()).wait()
        return self.found[name]


def _last_check(results: Sequence[CheckResult]) -> str | None:
    """The check of a node's results that ended last: the one that released its dependents."""
    timed = [r for r in results if r.started_ms is not None]
    if not timed:
        return results[-1].id if results else None
    return max(timed, key=lambda r: (r.started_ms or 0.0) + r.duration_ms).id


def _released(results: Sequence[CheckResult], releaser: str | None) -> list[CheckResult]:
    """Stamp ``waited_for`` on a node's results: the releasing check for those that started with the
    node, and for one that started later inside it, the node's own check that had ended just before
    (the node ran them in sequence)."""
    timed = [r for r in results if r.started_ms is not None]
    first = min((r.started_ms or 0.0 for r in timed), default=0.0)
    out: list[CheckResult] = []
    for r in results:
        if r.waited_for is not None or r.started_ms is None or r.started_ms <= first + 1.0:
            out.append(r if r.waited_for is not None else dataclasses.replace(r, waited_for=releaser))
            continue
        start = r.started_ms
        before = [p for p in timed if p is not r and (p.started_ms or 0.0) + p.duration_ms <= start + 1.0]
        inner = max(before, key=lambda p: (p.started_ms or 0.0) + p.duration_ms).id if before else releaser
        out.append(dataclasses.replace(r, waited_for=inner))
    return out


async def execute(nodes: Sequence[Node], state: State) -> list[CheckResult]:
    """Run the graph; results in the table's order, each node's in the order it returned them."""
    by_name = {n.name: n for n in nodes}
    for n in nodes:
        state.events.setdefault(n.name, asyncio.Event())
        state.began.setdefault(n.name, asyncio.Event())
        for dep in n.waits_for:
            if dep not in by_name:
                raise ValueError(f"node {n.name} waits for unknown node {dep}")
    tasks: dict[str, asyncio.Task[list[CheckResult]]] = {}
    mooted = state.mooted
    instead: dict[str, list[CheckResult]] = {}  # what a moot node reports: skips stamped when it became moot
    failures: list[BaseException] = []

    released_by: dict[str, str | None] = {}

    def last_of(name: str) -> str | None:
        """The check that ended a node: its own last; for a node that reported nothing, what released it,
        or (a first step that reports nothing, like loading trust material) the node's own name."""
        own = _last_check([*state.found.get(name, ()), *instead.get(name, ())])
        return own or released_by.get(name) or name

    def release_of(deps: Sequence[str]) -> str | None:
        done = [d for d in deps if d in state.ended]
        if not done:
            return None
        return last_of(max(done, key=lambda d: state.ended[d]))

    async def one(node: Node) -> list[CheckResult]:
        if node.waits_for:
            head = node.head_start(state) if node.head_start is not None else None
            ends = [asyncio.ensure_future(state.events[d].wait()) for d in node.waits_for]
            starts = [asyncio.ensure_future(state.began[d].wait()) for d in node.waits_for]
            try:
                if head is None:
                    await asyncio.wait(ends)
                else:  # once every dependency has started, wait for their ends at most `head` seconds
                    await asyncio.wait(starts)
                    await asyncio.wait(ends, timeout=head)
            finally:
                for waiter in (*ends, *starts):
                    waiter.cancel()
        more = node.then_waits(state) if node.then_waits is not None else ()
        if more:
            ends = [asyncio.ensure_future(state.events[d].wait()) for d in more]
            try:
                await asyncio.wait(ends)
            finally:
                for waiter in ends:
                    waiter.cancel()
        state.began[node.name].set()
        releaser = released_by[node.name] = release_of((*node.waits_for, *more))
        reason = node.skip_when(state) if node.skip_when is not None else None
        if reason == DROP:
            return []
        if reason is not None:
            return [skipped(i, reason, waited_for=releaser) for i in _ids(node, state)]
        if node.local:
            for _ in range(2):
                await asyncio.sleep(0)
        return _released(list(await node.run(state)), releaser)

    def finish(name: str, task: asyncio.Task[list[CheckResult]]) -> None:
        if task.cancelled():
            state.found[name] = []
        elif task.exception() is None:
            state.found[name] = task.result()
        else:  # a bug in the playbook's own code, or bad input found late (a --ca-file): stop
            state.found[name] = []
            failures.append(task.exception())  # type: ignore[arg-type]
            for other in tasks.values():
                other.cancel()
        state.ended[name] = time.monotonic()
        state.began[name].set()
        state.events[name].set()
        recheck(last_of(name))

    def recheck(cause: str | None) -> None:
        """Ask every node not yet moot whether it is now; ``cause``: the check whose end made it so."""
        for n in nodes:
            current = mooted.get(n.name)
            if n.moot_when is None or current == DROP:
                continue
            reason = n.moot_when(state)
            # Moot once; but a node moot for a reason may still turn out one to drop (TCP reached nothing).
            if reason is None or reason == current or (current is not None and reason != DROP):
                continue
            mooted[n.name] = reason
            instead[n.name] = (
                [] if reason == DROP else [skipped(i, reason, waited_for=cause) for i in _ids(n, state)]
            )
            task = tasks.get(n.name)
            if task is not None and not task.done():
                task.cancel()

    for n in nodes:
        task = asyncio.create_task(one(n))
        task.add_done_callback(functools.partial(finish, n.name))
        tasks[n.name] = task
    try:
        await asyncio.gather(*tasks.values(), return_exceptions=True)
    finally:
        for task in tasks.values():
            task.cancel()
    if failures:
        raise failures[0]
    recheck(None)
    out: list[CheckResult] = []
    for n in nodes:
        if not n.report:
            continue
        if n.name in mooted:
            out.extend(instead[n.name])
            continue
        out.extend(state.found.get(n.name, []))
    return out


def _ids(node: Node, state: State) -> Sequence[str]:
    return node.skip_ids(state) if node.skip_ids is not None else (node.name,)
