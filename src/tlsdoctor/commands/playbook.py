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

The TLS probes every diagnosis needs (the default handshake, the certificate fetches, the post-quantum
sized hello) start with TCP, not after it. With several addresses they go to the first, the one TCP's own
choice (and a happy-eyeballs client, RFC 8305 §4) takes when it answers; if their connects there fail
while TCP got through to another address, they run again there (``settled``). Through a proxy they start
once the proxy's address is known, without the target's DNS or the direct connects (the proxy resolves
the name, and a direct path a firewall drops would hold them for a whole timeout).

Each probe still waits for the proxy's 200 before its hello. RFC 9110 §9.3.6 leaves data sent after a
CONNECT's header section to the HTTP version, and HTTP/1.1 gives it meaning only once a 2xx opened the
tunnel; proxies differ: tinyproxy and squid relay a hello sent right behind the CONNECT (measured), while
apify's proxy-chain answered such early data with a 400 until its PR #284, and a proxy that refuses
(407, 403) reads the hello as a next request. A proxy that dropped it would make a working server look
like firewall-drop: a diagnosis must not invent the fault it looks for.

The differential variants start as one wave the moment the default fails (or after a short head start
while it is still silent, so a silent endpoint costs one timeout, not two). The certificate is judged as
soon as the handshakes that carry it ended, while the path probes still run.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

from tlsdoctor import runner
from tlsdoctor.checks.handshake import (
    DEFAULT,
    VARIANTS,
    HandshakeCheck,
    Variant,
    alike,
    load_trust,
)
from tlsdoctor.commands.playbook_cert import (
    certificate_waits,
    clock_waits,
    moot_clock,
    moot_stores,
    run_certificate,
    run_clock,
    run_stores,
    skip_certificate,
    skip_clock,
    skip_stores,
    stores_waits,
)
from tlsdoctor.commands.playbook_path import (
    moot_early,
    run_confirm,
    run_early_confirm,
    run_follow_up,
    run_held_ramp,
    run_pmtu,
    run_ramp,
    run_repeat,
    run_reset_origin,
    run_stability,
    run_syn_retest,
    skip_confirm,
    skip_follow_up,
    skip_held_ramp,
    skip_pmtu,
    skip_ramp,
    skip_repeat,
    skip_reset_origin,
    skip_stability,
    skip_syn_retest,
)
from tlsdoctor.commands.playbook_reads import (
    BEFORE_PATH,
    FETCHES,
    HANDSHAKES,
    HEAD_START_S,
    HEALTHY,
    NO_ROUTE,
    PATH,
    default_ok,
    default_stalled,
    direct,
    dropped_without_route,
    no_route,
    no_tcp,
    route,
    target_route,
    unreached,
)
from tlsdoctor.commands.reach import reach, resolve
from tlsdoctor.graph import DROP, Node, Reason, State
from tlsdoctor.model import CheckResult, Status
from tlsdoctor.net.dns import first_address
from tlsdoctor.net.proxy import proxy_for
from tlsdoctor.net.route import Route
from tlsdoctor.observations.tls import UNRELATED_VARIANT, PeerChain
from tlsdoctor.warm import preload

if TYPE_CHECKING:
    from tlsdoctor.checks.hello import HelloCheck

# -- resolve and reach -------------------------------------------------------------------------------


async def run_trust(st: State) -> Sequence[CheckResult]:
    """Trust material (--ca-file, the system store) loads in a thread, off every probe's clock."""
    await load_trust(st.ctx)
    return []


async def run_dns(st: State) -> Sequence[CheckResult]:
    results: list[CheckResult] = []
    st.values["addresses"] = await resolve(st.ctx, results)
    return results


def proxied(st: State) -> bool:
    ctx = st.ctx
    return proxy_for(ctx.options.host, ctx.options.proxy, ctx.options.no_proxy) is not None


async def run_tcp(st: State) -> Sequence[CheckResult]:
    results: list[CheckResult] = []
    through: Route | None = None
    if proxied(st):  # the proxy's address, resolved once, for the probes and for this check alike
        await st.wait("route")
        through = st.values.get("route")
    chosen = await reach(st.ctx, st.values["addresses"], results, proxy_route=through)
    st.values["tcp_route"] = chosen
    guess: Route | None = st.values.get("route")
    if chosen is not None and guess is not None and guess.proxy is None and chosen.address != guess.address:
        st.values["route"] = chosen  # the first address did not answer: later probes go where TCP got
    return results


