"""The diagnose playbook: a declared graph of probes and what each waits for (graph.py runs it).

Read NODES top to bottom: each row is a step, the nodes it waits for, and the predicates over what the
earlier steps observed that run it, skip it, or make it moot. Everything whose dependencies are done runs
at once, so the critical path is the longest chain of ``waits_for`` (the report shows it: critical_path):

    dns --> tcp (per address) -----------------------------------------------.
     '--> route --> handshake.default --> variants (one wave) --> accepts      |  (no route: moot)
     |        |            |                   '---------------.              |
     |        |            '--> certificate --> stores, clock   '--> path probes --> loss follow-up --> ramp
     |        '--> hello.size, mss, syn-sample, confirm.early (beside the default)
    trust ---'

The TLS probes every diagnosis needs (the default handshake, the post-quantum sized hello) start with
TCP, not after it, when there is only one address to try (one name, --connect-to, an IP literal); with
several, or through a proxy, they wait for TCP to say which one works. The differential variants start as
one wave the moment the default fails (or after a short head start while it is still silent, so a silent
endpoint costs one timeout, not two). The certificate is judged as soon as the handshakes that carry it
ended, while the path probes still run.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Sequence

from tlsdoctor import runner
from tlsdoctor.checks.connect import Route
from tlsdoctor.checks.handshake import (
    DEFAULT,
    VARIANTS,
    HandshakeCheck,
    alike,
    handshake_outcomes,
    load_trust,
)
from tlsdoctor.commands import evidence
from tlsdoctor.commands.reach import reach, resolve
from tlsdoctor.graph import DROP, Node, Reason, State
from tlsdoctor.inference.rules.helpers import SILENT_ENDS
from tlsdoctor.model import CheckResult
from tlsdoctor.net.proxy import proxy_for
from tlsdoctor.observations.cert import CertificateProblem, ChainValidation, ProblemKind
from tlsdoctor.observations.path import MssProbe, Reproduction
from tlsdoctor.observations.tls import HandshakeAttempt, HandshakeOutcome, PeerChain

NO_ROUTE = "no route to the target: TCP never connected"
HANDSHAKES = ("handshake.default", "handshake.no-verify", "variants")
HEALTHY = "not needed: the default handshake succeeded"
HEAD_START_S = 0.15  # the default handshake's head start before the variants start beside it
EARLY_MIN_S, EARLY_FACTOR, EARLY_MAX_S = 1.0, 4.0, 2.0


# -- what the predicates read ------------------------------------------------------------------------


def route(st: State) -> Route | None:
    found: Route | None = st.values.get("route")
    return found


def direct(st: State) -> bool:
    r = route(st)
    return r is not None and r.proxy is None


def no_route(st: State) -> Reason:
    """TCP has finished and reached nothing: what started beside it is moot."""
    if st.finished("route") and route(st) is None:
        return NO_ROUTE
    if st.finished("tcp") and st.values.get("tcp_route") is None:
        return NO_ROUTE
    return None


def default(st: State) -> HandshakeAttempt | None:
    return handshake_outcomes(st.results("handshake.default")).get("default")


def default_ok(st: State) -> bool:
    return any(
        isinstance(o, HandshakeAttempt) and o.outcome is HandshakeOutcome.OK
        for r in st.results("handshake.default")
        for o in r.observations
    )


def default_stalled(st: State) -> bool:
    return any(
        isinstance(o, HandshakeAttempt) and o.outcome is HandshakeOutcome.TIMEOUT
        for r in st.results("handshake.default")
        for o in r.observations
    )


def dropped_without_route(st: State) -> Reason:
    return DROP if no_route(st) else None


no_tcp = dropped_without_route  # (the name the table reads best with)


# -- resolve and reach -------------------------------------------------------------------------------


async def run_trust(st: State) -> Sequence[CheckResult]:
    """Trust material (--ca-file, the system store) loads in a thread, off every probe's clock."""
    await load_trust(st.ctx)
    return []


