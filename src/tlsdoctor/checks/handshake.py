"""Standard-library handshakes: the default client, and the variants that tell causes apart.

Each variant changes one thing from the default client. Which of them pass is the
evidence: verification off separates certificate faults from transport faults; a pinned
old version passing where the default fails is a protocol mismatch; all ciphers at
security level 0 passing is a cipher mismatch; SNI on/off isolates SNI faults.
"""

from __future__ import annotations

import asyncio
import dataclasses
import ssl
import threading
import time
import warnings

from tlsdoctor import runner
from tlsdoctor.context import Context
from tlsdoctor.errors import InputError
from tlsdoctor.model import CheckResult, Status
from tlsdoctor.net.route import Route, open_stream
from tlsdoctor.net.tcp import counters
from tlsdoctor.net.tls import HTTPS_PORTS, HandshakeResult, handshake, observe
from tlsdoctor.observations.base import Observation
from tlsdoctor.observations.tls import UNRELATED_VARIANT, HandshakeAttempt, HandshakeOutcome, PeerChain

_LEGACY_SERVER_CONNECT = getattr(ssl, "OP_LEGACY_SERVER_CONNECT", 0x4)  # ssl.py names it from 3.12
EVERY_SUITE = "ALL:COMPLEMENTOFALL"  # every TLS <= 1.2 suite OpenSSL has (the level still filters)


@dataclasses.dataclass(frozen=True, slots=True)
class Variant:
    """One client configuration: what differs from the default client (ideally one thing).

    The policy axes are kept apart so the decision table can tell them apart: ``version`` pins the
    protocol at the client's own security level; ``every_suite`` offers every suite at the client's
    own level and versions; ``seclevel0`` keeps the client's suites and versions and drops the
    security level to 0 (1024-bit DH, SHA-1 signatures...); ``legacy`` relaxes everything at once,
    as the reference that says whether anything at all works.
    """

    name: str
    verify: bool = False
    sni: bool = True
    version: ssl.TLSVersion | None = None  # pin min = max to this version
    every_suite: bool = False
    seclevel0: bool = False
    all_versions: bool = False
    describe: str = ""
    sni_name: str | None = None  # send this name instead of the target's (the certificate is not checked)


UNRELATED_NAME = "www.example.com"  # reserved (RFC 2606 §3); only sent as SNI to the target's address

DEFAULT = Variant("default", verify=True, describe="the default client: verification, SNI, system policy")
VARIANTS: tuple[Variant, ...] = (
    Variant("no-verify", describe="certificate verification off"),
    Variant("no-sni", sni=False, describe="no SNI extension"),
    Variant("tls1.3", version=ssl.TLSVersion.TLSv1_3, describe="only TLS 1.3"),
    Variant("tls1.2", version=ssl.TLSVersion.TLSv1_2, describe="only TLS 1.2"),
    # The client's own suite list has nothing for TLS 1.0/1.1 (all AEAD or SHA-2): these offer the
    # suites those versions can use, still at the client's own security level.
    Variant(
        "tls1.1", version=ssl.TLSVersion.TLSv1_1, every_suite=True, describe="only TLS 1.1, client's level"
    ),
    Variant(
        "tls1.0", version=ssl.TLSVersion.TLSv1, every_suite=True, describe="only TLS 1.0, client's level"
    ),
    Variant(
        UNRELATED_VARIANT,
        sni_name=UNRELATED_NAME,
        describe="SNI of an unrelated name: does something on the path mint certificates for any name?",
    ),
    Variant("all-ciphers", every_suite=True, describe="every cipher suite, the client's level and versions"),
    Variant("seclevel-0", seclevel0=True, describe="the client's suites and versions at security level 0"),
    Variant(
        "legacy",
        every_suite=True,
        seclevel0=True,
        all_versions=True,
        describe="everything relaxed: every suite and version, security level 0",
    ),
)


def _cipher_string(variant: Variant, context: ssl.SSLContext) -> str | None:
    """The TLS <= 1.2 cipher string of a variant (None: the client's own, untouched)."""
    if not variant.every_suite and not variant.seclevel0:
        return None
    if variant.every_suite:
        names = EVERY_SUITE
    else:  # the client's own list, exactly, at another level
        names = ":".join(c["name"] for c in context.get_ciphers() if c.get("protocol") != "TLSv1.3")
    level = 0 if variant.seclevel0 else context.security_level
    return f"{names}:@SECLEVEL={level}"