def route_waits(st: State) -> tuple[str, ...]:
    """Direct, the route is an address DNS gives; through a proxy, the proxy's address is enough."""
    return () if proxied(st) else ("dns",)


async def run_route(st: State) -> Sequence[CheckResult]:
    """Where the TLS probes go, at once: through the proxy; else the first address (or, when TCP has
    already ended, the one it reached), a guess ``settled`` corrects when TCP got through elsewhere."""
    ctx = st.ctx
    proxy = proxy_for(ctx.options.host, ctx.options.proxy, ctx.options.no_proxy)
    found: Route | None
    if proxy is not None:
        proxy_address = await first_address(proxy.host, ctx.timeout)
        label = ctx.options.connect_to or ctx.options.host  # the proxy, not we, resolves the name
        found = Route(address=label, proxy=proxy, proxy_address=proxy_address or proxy.host)
    elif st.finished("tcp"):
        found = st.values.get("tcp_route")
    else:
        addresses = st.values["addresses"]
        found = Route(address=addresses[0]) if addresses else None
        st.values["route_guessed"] = len(addresses) > 1
    st.values["route"] = found
    if found is not None:
        # Its hello bytes (fresh key shares: milliseconds of EC and ML-KEM work) are built before the
        # default handshake's clock starts: its connect time is a yardstick (evidence.loss_signs).
        st.values["size_check"] = size_check(st, found)
    return []


def size_check(st: State, found: Route) -> HelloCheck:
    from tlsdoctor.checks.hello import SIZE, HelloCheck

    return HelloCheck("hello.size", SIZE, found, size_only=True).prepared(st.ctx)


NodeRun = Callable[[State], Awaitable[Sequence[CheckResult]]]


def settled(run: NodeRun) -> NodeRun:
    """``run`` on the route as it stands; when that was a guess among several addresses, its connects
    there failed and TCP got through to another address, ``run`` again there (its first results then
    only repeat what the tcp checks say about the first address)."""

    async def again(st: State) -> Sequence[CheckResult]:
        tried = route(st)
        results = await run(st)
        if tried is None or not st.values.get("route_guessed"):
            return results
        if unreached(results, tried.address):
            await st.wait("tcp")  # where did TCP get through?
        elif not st.finished("tcp") or all(r.status is Status.PASS for r in results):
            return results  # it connected there (or failed later than a connect): the guess stands
        now = route(st)
        if now is None or now.address == tried.address:
            return results
        return await run(st)

    return again


# -- converse ----------------------------------------------------------------------------------------


# What every diagnosis needs once the server has answered: imported while the default handshake waits
# for that answer (warm.py), not after it, on the critical path.
AFTER_THE_ANSWER = (
    "tlsdoctor.checks.certificate",
    "tlsdoctor.certs.trust:load_system_store",  # parsed once per process (functools.cache): ~30 ms
    "tlsdoctor.checks.ramp",
    "tlsdoctor.checks.repeat",
    *(
        f"tlsdoctor.inference.rules.{name}"
        for name in ("cert", "client", "clientsim", "clock", "dns", "idle", "matrix", "path", "stores")
    ),
    "tlsdoctor.inference.rules.tls",
    "tlsdoctor.inference.rules.transport",
    "tlsdoctor.inference.engine",
    "tlsdoctor.report.envelope",
)


async def run_default(st: State) -> Sequence[CheckResult]:
    found = route(st)
    assert found is not None
    warming = preload(AFTER_THE_ANSWER)
    try:
        return [await runner.run_one(HandshakeCheck(DEFAULT, found), st.ctx)]
    finally:
        if warming is not None:
            warming.stop()


def skip_default(st: State) -> Reason:
    return NO_ROUTE if route(st) is None else None


# The certificate fetches: verification off, so the chain arrives whatever the default client thinks of
# it, and the chain sent for an unrelated name (does something on the path mint one for any name?). They
# start with the default handshake, not after it fails, so the certificate is judged a wave sooner; when
# the default succeeds they are cancelled (reported skipped, as the variants are).
FETCH = tuple(v for v in VARIANTS if v.name in ("no-verify", UNRELATED_VARIANT))
WAVE = tuple(v for v in VARIANTS if v not in FETCH)