async def run_dns(st: State) -> Sequence[CheckResult]:
    results: list[CheckResult] = []
    st.values["addresses"] = await resolve(st.ctx, results)
    return results


async def run_tcp(st: State) -> Sequence[CheckResult]:
    results: list[CheckResult] = []
    st.values["tcp_route"] = await reach(st.ctx, st.values["addresses"], results)
    return results


def choose_by_tcp(st: State) -> bool:
    """Several addresses, or a proxy: the TLS probes go where TCP got through, so they wait for it."""
    ctx = st.ctx
    proxied = proxy_for(ctx.options.host, ctx.options.proxy, ctx.options.no_proxy) is not None
    return proxied or len(st.values.get("addresses", ())) != 1


def route_waits(st: State) -> tuple[str, ...]:
    return ("tcp",) if choose_by_tcp(st) else ()


async def run_route(st: State) -> Sequence[CheckResult]:
    """Where the TLS probes go: the only address there is, at once; otherwise the one TCP reached."""
    from tlsdoctor.checks.hello import SIZE, HelloCheck

    ctx = st.ctx
    if choose_by_tcp(st):
        found: Route | None = st.values.get("tcp_route")
    else:
        found = Route(address=st.values["addresses"][0])
    st.values["route"] = found
    if found is not None:
        # Its hello bytes (fresh key shares: milliseconds of EC and ML-KEM work) are built before the
        # default handshake's clock starts: its connect time is a yardstick (evidence.loss_signs).
        st.values["size_check"] = HelloCheck("hello.size", SIZE, found, size_only=True).prepared(ctx)
    return []


# -- converse ----------------------------------------------------------------------------------------


async def run_default(st: State) -> Sequence[CheckResult]:
    found = route(st)
    assert found is not None
    return [await runner.run_one(HandshakeCheck(DEFAULT, found), st.ctx)]


def skip_default(st: State) -> Reason:
    return NO_ROUTE if route(st) is None else None


# The certificate fetch: verification off, so the chain arrives whatever the default client thinks of
# it. It starts with the default handshake (not after it fails): the certificate is judged sooner.
NO_VERIFY = next(v for v in VARIANTS if v.name == "no-verify")
WAVE = tuple(v for v in VARIANTS if v is not NO_VERIFY)


def variant_ids(st: State) -> Sequence[str]:
    return [*(f"handshake.{v.name}" for v in WAVE), "hello.matrix"]


async def run_no_verify(st: State) -> Sequence[CheckResult]:
    return [await runner.run_one(HandshakeCheck(NO_VERIFY, _route(st)), st.ctx)]


async def run_variants(st: State) -> Sequence[CheckResult]:
    """Every variant that explains a failure, and the rest of the hello matrix, as one wave."""
    from tlsdoctor.checks.hello import MATRIX, HelloCheck

    found = route(st)
    assert found is not None
    checks: list[runner.Check] = [HandshakeCheck(v, found) for v in WAVE]
    checks.append(HelloCheck("hello.matrix", MATRIX, found))
    return await runner.run(checks, st.ctx)


def variants_head_start(st: State) -> float:
    return min(HEAD_START_S, float(st.ctx.timeout) / 10)


def skip_variants(st: State) -> Reason:
    if route(st) is None:
        return DROP
    return HEALTHY if default_ok(st) else None


def moot_variants(st: State) -> Reason:
    if no_route(st):
        return DROP
    return HEALTHY if default_ok(st) else None


async def run_accepts(st: State) -> Sequence[CheckResult]:
    """No variant completed and the server answered in TLS: ask it what it accepts."""
    from tlsdoctor.checks.accepts import AcceptCheck

    found = route(st)
    assert found is not None
    return [await runner.run_one(AcceptCheck(found), st.ctx)]


def skip_accepts(st: State) -> Reason:
    return None if direct(st) and alike(st.results("dns", "tcp", *HANDSHAKES)) else DROP


