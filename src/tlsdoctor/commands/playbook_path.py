"""The playbook's path steps (commands/playbook.py): what the default handshake's ending calls for, each
a run function and the predicate that runs, skips or drops it (checks/path.py, checks/ramp.py,
checks/confirm.py)."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Sequence

from tlsdoctor import runner
from tlsdoctor.commands import evidence
from tlsdoctor.commands.playbook_reads import (
    FETCHES,
    default,
    direct,
    first_pair,
    no_route,
    route,
    runs,
    seen,
    seen_after_path,
    target_route,
)
from tlsdoctor.graph import DROP, Reason, State
from tlsdoctor.inference.rules.helpers import SILENT_ENDS
from tlsdoctor.model import CheckResult
from tlsdoctor.observations.path import MssProbe, Reproduction
from tlsdoctor.observations.tls import HandshakeOutcome

EARLY_MIN_S, EARLY_FACTOR, EARLY_MAX_S = 1.0, 4.0, 2.0


async def run_early_confirm(st: State) -> Sequence[CheckResult]:
    """The re-runs of (default, small MSS), started while the default handshake is still silent.

    A small-MSS handshake that completed while the default one stays silent (EARLY_FACTOR times longer
    than the small one took, within EARLY_MIN_S..EARLY_MAX_S) is the path-MTU black hole's picture; its
    confirmation re-runs (checks/confirm.py) would otherwise start only after the default's whole
    timeout, and themselves last one more. Started now, they end about when the default does; made moot
    when the default answers after all (``moot_early``), and used by ``run_confirm`` only when it ended
    silent.
    """
    from tlsdoctor.checks.confirm import ConfirmCheck

    ctx, start = st.ctx, time.monotonic()
    try:
        mss = await asyncio.wait_for(st.wait("mss"), ctx.timeout)
    except TimeoutError:
        return []
    other = evidence.early_pair(list(mss)) if mss else None
    if st.finished("handshake.default") or other is None:
        return []
    took = max(o.elapsed_ms for r in mss for o in r.observations if isinstance(o, MssProbe)) / 1000
    wait = min(EARLY_MAX_S, max(EARLY_MIN_S, EARLY_FACTOR * took)) - (time.monotonic() - start)
    try:
        await asyncio.wait_for(st.wait("handshake.default"), max(0.0, wait))
        return []
    except TimeoutError:
        pass
    found = route(st)
    assert found is not None
    return [await runner.run_one(ConfirmCheck(found, pair=(("default", "timeout"), other)), ctx)]


def early_active(st: State) -> bool:
    """The early confirmation stands: the default ended silent, and a small-MSS probe answered."""
    first = default(st)
    if not direct(st) or first is None or first.outcome not in SILENT_ENDS:
        return False
    return evidence.early_pair(seen(st)) is not None


def moot_early(st: State) -> Reason:
    if no_route(st):
        return DROP
    if not st.finished("handshake.default"):
        return None
    first = default(st)
    if first is None or first.outcome not in SILENT_ENDS:
        return DROP  # the default answered after all: nothing to confirm
    before_path = (*FETCHES, "variants", "accepts", "mss", "syn-sample")
    if all(st.finished(n) for n in before_path) and evidence.early_pair(seen(st)) is None:
        return DROP
    return None


async def run_reset_origin(st: State) -> Sequence[CheckResult]:
    from tlsdoctor.checks.path import ResetOriginCheck

    return [await runner.run_one(ResetOriginCheck(target_route(st)), st.ctx)]


def skip_reset_origin(st: State) -> Reason:
    first = default(st)
    ok = direct(st) and first is not None and first.outcome is HandshakeOutcome.RESET
    return None if ok else DROP


async def run_ramp(st: State) -> Sequence[CheckResult]:
    from tlsdoctor.checks.ramp import RampCheck

    return [await runner.run_one(RampCheck(target_route(st)), st.ctx)]


def skip_ramp(st: State) -> Reason:
    """The first attempts disagree (one silent, its twin answered): does the server fail more as load
    grows?"""
    silent, answered = first_pair(st)
    return None if direct(st) and silent and answered else DROP


async def run_syn_retest(st: State) -> Sequence[CheckResult]:
    from tlsdoctor.checks.ramp import SynRetestCheck

    return [await runner.run_one(SynRetestCheck(target_route(st)), st.ctx)]


def skip_syn_retest(st: State) -> Reason:
    """Every first attempt silent, and later connects unanswered while ours were held: now that ours
    are closed, is the SYN path open?"""
    silent, answered = first_pair(st)
    r = route(st)
    if not (direct(st) and silent and not answered and r is not None):
        return DROP
    return None if evidence.syn_dropped_after_accept(seen(st), r.address) else DROP


async def run_stability(st: State) -> Sequence[CheckResult]:
    from tlsdoctor.checks.ramp import StabilityCheck

    silent, answered = first_pair(st)
    if st.ctx.options.repeat > 0 or (silent and answered):
        return [await runner.run_one(StabilityCheck(target_route(st)), st.ctx)]
    # No --repeat, but the first probes saw loss: a short repeat on our own.
    signs = evidence.loss_signs(seen(st))
    return [await runner.run_one(evidence.auto_stability(target_route(st), signs, seen(st)), st.ctx)]


def skip_stability(st: State) -> Reason:
    if not direct(st):
        return DROP
    silent, answered = first_pair(st)
    if st.ctx.options.repeat > 0 or (silent and answered):
        return None
    return None if st.ctx.options.repeat == 0 and evidence.loss_signs(seen(st)) else DROP


async def run_repeat(st: State) -> Sequence[CheckResult]:
    from tlsdoctor.checks.repeat import RepeatCheck

    return [await runner.run_one(RepeatCheck(target_route(st), st.ctx.options.repeat), st.ctx)]


def skip_repeat(st: State) -> Reason:
    return None if st.ctx.options.repeat > 0 and route(st) is not None else DROP


async def run_pmtu(st: State) -> Sequence[CheckResult]:
    from tlsdoctor.checks.icmp import PmtuCheck

    return [await runner.run_one(PmtuCheck(target_route(st).address), st.ctx)]


def skip_pmtu(st: State) -> Reason:
    """The default handshake stalled: do large packets vanish without ICMP?"""
    first = default(st)
    return None if direct(st) and first is not None and first.outcome is HandshakeOutcome.TIMEOUT else DROP


def confirm_pair(st: State) -> tuple[tuple[str, str], tuple[str, str]] | None:
    """The decisive probes disagree (the default failed silently, another probe answered): the pair
    whose difference counts only if it reproduces."""
    from tlsdoctor.checks.confirm import answering_probe

    got = runs(st)
    first_attempt = got.get("default")
    first = first_attempt.outcome.value if first_attempt is not None else evidence.first_connect(seen(st))
    if first is None or first == HandshakeOutcome.OK.value:
        return None
    if first_attempt is not None and first_attempt.outcome not in SILENT_ENDS:
        return None
    mss = [o for r in seen(st) for o in r.observations if isinstance(o, MssProbe)]
    other = answering_probe(got, mss)
    return None if other is None else (("default", first), other)


async def run_confirm(st: State) -> Sequence[CheckResult]:
    """Re-run the pair (checks/confirm.py); or, when the early re-runs already did, take theirs with the
    default's real first outcome (they started before the default ended)."""
    from tlsdoctor.checks.confirm import ConfirmCheck

    first = default(st)
    if early_active(st) and first is not None:
        done = st.found.get("confirm.early", [])
        if not done:
            other = evidence.early_pair(seen(st))
            assert other is not None
            pair = (("default", first.outcome.value), other)
            return [await runner.run_one(ConfirmCheck(target_route(st), pair=pair), st.ctx)]
        fixed = tuple(
            dataclasses.replace(o, first=first.outcome.value)
            if isinstance(o, Reproduction) and o.probe == "default"
            else o
            for o in done[0].observations
        )
        return [dataclasses.replace(done[0], observations=fixed)]
    decisive = confirm_pair(st)
    assert decisive is not None
    return [await runner.run_one(ConfirmCheck(target_route(st), pair=decisive), st.ctx)]


