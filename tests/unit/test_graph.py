"""The playbook executor (tlsdoctor.graph): nodes start when what they wait for ends, side by side when
independent; skips, moot nodes and head starts; every result stamped with when it started and what
released it. Nodes here are small coroutines on the real event loop and the runner's real timeline."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

import pytest

from tlsdoctor import runner
from tlsdoctor.graph import DROP, Node, State, execute
from tlsdoctor.model import CheckResult, Status


def sleeper(check_id: str, seconds: float) -> Node:
    async def run(st: State) -> Sequence[CheckResult]:
        clock = runner._TIMELINE.get()
        assert clock is not None
        started = clock.ms()
        await asyncio.sleep(seconds)
        return [CheckResult(id=check_id, status=Status.PASS, summary="slept", started_ms=started,
                            duration_ms=seconds * 1000)]  # fmt: skip

    return Node(check_id, run)


def with_(node: Node, **changes: object) -> Node:
    fields = {f: getattr(node, f) for f in node.__dataclass_fields__}
    return Node(**{**fields, **changes})  # type: ignore[arg-type]


def run_graph(nodes: Sequence[Node]) -> tuple[list[CheckResult], State, float]:
    async def main() -> tuple[list[CheckResult], State, float]:
        state = State(ctx=None)
        start = time.monotonic()
        with runner.timeline():
            results = await execute(nodes, state)
        return results, state, time.monotonic() - start

    return asyncio.run(main())


def by_id(results: list[CheckResult]) -> dict[str, CheckResult]:
    return {r.id: r for r in results}


def test_independent_nodes_run_side_by_side_and_dependents_after() -> None:
    nodes = [
        sleeper("a", 0.2),
        sleeper("b", 0.2),
        with_(sleeper("c", 0.05), waits_for=("a", "b")),
    ]
    results, _, took = run_graph(nodes)
    got = by_id(results)
    assert [r.id for r in results] == ["a", "b", "c"]  # the table's order
    assert took < 0.4  # a and b together, then c: not 0.45 s in sequence
    a, c = got["a"], got["c"]
    assert a.started_ms is not None and c.started_ms is not None
    assert c.started_ms >= a.started_ms + a.duration_ms - 1
    assert c.waited_for in ("a", "b")
    assert a.waited_for is None


def test_skip_reason_reports_each_check_and_drop_reports_nothing() -> None:
    nodes = [
        sleeper("a", 0.01),
        with_(
            sleeper("b", 0.01),
            waits_for=("a",),
            skip_when=lambda st: "moot: a said so",
            skip_ids=lambda st: ["b.1", "b.2"],
        ),
        with_(sleeper("c", 0.01), waits_for=("a",), skip_when=lambda st: DROP),
    ]
    results, _, _ = run_graph(nodes)
    assert [(r.id, r.status) for r in results] == [
        ("a", Status.PASS),
        ("b.1", Status.SKIP),
        ("b.2", Status.SKIP),
    ]
    assert {r.summary for r in results[1:]} == {"moot: a said so"}
    assert all(r.waited_for == "a" for r in results[1:])


def test_moot_node_is_cancelled_and_reported_skipped_when_it_became_moot() -> None:
    def moot(st: State) -> str | None:
        return "not needed" if st.finished("default") else None

    nodes = [sleeper("default", 0.1), with_(sleeper("slow", 5.0), name="variants", moot_when=moot)]
    results, state, took = run_graph(nodes)
    assert took < 1.0  # cancelled, not waited for
    (skip,) = [r for r in results if r.status is Status.SKIP]
    assert skip.summary == "not needed"
    assert skip.waited_for == "default"
    assert skip.started_ms is not None and skip.started_ms >= 90  # stamped when default ended
    assert "variants" in state.mooted


def test_moot_drop_discards_what_a_node_already_found() -> None:
    nodes = [
        sleeper("fast", 0.01),
        with_(sleeper("slow", 0.1), moot_when=lambda st: DROP if st.finished("slow") else None),
    ]
    results, state, _ = run_graph(nodes)
    assert [r.id for r in results] == ["fast"]
    assert state.results("slow") == []  # predicates no longer see it either


def test_head_start_starts_a_node_before_its_dependency_ends() -> None:
    nodes = [
        sleeper("default", 0.5),
        with_(sleeper("variants", 0.01), waits_for=("default",), head_start=lambda st: 0.1),
    ]
    results, _, _ = run_graph(nodes)
    got = by_id(results)
    assert got["variants"].started_ms is not None
    assert 90 <= got["variants"].started_ms < 400  # after the head start, before default's end


def test_a_node_that_raises_stops_the_run() -> None:
    async def broken(st: State) -> Sequence[CheckResult]:
        await asyncio.sleep(0.01)
        raise ValueError("bad --ca-file")

    nodes = [Node("trust", broken), sleeper("slow", 5.0)]
    start = time.monotonic()
    with pytest.raises(ValueError, match="bad --ca-file"):
        run_graph(nodes)
    assert time.monotonic() - start < 2.0


def test_unknown_dependency_is_a_bug_in_the_table() -> None:
    with pytest.raises(ValueError, match="unknown node"):
        run_graph([with_(sleeper("a", 0.0), waits_for=("nope",))])


def test_a_later_check_inside_a_node_waited_for_the_one_before_it() -> None:
    async def two(st: State) -> Sequence[CheckResult]:
        first = await runner.run_one(_Sleep("one", 0.05), st.ctx or _Ctx())
        second = await runner.run_one(_Sleep("two", 0.05), st.ctx or _Ctx())
        return [first, second]

    results, _, _ = run_graph([sleeper("before", 0.02), Node("pair", two, waits_for=("before",))])
    got = by_id(results)
    assert got["one"].waited_for == "before"
    assert got["two"].waited_for == "one"


class _Ctx:
    observer = None
    timeout = 5.0


class _Sleep:
    layer = "test"

    def __init__(self, check_id: str, seconds: float) -> None:
        self.id = check_id
        self.seconds = seconds

    def budget(self, ctx: object) -> float:
        return 5.0

    async def run(self, ctx: object) -> CheckResult:
        await asyncio.sleep(self.seconds)
        return CheckResult(id=self.id, status=Status.PASS, summary="slept")


def test_a_node_moot_for_a_reason_is_dropped_when_that_turns_out_moot_too() -> None:
    """The clock was reported "not needed", then TCP turned out to reach nothing: no clock row at all."""

    def moot(st: State) -> str | None:
        if st.finished("tcp"):
            return DROP
        return "not needed" if st.finished("certificate") else None

    nodes = [
        sleeper("certificate", 0.02),
        sleeper("tcp", 0.1),
        with_(sleeper("clock", 0.0), waits_for=("certificate",), moot_when=moot),
    ]
    results, state, _ = run_graph(nodes)
    assert [r.id for r in results] == ["certificate", "tcp"]
    assert state.mooted["clock"] == DROP
