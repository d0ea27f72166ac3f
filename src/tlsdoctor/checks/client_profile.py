"""``diagnose --client NAME``: the endpoint judged by a known client's own hello and limits.

"curl works, but will Java 8 connect?" The profile's recorded ClientHello (clientsim/profiles.py)
goes out along the same route as every other probe (proxy and STARTTLS included), the server's first
flight is read, and the outcome is judged by that client's measured policy (clientsim/judge.py):
what it would negotiate, or why it would fail. Our own client still runs the rest of the diagnosis;
this check adds what the named client would see.
"""

from __future__ import annotations

import asyncio
import dataclasses
import ssl
from collections.abc import Awaitable, Callable
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm

from tlsdoctor.certs.analysis import validation
from tlsdoctor.certs.info import key_description, load_der, signature_hash
from tlsdoctor.certs.runtimes import RuntimeStore, java_cacerts_path, load_java_store, node_roots
from tlsdoctor.certs.trust import load_ca_file
from tlsdoctor.clientsim.judge import Leaf, ServerSupport, judge, untrusted
from tlsdoctor.clientsim.profiles import ClientProfile, profiles, replay_hello
from tlsdoctor.context import Context
from tlsdoctor.errors import InputError
from tlsdoctor.host.trust import certifi_path
from tlsdoctor.model import CheckResult, Status
from tlsdoctor.net.route import Route, open_stream
from tlsdoctor.net.stream import Stream
from tlsdoctor.observations.cert import ChainValidation
from tlsdoctor.observations.clientsim import ClientSimulation
from tlsdoctor.scan.offers import Offer, build, suites_for
from tlsdoctor.scan.probe import Opener, ProbeResult, run_probe
from tlsdoctor.wire.codepoints import ProtocolVersion
from tlsdoctor.wire.registry import version_name

# Ends that mean the server read the hello and turned it down (not silence, not a failed connect).
REFUSED_ENDS = ("alert", "closed", "reset")
ASKABLE = frozenset(
    {
        ProtocolVersion.SSL2,
        ProtocolVersion.SSL3,
        ProtocolVersion.TLS1_0,
        ProtocolVersion.TLS1_1,
        ProtocolVersion.TLS1_2,
        ProtocolVersion.TLS1_3,
    }
)


# The chain the default handshake was sent, and whether our own client accepted it (None: no chain).
ChainSource = Callable[[], Awaitable[tuple[tuple[bytes, ...], bool] | None]]


@dataclasses.dataclass(frozen=True, slots=True)
class ClientProfileCheck:
    """``chain``: the default handshake's chain, for a TLS 1.3 answer (its certificate travels
    encrypted, so the profile's own probe cannot see it) and for judging the client's trust store."""

    route: Route
    client: str
    chain: ChainSource | None = None
    id: str = "client.profile"
    layer: str = "tls"

    def budget(self, ctx: Context) -> float:
        return ctx.timeout * (2 if self.route.proxy else 1) + 0.5

    async def run(self, ctx: Context) -> CheckResult:
        profile = profiles()[self.client]
        timeout = ctx.timeout * (2 if self.route.proxy else 1)

        async def opener(seconds: float) -> tuple[Stream | None, str]:
            obs, stream = await open_stream(self.route, ctx.dial, seconds)
            if stream is not None:
                stream.cap = min(stream.cap, ctx.limits.max_read_bytes)
            return stream, (obs[-1].describe() if stream is None and obs else "")

        hello = replay_hello(profile, ctx.servername)
        result = await run_probe(opener, hello, timeout, flight=True)
        support = None
        if not result.answered and result.end in REFUSED_ENDS:
            support = await _versions_accepted(opener, profile, ctx.servername, timeout)
        seen = await self.chain() if self.chain is not None else None
        chain = result.certificates or (seen[0] if seen else ())
        leaf = _leaf(chain)
        outcome = judge(
            profile,
            end=result.end,
            server_hello=result.server_hello,
            hrr=result.hrr,
            alert=result.alert,
            key_exchange=result.key_exchange,
            leaf=leaf,
            support=support,
            detail=result.detail,
        )
        store = ""
        if outcome.connects and chain and seen is not None and seen[1]:
            # Our own client accepted the chain: does this client's store? (When ours refused it too,
            # the certificate check says why, for every client alike.)
            store, verdict = await _judge_trust(ctx, profile, chain)
            if verdict is not None and not verdict.valid:
                outcome = untrusted(outcome, store, verdict.error or "no path to an anchor")
        chosen = outcome.negotiated
        sim = ClientSimulation(
            client=profile.name,
            label=profile.label,
            source=profile.source,
            version=chosen.version if chosen else None,
            cipher_suite=chosen.cipher_suite if chosen else None,
            group=chosen.group if chosen else None,
            failure=outcome.failure,
            failure_kind=outcome.kind.value if outcome.kind is not None else "",
            offered_versions=tuple(version_name(v) for v in profile.versions),
            trust_store=store,
        )
        return CheckResult(
            id=self.id,
            status=Status.PASS if outcome.connects else Status.FAIL,
            summary=sim.describe(),
            observations=(sim,),
        )


