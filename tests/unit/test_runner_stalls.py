"""Our own stalls are not the network's fault (issue 10 item 2): the runner's loop watch, re-run, marking.

The checks here block the real event loop with ``time.sleep`` (what a synchronous parse of a huge
``--ca-file``, or a starved CPU, does to every probe in flight) and report a failure only when they were
blocked, as a probe whose deadline the stall ate would.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time

from helpers import hs

from tlsdoctor import runner
from tlsdoctor.context import Context, Options
from tlsdoctor.inference import engine
from tlsdoctor.inference.causes import CauseId
from tlsdoctor.inference.rules import Match, Rule
from tlsdoctor.model import CheckResult, Evidence, Status, Verdict
from tlsdoctor.observations.base import PEER_DECIDES_WITHIN_S, Observation
from tlsdoctor.observations.cert import CertificateProblem, ClockOffset, ProblemKind
from tlsdoctor.observations.path import LoopStall
from tlsdoctor.observations.tls import HandshakeOutcome

CTX = Context(options=Options(host="198.18.0.10", timeout=2.0))


@dataclasses.dataclass
class Blocking:
    """Blocks the loop for ``block`` seconds on the runs listed in ``blocked_runs``; FAIL when blocked."""

    blocked_runs: tuple[int, ...]
    block: float = 0.4
    ending: HandshakeOutcome | None = None  # the handshake's end reported with a failure
    found: tuple[Observation, ...] = ()  # other observations reported with a failure
    calls: int = 0
    id: str = "probe"
    layer: str = "tcp"

    def budget(self, ctx: Context) -> float:
        return 5.0

    async def run(self, ctx: Context) -> CheckResult:
        self.calls += 1
        await asyncio.sleep(0.06)  # let the heartbeat take its first beat
        blocked = self.calls in self.blocked_runs
        if blocked:
            time.sleep(self.block)
        await asyncio.sleep(0.12)  # the heartbeat wakes (late) while the check is still running
        status = Status.FAIL if blocked or not self.blocked_runs else Status.PASS
        found = () if self.ending is None else (hs("default", self.ending),)
        found = () if status is Status.PASS else (*found, *self.found)
        return CheckResult(
            id=self.id, status=status, summary="timed out" if blocked else "ok", observations=found
        )


async def watched(check: Blocking) -> CheckResult:
    async with runner.watching():
        return await runner.run_one(check, CTX)


def test_a_failure_under_a_stall_is_run_again_and_the_clean_run_kept() -> None:
    check = Blocking(blocked_runs=(1,))
    result = asyncio.run(watched(check))
    assert check.calls == 2
    assert result.status is Status.PASS
    (stall,) = [o for o in result.observations if isinstance(o, LoopStall)]
    assert stall.reliable and stall.stalled_ms >= 300


def test_a_stall_on_the_re_run_too_marks_the_result_unreliable() -> None:
    check = Blocking(blocked_runs=(1, 2))
    result = asyncio.run(watched(check))
    assert check.calls == 2 and result.status is Status.FAIL
    (stall,) = [o for o in result.observations if isinstance(o, LoopStall)]
    assert not stall.reliable and stall.rerun_stalled_ms >= 300


def test_near_miss_a_failure_without_a_stall_is_not_re_run() -> None:
    check = Blocking(blocked_runs=())  # fails, but the loop never stalls: the network's answer
    result = asyncio.run(watched(check))
    assert check.calls == 1 and result.status is Status.FAIL
    assert not any(isinstance(o, LoopStall) for o in result.observations)


def test_near_miss_unwatched_runs_are_left_alone() -> None:
    check = Blocking(blocked_runs=(1,))
    result = asyncio.run(runner.run_one(check, CTX))
    assert check.calls == 1 and result.status is Status.FAIL


def test_engine_lets_no_cause_rest_on_an_unreliable_result() -> None:
    stall = LoopStall(stalled_ms=900.0, rerun=True, reliable=False, rerun_stalled_ms=800.0)
    result = CheckResult(id="probe", status=Status.FAIL, summary="timed out", observations=(stall,))
    cited = Rule(CauseId.TCP_TIMEOUT, lambda f: Match(0.85, [Evidence(check="probe", observation="x")]))
    verdict, causes = engine.diagnose([result], rules=(cited,))
    assert verdict is not Verdict.FAULT
    assert causes[0].confidence < engine.FAULT_THRESHOLD and "stalled" in causes[0].summary


def test_engine_near_miss_a_reliable_re_run_keeps_its_cause() -> None:
    stall = LoopStall(stalled_ms=900.0, rerun=True, reliable=True)
    result = CheckResult(id="probe", status=Status.FAIL, summary="refused", observations=(stall,))
    cited = Rule(CauseId.TCP_REFUSED, lambda f: Match(0.95, [Evidence(check="probe", observation="x")]))
    verdict, causes = engine.diagnose([result], rules=(cited,))
    assert verdict is Verdict.FAULT and causes[0].confidence == 0.95


def test_a_failure_the_peer_decided_is_kept_through_a_short_stall() -> None:
    """An RST or an alert is the server's (or a middlebox's) act: a 0.4 s stall of ours cannot have caused
    it, so it is neither run again nor marked doubtful (under load half the doubtful results were
    firewall resets)."""
    for ending in (HandshakeOutcome.RESET, HandshakeOutcome.ALERT, HandshakeOutcome.VERIFY_FAILED):
        check = Blocking(blocked_runs=(1, 2), ending=ending)
        result = asyncio.run(watched(check))
        assert check.calls == 1 and result.status is Status.FAIL, ending
        assert not any(isinstance(o, LoopStall) for o in result.observations)


def test_near_miss_a_timeout_or_a_long_stall_is_still_run_again() -> None:
    """A timeout is what our stall makes; and a stall over a second might outlast a server's patience."""
    check = Blocking(blocked_runs=(1, 2), ending=HandshakeOutcome.TIMEOUT)
    result = asyncio.run(watched(check))
    assert check.calls == 2
    (stall,) = [o for o in result.observations if isinstance(o, LoopStall)]
    assert not stall.reliable
    check = Blocking(blocked_runs=(1,), block=PEER_DECIDES_WITHIN_S + 0.2, ending=HandshakeOutcome.RESET)
    result = asyncio.run(watched(check))
    assert check.calls == 2 and result.status is Status.PASS