def variant_ids(st: State) -> Sequence[str]:
    return [*(f"handshake.{v.name}" for v in WAVE), "hello.matrix"]


def run_fetch(variant: Variant) -> Callable[[State], Awaitable[Sequence[CheckResult]]]:
    async def run(st: State) -> Sequence[CheckResult]:
        return [await runner.run_one(HandshakeCheck(variant, target_route(st)), st.ctx)]

    return run


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


async def run_size(st: State) -> Sequence[CheckResult]:
    """Hello sizes the default client never sends (checks/hello.py), kept even when it succeeds: a large
    post-quantum hello dying where the default works is "curl works, Chrome fails"."""
    check = st.values["size_check"]
    if check.route != route(st):  # the route was corrected since it was prepared
        check = size_check(st, target_route(st))
    return [await runner.run_one(check, st.ctx)]


async def run_client(st: State) -> Sequence[CheckResult]:
    """--client: the named client's own hello, beside the default handshake; it judges the chain the
    default handshake was sent by that client's trust store once the default has ended."""
    from tlsdoctor.checks.client_profile import ClientProfileCheck

    async def served_chain() -> tuple[tuple[bytes, ...], bool] | None:
        found = await st.wait("handshake.default")
        chain = next((o.chain for r in found for o in r.observations if isinstance(o, PeerChain)), None)
        return (chain, default_ok(st)) if chain else None

    check = ClientProfileCheck(target_route(st), st.ctx.options.client, chain=served_chain)
    return [await runner.run_one(check, st.ctx)]


def skip_client(st: State) -> Reason:
    return None if st.ctx.options.client is not None and route(st) is not None else DROP


async def run_idle(st: State) -> Sequence[CheckResult]:
    from tlsdoctor.checks.idle import IdleCheck

    idle = st.ctx.options.idle
    assert idle is not None
    return [await runner.run_one(IdleCheck(target_route(st), idle), st.ctx)]


def skip_idle(st: State) -> Reason:
    if st.ctx.options.idle is None or route(st) is None:
        return DROP
    return None if default_ok(st) else "not run: the default handshake failed, so nothing to hold"


# The playbook. Order is the report's order; `waits_for` alone decides what runs when.
NODES: tuple[Node, ...] = (
    Node("trust", run_trust, report=False),
    Node("dns", run_dns),
    Node("tcp", run_tcp, waits_for=("dns",)),
    Node("route", run_route, then_waits=route_waits, report=False),
    Node(
        "handshake.default",
        settled(run_default),
        ("route", "trust"),
        skip_when=skip_default,
        moot_when=no_route,
    ),
    *(
        Node(
            f"handshake.{v.name}",
            settled(run_fetch(v)),
            ("route",),
            skip_when=skip_variants,
            moot_when=moot_variants,
        )
        for v in FETCH
    ),
    Node(
        "variants",
        settled(run_variants),
        ("handshake.default",),
        skip_when=skip_variants,
        moot_when=moot_variants,
        head_start=variants_head_start,
        skip_ids=variant_ids,
    ),
    Node(
        "accepts",
        run_accepts,
        (*FETCHES, "variants"),
        skip_when=skip_accepts,
        moot_when=no_tcp,
    ),
    Node("mss", settled(run_mss), ("route",), skip_when=skip_direct_only, moot_when=moot_mss),
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
        ("handshake.default", *FETCHES),
        local=True,
        then_waits=certificate_waits,
        skip_when=skip_certificate,
        moot_when=no_tcp,
    ),
    Node(
        "stores",
        run_stores,
        ("handshake.default", "handshake.no-verify"),
        local=True,
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
        "hello.size",
        settled(run_size),
        ("route",),
        skip_when=dropped_without_route,
        moot_when=dropped_without_route,
    ),
    Node("client", settled(run_client), ("route",), skip_when=skip_client, moot_when=no_tcp),
    Node("idle", run_idle, ("handshake.default",), skip_when=skip_idle, moot_when=no_tcp),
)