def skip_confirm(st: State) -> Reason:
    if not direct(st):
        return DROP
    if early_active(st):
        return None
    return None if confirm_pair(st) is not None else DROP


async def run_follow_up(st: State) -> Sequence[CheckResult]:
    signs = evidence.loss_signs(seen_after_path(st))
    auto = evidence.auto_stability(target_route(st), signs, seen_after_path(st))
    return [await runner.run_one(auto, st.ctx)]


def skip_follow_up(st: State) -> Reason:
    """What the path probes found can itself be a sign of loss (a ramp with failures, a failure that did
    not reproduce): follow it with the short repeat, unless one already ran."""
    if not direct(st) or st.ctx.options.repeat != 0:
        return DROP
    if any(r.id == "path.stability" for r in seen_after_path(st)):
        return DROP
    return None if evidence.loss_signs(seen_after_path(st)) else DROP


async def run_held_ramp(st: State) -> Sequence[CheckResult]:
    """Does the server fail more as load grows? (It waits for hello.size: our own connections are
    released first, so the ramp measures the server, not us.)"""
    from tlsdoctor.checks.ramp import RampCheck

    return [await runner.run_one(RampCheck(target_route(st)), st.ctx)]


def skip_held_ramp(st: State) -> Reason:
    after = [*seen_after_path(st), *st.results("path.follow-up")]
    if not direct(st) or any(r.id == "server.ramp" for r in after):
        return DROP
    return None if evidence.held_unanswered(st.ctx, after) else DROP