async def _versions_accepted(
    opener: Opener, profile: ClientProfile, sni: str | None, timeout: float
) -> ServerSupport:
    """Which of the client's versions the server takes when offered every suite, group and scheme:
    one concurrent wave, only after a refusal, so that "no version in common" is told from "nothing
    to negotiate at a version both have" by the server's own answers, not by its choice of alert."""
    versions = [ProtocolVersion(v) for v in profile.versions if v in ASKABLE]
    results = await asyncio.gather(
        *(
            run_probe(opener, build(Offer(version=v, suites=suites_for(v), sni=sni)), timeout, flight=False)
            for v in versions
        )
    )
    accepted = frozenset(int(v) for v, r in zip(versions, results, strict=True) if _accepts(v, r))
    answered = (*REFUSED_ENDS, "hello", "hrr", "sslv2")  # silence leaves a version unknown
    asked = frozenset(int(v) for v, r in zip(versions, results, strict=True) if r.end in answered)
    return ServerSupport(versions=accepted, asked=asked)


async def _judge_trust(
    ctx: Context, profile: ClientProfile, chain: tuple[bytes, ...]
) -> tuple[str, ChainValidation | None]:
    """The chain against the client's own trust store (--ca-file stands for every client's, when
    given: the user says their clients carry that CA)."""
    if ctx.options.ca_file is not None:
        path: str | None = str(ctx.options.ca_file)
        label = f"--ca-file {path}"
    elif profile.trust == "java":
        store = await asyncio.to_thread(_java_store)
        if store is None or store.problem:
            return "Java's cacerts", None
        return await _validate(ctx, chain, f"Java's cacerts, {store.label}", store.certificates)
    elif profile.trust == "node":
        roots = await node_roots()
        if roots is None or roots.problem:
            return "Node.js's bundled roots", None
        return await _validate(ctx, chain, "Node.js's bundled roots", roots.certificates)
    elif profile.trust in PLATFORM_LISTS and (
        listed := await asyncio.to_thread(_platform_list, profile.trust)
    ):
        return await _validate(ctx, chain, *listed)
    elif profile.trust == "mozilla" and certifi_path() is not None:
        path = certifi_path()
        label = f"Mozilla's roots (certifi, {path})"
    else:
        path = ssl.get_default_verify_paths().cafile
        label = f"this machine's store standing in for the client's own ({path})"
    if path is None:
        return label, None
    try:
        anchors = await asyncio.to_thread(load_ca_file, Path(path))
    except InputError:
        return label, None
    return await _validate(ctx, chain, label, anchors.certificates)


PLATFORM_LISTS = ("android", "apple", "windows")  # root lists kept as data (certs/rootlists.py)


def _platform_list(name: str) -> tuple[str, tuple[x509.Certificate, ...]] | None:
    """The platform's root list when one is installed (else the machine's store stands in), labelled
    with where it came from and the day it describes."""
    from tlsdoctor.certs.rootlists import load_list, root_lists

    spec = next((rl for rl in root_lists() if rl.name == name and not rl.problem), None)
    loaded = load_list(spec) if spec is not None else None
    if spec is None or loaded is None or not loaded.anchors:
        return None
    of = f", list of {spec.as_of.isoformat()}" if spec.as_of else ""
    return f"the {name} root list ({spec.origin}{of})", loaded.anchors


def _java_store() -> RuntimeStore | None:
    path = java_cacerts_path()
    return load_java_store(path) if path else None


async def _validate(
    ctx: Context, chain: tuple[bytes, ...], label: str, anchors: tuple[x509.Certificate, ...]
) -> tuple[str, ChainValidation | None]:
    verdict = await asyncio.to_thread(
        validation, chain, ctx.verify_name, anchors, ctx.clock.now(), store=label
    )
    return label, verdict


def _accepts(version: ProtocolVersion, result: ProbeResult) -> bool:
    if version == ProtocolVersion.SSL2:
        return result.sslv2 is not None
    return result.chosen is not None and result.chosen.selected_version == version


def _leaf(chain: tuple[bytes, ...]) -> Leaf | None:
    """The leaf's key and signature hash (None when there is no leaf, or it does not decode)."""
    if not chain:
        return None
    try:
        cert = load_der(chain[0])
        key_type, key_bits = key_description(cert)
        return Leaf(key_type, key_bits, signature_hash(cert))
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return None