async def run_mss(st: State) -> Sequence[CheckResult]:
    from tlsdoctor.checks.path import MssCheck

    found = route(st)
    assert found is not None
    return [await runner.run_one(MssCheck(found), st.ctx)]


def skip_direct_only(st: State) -> Reason:
    return None if direct(st) else DROP


def moot_mss(st: State) -> Reason:
    """Kept only when the default handshake stalled (is it the segment size?)."""
    if no_route(st):
        return DROP
    return DROP if st.finished("handshake.default") and not default_stalled(st) else None


async def run_syn_sample(st: State) -> Sequence[CheckResult]:
    """One connection can hide a lossy path: a burst of bare connects sees SYN loss cheaply."""
    from tlsdoctor.checks.ramp import SynSampleCheck

    found = route(st)
    assert found is not None
    return [await runner.run_one(SynSampleCheck(found), st.ctx)]


def skip_syn_sample(st: State) -> Reason:
    if not direct(st) or st.ctx.options.repeat != 0:
        return DROP
    return None if default_ok(st) else DROP


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
    before_path = ("handshake.no-verify", "variants", "accepts", "mss", "syn-sample")
    if all(st.finished(n) for n in before_path) and evidence.early_pair(seen(st)) is None:
        return DROP
    return None


# -- the path probes the default handshake's ending calls for (checks/path.py, checks/ramp.py) ------


# What each later step decides on: the results the steps before it produced (and hello.size, if it has
# already ended), never those of steps running beside it (the certificate, the clock).
BEFORE_PATH = (*HANDSHAKES, "accepts", "mss", "syn-sample")
PATH = ("path.reset-origin", "server.ramp", "path.syn-retest", "path.stability", "path.repeat", "path.pmtu")


def seen(st: State) -> list[CheckResult]:
    """What the path probes are decided on."""
    return st.results("dns", "tcp", *BEFORE_PATH, "hello.size")


def seen_after_path(st: State) -> list[CheckResult]:
    return st.results("dns", "tcp", *BEFORE_PATH, *PATH, "path.reproduce", "hello.size")


def runs(st: State) -> dict[str, HandshakeAttempt]:
    return handshake_outcomes(seen(st))


def first_pair(st: State) -> tuple[list[HandshakeAttempt], list[HandshakeAttempt]]:
    """The first attempts (the default and its no-verify twin): which stayed silent, which answered."""
    got = runs(st)
    pair = [a for a in (got.get("default"), got.get("no-verify")) if a is not None]
    silent = [a for a in pair if a.outcome in SILENT_ENDS and a.bytes_received == 0]
    answered = [a for a in pair if a.bytes_received > 0]
    return silent, answered


async def run_reset_origin(st: State) -> Sequence[CheckResult]:
    from tlsdoctor.checks.path import ResetOriginCheck

    return [await runner.run_one(ResetOriginCheck(_route(st)), st.ctx)]


def skip_reset_origin(st: State) -> Reason:
    first = default(st)
    ok = direct(st) and first is not None and first.outcome is HandshakeOutcome.RESET
    return None if ok else DROP


async def run_ramp(st: State) -> Sequence[CheckResult]:
    from tlsdoctor.checks.ramp import RampCheck

    return [await runner.run_one(RampCheck(_route(st)), st.ctx)]


def skip_ramp(st: State) -> Reason:
    """The first attempts disagree (one silent, its twin answered): does the server fail more as load
    grows?"""
    silent, answered = first_pair(st)
    return None if direct(st) and silent and answered else DROP


async def run_syn_retest(st: State) -> Sequence[CheckResult]:
    from tlsdoctor.checks.ramp import SynRetestCheck

    return [await runner.run_one(SynRetestCheck(_route(st)), st.ctx)]


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
        return [await runner.run_one(StabilityCheck(_route(st)), st.ctx)]
    # No --repeat, but the first probes saw loss: a short repeat on our own.
    signs = evidence.loss_signs(seen(st))
    return [await runner.run_one(evidence.auto_stability(_route(st), signs, seen(st)), st.ctx)]


