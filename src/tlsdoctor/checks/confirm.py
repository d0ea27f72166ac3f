"""Re-run the disagreeing pair: a difference between probes is trusted only when it reproduces.

The differential rules (path-mtu-blackhole, sni-filtered, clienthello-too-large, ...) compare
single-shot probes: the default hello stalls while its twin passes. On a lossy path one lost
packet produces exactly that picture. So when the default failed silently and another probe
answered, both are re-run a few times at once (one timeout in all); the rules then believe the
difference only if every re-run ends the way the first attempt did (rules/path.py: reproducible).
"""

from __future__ import annotations

import asyncio
import dataclasses

from tlsdoctor.checks.handshake import DEFAULT, VARIANTS, Variant, attempt
from tlsdoctor.checks.path import default_handshake
from tlsdoctor.context import Context
from tlsdoctor.model import CheckResult, Status
from tlsdoctor.net.route import Route
from tlsdoctor.observations.path import MssProbe, Reproduction
from tlsdoctor.observations.tcp import TcpConnect
from tlsdoctor.observations.tls import HandshakeAttempt, HandshakeOutcome

ROUNDS = 3  # three agreeing re-runs: a 15 % per-handshake loss fakes a difference 0.3 % of the time
_BY_NAME = {v.name: v for v in (DEFAULT, *VARIANTS)}


def answering_probe(attempts: dict[str, HandshakeAttempt], mss: list[MssProbe]) -> tuple[str, str] | None:
    """The first probe that got a TLS answer where the default did not: (name, outcome)."""
    for p in mss:
        if p.outcome == HandshakeOutcome.OK.value:
            return f"mss-{p.mss}", p.outcome
    for v in VARIANTS:
        a = attempts.get(v.name)
        if a is not None and a.bytes_received > 0 and a.outcome is not HandshakeOutcome.NOT_TLS:
            return v.name, a.outcome.value
    return None


async def rerun(ctx: Context, route: Route, probe: str) -> str:
    """One more attempt of ``probe`` on a fresh connection; its outcome (or connect-<outcome>)."""
    if probe.startswith("mss-"):
        result, _ = await default_handshake(ctx, route, mss=int(probe[4:]))
        return result.attempt.outcome.value if result else "connect-failed"
    variant: Variant = _BY_NAME[probe]
    result, obs = await attempt(ctx, variant, route)
    if result is None:
        tcp = next((o for o in obs if isinstance(o, TcpConnect)), None)
        return f"connect-{tcp.outcome.value}" if tcp else "connect-failed"
    return result.attempt.outcome.value


@dataclasses.dataclass(frozen=True, slots=True)
class ConfirmCheck:
    """The failing probe and the answering one, each re-run ROUNDS times concurrently."""

    route: Route
    pair: tuple[tuple[str, str], ...]  # (probe name, first outcome) for each side
    rounds: int = ROUNDS
    layer: str = "path"

    @property
    def id(self) -> str:
        return "path.reproduce"

    def budget(self, ctx: Context) -> float:
        return ctx.timeout * 2 + 1.0

    async def run(self, ctx: Context) -> CheckResult:
        runs = [[rerun(ctx, self.route, name) for _ in range(self.rounds)] for name, _ in self.pair]
        outcomes = await asyncio.gather(*(asyncio.gather(*r) for r in runs))
        found = tuple(
            Reproduction(probe=name, first=first, outcomes=tuple(got))
            for (name, first), got in zip(self.pair, outcomes, strict=True)
        )
        held = all(r.reproduced for r in found)
        return CheckResult(
            id=self.id,
            status=Status.PASS if held else Status.WARN,
            summary="; ".join(r.describe() for r in found),
            observations=found,
        )