# Contexts are built once per run and shared by every connection of a variant: loading trust
# material is the slow part (a big --ca-file takes seconds), and it must never run on the event
# loop inside a probe's deadline, where it would read as the network's slowness. They are keyed by
# what goes into them (context_key), not by the whole Options: a context with the system store costs
# about 0.9 MB and 20 ms of CPU, and a batch or the exporter diagnoses thousands of targets with one.
_CONTEXTS: dict[tuple[object, ...], ssl.SSLContext] = {}
_BUILD_LOCK = threading.Lock()


HTTP_ALPN = ("h2", "http/1.1")  # what curl and browsers offer for an https:// URL


def alpn_offer(ctx: Context, variant: Variant) -> tuple[str, ...]:
    """The ALPN protocols the default client offers: HTTP's, only where the user's client speaks HTTP.

    An https:// URL is HTTP over TLS whatever its port; a bare host[:port] is taken as HTTP only on a
    well-known HTTPS port; never with --starttls. Elsewhere nothing is offered: a server that speaks
    none of the offered protocols answers no_application_protocol (RFC 7301 §3.2), so offering HTTP to
    an XMPP or gRPC-only endpoint would invent a failure its real clients never see.
    """
    opts = ctx.options
    if not variant.verify or opts.starttls:
        return ()
    if opts.scheme == "https" or (opts.scheme is None and opts.port in HTTPS_PORTS):
        return HTTP_ALPN
    return ()


def build_context(ctx: Context, variant: Variant) -> ssl.SSLContext:
    """The SSLContext for a variant (built on first use, then shared); see :func:`load_trust`."""
    key = context_key(ctx, variant)
    context = _CONTEXTS.get(key)
    if context is None:
        with _BUILD_LOCK:
            context = _CONTEXTS.get(key)
            if context is None:
                context = _CONTEXTS[key] = _new_context(ctx, variant)
    return context


def context_key(ctx: Context, variant: Variant) -> tuple[object, ...]:
    """Everything :func:`_new_context` reads: contexts that would be built alike are one context."""
    opts = ctx.options
    named = bool(ctx.servername)
    return (variant, opts.ca_file, opts.cert, opts.key, opts.keylog_file, named, alpn_offer(ctx, variant))


async def load_trust(ctx: Context) -> None:
    """Build every variant's context, trust material included, in a worker thread.

    Called before any handshake's clock starts (commands/diagnose.py); a bad --ca-file, --cert or
    --key surfaces here as an InputError, before a probe has run on it.
    """
    # Only the verifying context loads trust material; the others are cheap, built at first use.
    if context_key(ctx, DEFAULT) not in _CONTEXTS:  # built already: no thread hop (the exporter's probes)
        await asyncio.to_thread(build_context, ctx, DEFAULT)


def _new_context(ctx: Context, variant: Variant) -> ssl.SSLContext:
    """The SSLContext for a variant; the default one is what a careful client would use."""
    opts = ctx.options
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    observe(context)  # which handshake messages came (a CertificateRequest), TLS 1.3's too
    if opts.keylog_file is not None:  # diagnose --capture decrypts its own recording
        context.keylog_filename = str(opts.keylog_file)
    if variant.verify:
        if opts.ca_file is not None:
            from tlsdoctor.net.anchors import load_ca_file

            load_ca_file(context, opts.ca_file)  # observes the context itself when it indexes
        else:
            context.load_default_certs()
        context.check_hostname = bool(ctx.servername)
        context.verify_mode = ssl.CERT_REQUIRED
    else:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    ciphers = _cipher_string(variant, context)
    if ciphers is not None:
        context.set_ciphers(ciphers)
    if variant.seclevel0:  # the rest of the client's policy: servers without RFC 5746 renegotiation
        context.options |= _LEGACY_SERVER_CONNECT
    if variant.version is not None:
        with warnings.catch_warnings():  # TLS 1.0/1.1 are deprecated: pinning them is the point
            warnings.simplefilter("ignore", DeprecationWarning)
            context.minimum_version = variant.version
            context.maximum_version = variant.version
    elif variant.all_versions:
        context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    if offer := alpn_offer(ctx, variant):
        context.set_alpn_protocols(list(offer))
    if opts.cert is not None:
        try:
            context.load_cert_chain(str(opts.cert), str(opts.key) if opts.key else None)
        except (OSError, ssl.SSLError) as exc:
            raise InputError(f"cannot use --cert/--key: {exc}") from None
    return context