def skip_stability(st: State) -> Reason:
    if not direct(st):
        return DROP
    silent, answered = first_pair(st)
    if st.ctx.options.repeat > 0 or (silent and answered):
        return None
    return None if st.ctx.options.repeat == 0 and evidence.loss_signs(seen(st)) else DROP


async def run_repeat(st: State) -> Sequence[CheckResult]:
    from tlsdoctor.checks.repeat import RepeatCheck

    return [await runner.run_one(RepeatCheck(_route(st), st.ctx.options.repeat), st.ctx)]


def skip_repeat(st: State) -> Reason:
    return None if st.ctx.options.repeat > 0 and route(st) is not None else DROP


async def run_pmtu(st: State) -> Sequence[CheckResult]:
    from tlsdoctor.checks.icmp import PmtuCheck

    return [await runner.run_one(PmtuCheck(_route(st).address), st.ctx)]


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
            return [await runner.run_one(ConfirmCheck(_route(st), pair=pair), st.ctx)]
        fixed = tuple(
            dataclasses.replace(o, first=first.outcome.value)
            if isinstance(o, Reproduction) and o.probe == "default"
            else o
            for o in done[0].observations
        )
        return [dataclasses.replace(done[0], observations=fixed)]
    decisive = confirm_pair(st)
    assert decisive is not None
    return [await runner.run_one(ConfirmCheck(_route(st), pair=decisive), st.ctx)]


def skip_confirm(st: State) -> Reason:
    if not direct(st):
        return DROP
    if early_active(st):
        return None
    return None if confirm_pair(st) is not None else DROP


async def run_follow_up(st: State) -> Sequence[CheckResult]:
    signs = evidence.loss_signs(seen_after_path(st))
    auto = evidence.auto_stability(_route(st), signs, seen_after_path(st))
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

    return [await runner.run_one(RampCheck(_route(st)), st.ctx)]


def skip_held_ramp(st: State) -> Reason:
    after = [*seen_after_path(st), *st.results("path.follow-up")]
    if not direct(st) or any(r.id == "server.ramp" for r in after):
        return DROP
    return None if evidence.held_unanswered(st.ctx, after) else DROP


def _route(st: State) -> Route:
    found = route(st)
    assert found is not None  # every node that calls this skips without a route
    return found


# -- the certificate as sent, and the clock when validity is in question -----------------------------


def handshakes(st: State) -> list[CheckResult]:
    return st.results(*HANDSHAKES)


def chains(st: State) -> list[PeerChain]:
    return [o for r in handshakes(st) for o in r.observations if isinstance(o, PeerChain)]


async def run_certificate(st: State) -> Sequence[CheckResult]:
    from tlsdoctor.checks.certificate import CertificateCheck

    tried = [o for r in handshakes(st) for o in r.observations if isinstance(o, HandshakeAttempt)]
    pin = st.ctx.options.expect_fingerprint
    return [
        await runner.run_one(CertificateCheck(chains(st), attempts=tried, expect_fingerprint=pin), st.ctx)
    ]


def certificate_waits(st: State) -> tuple[str, ...]:
    """The default client's chain, else the no-verify one's, is what gets judged (CertificateCheck.pick):
    the rest of the variants matter only when neither handshake got one."""
    return () if chains(st) else ("variants",)


def skip_certificate(st: State) -> Reason:
    return None if chains(st) else DROP


async def run_stores(st: State) -> Sequence[CheckResult]:
    """The client's store refused the chain: would another store here accept it?"""
    from tlsdoctor.checks.certificate import CertificateCheck
    from tlsdoctor.checks.stores import TrustStoresCheck

    found = chains(st)
    chain = CertificateCheck(found).pick() or found[0]
    return [await runner.run_one(TrustStoresCheck(chain), st.ctx)]


def client_refused(st: State) -> bool:
    first = default(st)
    return first is not None and first.outcome is HandshakeOutcome.VERIFY_FAILED