def test_what_the_server_sent_and_a_clock_off_by_days_are_no_stall_of_ours() -> None:
    """The certificate check's analysis runs in a thread and its GIL use shows as a loop stall (about
    0.9 s under load with libfaketime): an expired chain, or a clock 400 days off, is still that."""
    expired = CertificateProblem(problem=ProblemKind.EXPIRED, index=0, subject="CN=x", detail="expired")
    days_off = ClockOffset(source="server Date", offset_s=-400 * 86400.0, rtt_ms=3.0)
    for found in ((expired,), (days_off,)):
        check = Blocking(blocked_runs=(1, 2), found=found)
        result = asyncio.run(watched(check))
        assert check.calls == 1 and result.status is Status.FAIL, found
    # Near miss: an offset no larger than the stall may be the stall itself.
    check = Blocking(blocked_runs=(1, 2), found=(ClockOffset(source="ntp", offset_s=0.5, rtt_ms=3.0),))
    result = asyncio.run(watched(check))
    assert check.calls == 2


@dataclasses.dataclass
class Slow:
    """A check that takes ``seconds`` and, like every check, leaves its duration to the runner."""

    seconds: float
    id: str = "slow"
    layer: str = "client"

    def budget(self, ctx: Context) -> float:
        return 5.0

    async def run(self, ctx: Context) -> CheckResult:
        await asyncio.sleep(self.seconds)
        return CheckResult(id=self.id, status=Status.PASS, summary="ok")


def test_the_runner_stamps_how_long_a_check_took() -> None:
    """The one place a check's duration_ms is measured (the checks do not time themselves)."""
    (result,) = asyncio.run(runner.run([Slow(0.15)], CTX))
    assert result.duration_ms >= 150