def verify_hostname_for(ctx: Context) -> str | None:
    """The name the default client sends as SNI and checks the certificate against."""
    return ctx.servername


@dataclasses.dataclass(frozen=True, slots=True)
class HandshakeCheck:
    """One handshake variant along one route."""

    variant: Variant
    route: Route
    layer: str = "tls"

    @property
    def id(self) -> str:
        return f"handshake.{self.variant.name}"

    def budget(self, ctx: Context) -> float:
        # connect (and CONNECT), the STARTTLS preamble, the handshake: each has its own timeout
        steps = 2 + (1 if self.route.proxy else 0) + (1 if ctx.options.starttls else 0)
        return ctx.timeout * steps + 1.0

    async def run(self, ctx: Context) -> CheckResult:
        result, obs = await attempt(ctx, self.variant, self.route)
        return result_for(self.id, self.variant, result, obs)


async def attempt(
    ctx: Context, variant: Variant, route: Route
) -> tuple[HandshakeResult | None, list[Observation]]:
    """Connect along ``route`` and run the handshake; the connection is closed afterwards."""
    context = build_context(ctx, variant)
    obs, stream = await open_stream(route, ctx.dial, ctx.timeout)
    if stream is None:
        return None, obs
    try:
        # The handshake gets its own full timeout, as a client's handshake timer would.
        began = time.monotonic()
        stream.deadline = began + ctx.timeout
        servername = (variant.sni_name or ctx.servername) if variant.sni else None
        result = await handshake(
            stream,
            context,
            variant=variant.name,
            address=route.address,
            port=ctx.options.port,
            servername=servername,
            client_cert_sent=ctx.options.cert is not None,
            http=variant.verify and not ctx.options.starttls,  # the default client asks one request
            alpn=alpn_offer(ctx, variant),
        )
        if stalled := runner.stalled_since(began):
            result = dataclasses.replace(
                result, attempt=dataclasses.replace(result.attempt, stalled_ms=round(stalled * 1000, 1))
            )
        if route.proxy is None:  # loss on this connection (diagnose: loss_signs); not the proxy's
            obs.append(counters(stream.sock, variant.name, route.address, ctx.options.port))
    finally:
        stream.close()
    return result, obs


def result_for(
    check_id: str, variant: Variant, result: HandshakeResult | None, obs: list[Observation]
) -> CheckResult:
    """The CheckResult for one handshake: connect observations, the attempt, and the chain seen."""
    if result is None:
        failed = obs[-1]
        return CheckResult(
            id=check_id,
            status=Status.FAIL,
            summary=f"could not connect: {failed.describe()}",
            observations=tuple(obs),
        )
    observations: list[Observation] = [*obs, result.attempt]
    if result.chain:
        observations.append(
            PeerChain(variant=variant.name, servername=result.attempt.servername, chain=result.chain)
        )
    ok = result.attempt.outcome is HandshakeOutcome.OK and not refused_after(result.attempt)
    return CheckResult(
        id=check_id,
        status=Status.PASS if ok else Status.FAIL,
        summary=result.attempt.describe(),
        observations=tuple(observations),
    )


def refused_after(attempt: HandshakeAttempt) -> bool:
    """The handshake completed, but the server's answer to one request refused us (an HTTP 4xx
    about a client certificate, or an alert)."""
    from tlsdoctor.observations.tls import client_cert_refusal

    return client_cert_refusal(attempt) is not None


def handshake_outcomes(results: list[CheckResult]) -> dict[str, HandshakeAttempt]:
    """variant name -> attempt, from a list of handshake check results."""
    out: dict[str, HandshakeAttempt] = {}
    for r in results:
        for o in r.observations:
            if isinstance(o, HandshakeAttempt):
                out[o.variant] = o
    return out


def alike(results: list[CheckResult]) -> bool:
    """No handshake variant completed, and the server answered in TLS (an alert, or a flight our
    client refused): the variants did not separate the causes, so the server must be asked."""
    runs = handshake_outcomes(results)
    default = runs.get("default")
    if default is None or any(a.outcome is HandshakeOutcome.OK for a in runs.values()):
        return False
    answered = (HandshakeOutcome.ALERT, HandshakeOutcome.LOCAL_REJECT)
    return default.outcome in answered and default.bytes_received > 0 and default.violation is None