def stores_waits(st: State) -> tuple[str, ...]:
    """Other stores are read as soon as the default client refused the chain, beside the certificate
    check; otherwise only when that check says the chain does not validate."""
    return () if client_refused(st) and chains(st) else ("certificate",)


def chain_invalid(st: State) -> bool | None:
    judged = [o for r in st.results("certificate") for o in r.observations if isinstance(o, ChainValidation)]
    return (not judged[0].valid) if judged else None


def skip_stores(st: State) -> Reason:
    if not st.finished("certificate"):
        return None if client_refused(st) and chains(st) else DROP
    return None if chain_invalid(st) else DROP


def moot_stores(st: State) -> Reason:
    if no_route(st):
        return DROP
    return DROP if st.finished("certificate") and not chain_invalid(st) else None


VALIDITY_CODES = frozenset({9, 10})  # X509_V_ERR_CERT_NOT_YET_VALID, X509_V_ERR_CERT_HAS_EXPIRED


def validity_in_question(st: State) -> bool:
    """The certificate check found a validity window failed (or, before it has judged, the default
    client's own verification said so)."""
    if not st.finished("certificate"):
        first = default(st)
        return first is not None and first.verify_code in VALIDITY_CODES
    return any(
        isinstance(o, CertificateProblem) and o.problem in (ProblemKind.EXPIRED, ProblemKind.NOT_YET_VALID)
        for r in st.results("certificate")
        for o in r.observations
    )


def clock_waits(st: State) -> tuple[str, ...]:
    """The clock starts as soon as the default client said "expired" or "not yet valid"; otherwise the
    certificate check decides whether it matters."""
    return () if validity_in_question(st) else ("certificate",)


async def run_clock(st: State) -> Sequence[CheckResult]:
    """NTP when configured, and the server's own Date header, which needs no NTP."""
    from tlsdoctor.checks.clock import ClockCheck
    from tlsdoctor.checks.httpdate import HttpDateCheck

    if validity_in_question(st):
        found = route(st)
        checks: list[runner.Check] = [ClockCheck()]
        if found is not None:
            checks.append(HttpDateCheck(found))
        return await runner.run(checks, st.ctx)
    return await runner.run([ClockCheck()], st.ctx)


def skip_clock(st: State) -> Reason:
    """The clock matters when asked for, or when a validity window is what failed: only then can skew,
    not the certificate, be the cause. An unreachable NTP server costs nothing otherwise."""
    if route(st) is None:
        return DROP
    if validity_in_question(st) or st.ctx.options.ntp:
        return None
    return CLOCK_NOT_NEEDED


def moot_clock(st: State) -> Reason:
    """Started on the default client's word, and the certificate check found no validity problem."""
    if no_route(st):
        return DROP
    if st.finished("certificate") and not validity_in_question(st) and not st.ctx.options.ntp:
        return CLOCK_NOT_NEEDED
    return None


CLOCK_NOT_NEEDED = "not needed: no certificate validity problem (use --ntp to force)"


async def run_size(st: State) -> Sequence[CheckResult]:
    """Hello sizes the default client never sends (checks/hello.py), kept even when it succeeds: a large
    post-quantum hello dying where the default works is "curl works, Chrome fails"."""
    check = st.values["size_check"]
    return [await runner.run_one(check, st.ctx)]


async def run_client(st: State) -> Sequence[CheckResult]:
    """--client: the named client's own hello, beside the default handshake."""
    from tlsdoctor.checks.client_profile import ClientProfileCheck

    return [await runner.run_one(ClientProfileCheck(_route(st), st.ctx.options.client), st.ctx)]


def skip_client(st: State) -> Reason:
    return None if st.ctx.options.client is not None and route(st) is not None else DROP


async def run_idle(st: State) -> Sequence[CheckResult]:
    from tlsdoctor.checks.idle import IdleCheck

    idle = st.ctx.options.idle
    assert idle is not None
    return [await runner.run_one(IdleCheck(_route(st), idle), st.ctx)]


def skip_idle(st: State) -> Reason:
    if st.ctx.options.idle is None or route(st) is None:
        return DROP
    return None if default_ok(st) else "not run: the default handshake failed, so nothing to hold"


# The playbook. Order is the report's order; `waits_for` alone decides what runs when.
NODES: tuple[Node, ...] = (
    Node("trust", run_trust, report=False),
    Node("dns", run_dns),
    Node("tcp", run_tcp, waits_for=("dns",)),
    Node("route", run_route, waits_for=("dns",), then_waits=route_waits, report=False),
    Node("handshake.default", run_default, ("route", "trust"), skip_when=skip_default, moot_when=no_route),
    Node(
        "handshake.no-verify",
        run_no_verify,
        ("route",),
        skip_when=skip_variants,
        moot_when=moot_variants,
    ),
    Node(
        "variants",
        run_variants,
        ("handshake.default",),
        skip_when=skip_variants,
        moot_when=moot_variants,
        head_start=variants_head_start,
        skip_ids=variant_ids,
    ),
    Node("accepts", run_accepts, ("variants",), skip_when=skip_accepts, moot_when=dropped_without_route),
    Node("mss", run_mss, ("route",), skip_when=skip_direct_only, moot_when=moot_mss),
    Node("syn-sample", run_syn_sample, ("handshake.default",), skip_when=skip_syn_sample, moot_when=no_tcp),
    Node(
        "confirm.early",
        run_early_confirm,
        ("route",),
        skip_when=skip_direct_only,
        moot_when=moot_early,
        report=False,
    ),
    Node("path.reset-origin", run_reset_origin, BEFORE_PATH, skip_when=skip_reset_origin, moot_when=no_tcp),
    Node("server.ramp", run_ramp, BEFORE_PATH, skip_when=skip_ramp, moot_when=no_tcp),
    Node("path.syn-retest", run_syn_retest, BEFORE_PATH, skip_when=skip_syn_retest, moot_when=no_tcp),
    Node("path.stability", run_stability, BEFORE_PATH, skip_when=skip_stability, moot_when=no_tcp),
    Node("path.repeat", run_repeat, BEFORE_PATH, skip_when=skip_repeat, moot_when=no_tcp),
    Node("path.pmtu", run_pmtu, BEFORE_PATH, skip_when=skip_pmtu, moot_when=no_tcp),
    Node(
        "path.reproduce",
        run_confirm,
        (*BEFORE_PATH, "confirm.early"),
        skip_when=skip_confirm,
        moot_when=no_tcp,
    ),
    Node(
        "path.follow-up", run_follow_up, (*PATH, "path.reproduce"), skip_when=skip_follow_up, moot_when=no_tcp
    ),
    Node(
        "server.ramp.held",
        run_held_ramp,
        ("path.follow-up", "hello.size"),
        skip_when=skip_held_ramp,
        moot_when=no_tcp,
    ),
    Node(
        "certificate",
        run_certificate,
        ("handshake.default", "handshake.no-verify"),
        then_waits=certificate_waits,
        skip_when=skip_certificate,
        moot_when=no_tcp,
    ),
    Node(
        "stores",
        run_stores,
        ("handshake.default", "handshake.no-verify"),
        then_waits=stores_waits,
        skip_when=skip_stores,
        moot_when=moot_stores,
    ),
    Node(
        "clock",
        run_clock,
        ("handshake.default",),
        then_waits=clock_waits,
        skip_when=skip_clock,
        moot_when=moot_clock,
    ),
    Node(
        "hello.size", run_size, ("route",), skip_when=dropped_without_route, moot_when=dropped_without_route
    ),
    Node("client", run_client, ("route",), skip_when=skip_client, moot_when=no_tcp),
    Node("idle", run_idle, ("handshake.default",), skip_when=skip_idle, moot_when=dropped_without_route),
)
