"""Rules for the handshake layer: decided by which handshake variants passed and how the others ended.

The decision table (variants are defined in checks/handshake.py):

| default ends in | and the variants show | cause |
|---|---|---|
| another protocol's bytes | - | server-not-tls |
| (--starttls) the upgrade is refused, | - | server-not-tls |
| or the port speaks another protocol |  |  |
| FIN/RST, no byte, on a well-known port | of a protocol that waits for the client | server-not-tls |
| alert certificate_required, or an | a CertificateRequest was seen / no cert sent | client-cert-required |
| alert after a CertificateRequest |  |  |
| alert unrecognized_name | - | sni-required |
| failure without SNI | a variant with SNI passes | sni-required |
| RST/FIN/silence with SNI | the no-SNI variant gets a TLS answer | sni-filtered |
| protocol_version on every TLS 1.2/1.3 | a TLS 1.0/1.1-pinned hello (client's level) | protocol-mismatch |
|   hello (default, tls1.2, tls1.3) |   is answered at its version (even if we refuse it) |  |
| handshake_failure / no shared cipher | all-ciphers (every suite, client's level and | cipher-mismatch |
|   / refused by our own policy |   versions) passes; or only legacy, at TLS >= 1.2 |  |
| refused by our own level (small DH, | seclevel-0 (client's suites and versions, | client-tls-policy |
|   SHA-1 signature, RFC 5746) |   level 0) passes, all-ciphers does not |  |
| RST/FIN/silence, only large hellos | small hellos pass | clienthello-too-large |
| RST after the hello, every variant | no TLS byte ever came back | firewall-reset |
| FIN after the hello, every variant | no TLS byte ever came back | server-closed |
| silence after the hello, every variant | TCP connected fine | firewall-drop |
| silence after some TLS bytes | every variant stalls the same way | path-mtu-blackhole |

The hello matrix (crafted ClientHellos from wire/, checks/hello.py) is weighed by the rules above through
decorators, its own table in inference/rules/matrix.py; it speaks only when the default handshake failed,
except for the size row, and its rows win when more confident:

| the matrix shows                                                         | cause                 |
|--------------------------------------------------------------------------|-----------------------|
| hellos naming the target die; no SNI / www.example.com / random answered | sni-filtered          |
|   (and a hello naming the target that is answered vetoes sni-filtered)   |                       |
| pq-large (~1.8 KB) dies, modern (512 B) / minimal answered: EVEN WHEN    | clienthello-too-large |
|   THE DEFAULT WORKS ("curl works, Chrome fails"); padded-300 (256-511 B, |                       |
|   the F5 range) dies while minimal and modern are answered               |                       |
| a hello answered in another protocol; or every hello dies and HEAD /     | server-not-tls        |
|   HTTP/1.1 gets HTTP back                                                |                       |
| alert unrecognized_name to the target's name; no-SNI refused, named ok   | sni-required          |
| accepted only at TLS 1.0/1.1, every TLS 1.2/1.3 offer refused            | protocol-mismatch     |
| a TLS 1.2+ ServerHello picks a suite the default client does not offer   | cipher-mismatch       |
| every hello RST / FIN / silent: cited; any hello answered (or an HTTP    | firewall-reset,       |
|   answer) vetoes "every variant" (so does a TLS answer to any probe)     | server-closed, -drop  |
"""

from __future__ import annotations

from tlsdoctor.inference.causes import CauseId
from tlsdoctor.inference.facts import Facts
from tlsdoctor.inference.rules import matrix
from tlsdoctor.inference.rules.base import Match, Rule
from tlsdoctor.inference.rules.clientsim import simulated
from tlsdoctor.inference.rules.helpers import (
    OK,
    PINNED_LEGACY,
    PINNED_MODERN,
    SILENT_ENDS,
    any_ok,
    attempts,
    cite,
    default_attempt,
)
from tlsdoctor.inference.rules.path import (
    mss_probes,
    overload,
    reproducible,
    reset_origin,
    small_mss_passes,
    supported_by_mtu,
)
from tlsdoctor.observations.hello import HelloEnd
from tlsdoctor.observations.starttls import StarttlsOutcome, StarttlsResult
from tlsdoctor.observations.tls import (
    AcceptScan,
    HandshakeAttempt,
    HandshakeOutcome,
    RepeatStats,
    client_cert_refusal,
)
from tlsdoctor.wire.sniff import Sniffed, sniff

_CERT_ALERTS = {
    "handshake_failure",
    "bad_certificate",
    "certificate_unknown",
    "certificate_required",
    "access_denied",
    "unknown_ca",
}
_VERSION_ALERTS = {"protocol_version"}
_VERSION_REASONS = (
    "UNSUPPORTED_PROTOCOL",
    "NO_PROTOCOLS_AVAILABLE",
    "WRONG_SSL_VERSION",
    "TLSV1_ALERT_PROTOCOL",
)
_CIPHER_REASONS = (
    "NO_CIPHERS_AVAILABLE",
    "NO_SHARED_CIPHER",
    "NO_SUITABLE_SIGNATURE_ALGORITHM",
    "NO_SHARED_GROUPS",
    "NO_SUITABLE_KEY_SHARE",
)
# Reasons where our refusal is about the server's certificate key or signature: cert-weak, not policy.
_CERT_POLICY_REASONS = ("EE_KEY_TOO_SMALL", "CA_KEY_TOO_SMALL", "CA_MD_TOO_WEAK", ": KEY_TOO_SMALL")
# What our own policy says when it refuses the server's key exchange or signature (not its certificate).
_KX_POLICY_WORDS = {
    "DH_KEY_TOO_SMALL": "a Diffie-Hellman group under the client's minimum (1024-bit DH: Logjam)",
    "LEGACY_SIGALG_DISALLOWED": "a SHA-1 or MD5 handshake signature",
    "WRONG_SIGNATURE_TYPE": "a signature algorithm the client did not offer",
    "BAD_ECPOINT": "a broken key share",
    "UNSAFE_LEGACY_RENEGOTIATION_DISABLED": "a server without secure renegotiation (RFC 5746)",
}
# Not the security level: OpenSSL 3 dropped SSL_OP_LEGACY_SERVER_CONNECT from its defaults, so a TLS <= 1.2
# server that does not answer with renegotiation_info (RFC 5746 section 3.4) is refused at its ServerHello.
_RENEGOTIATION = "UNSAFE_LEGACY_RENEGOTIATION_DISABLED"
RENEGOTIATION_FIXES = (
    "client: for this server only, allow connecting to servers without RFC 5746: Python "
    "`context.options |= ssl.OP_LEGACY_SERVER_CONNECT`; `openssl s_client -legacy_server_connect`; "
    "OpenSSL config `Options = UnsafeLegacyServerConnect` (in the [system_default_sect] of openssl.cnf, "
    "or a file OPENSSL_CONF names for this client only)",
    "server: support secure renegotiation (RFC 5746, every TLS library since 2010): upgrade the TLS "
    "library, appliance or load balancer firmware, or stop disabling it (e.g. GnuTLS "
    "%DISABLE_SAFE_RENEGOTIATION); or enable TLS 1.3, which has no renegotiation",
)


def _policy_words(error: str) -> tuple[str | None, str, tuple[str, ...]]:
    """(what the client refused, which setting refused it, the fixes when not the cause's own)."""
    what = next((w for r, w in _KX_POLICY_WORDS.items() if r in error), None)
    if _RENEGOTIATION in error:
        return what, "the client's default (OpenSSL 3: no legacy server connect)", RENEGOTIATION_FIXES
    return what, "the client's security level", ()


# A server's protocol violation is named under the closest cause, as evidence, never as our policy.
_VIOLATION_CAUSES = (
    ("never offered", CauseId.CIPHER_MISMATCH),
    ("ServerHello claims", CauseId.SERVER_NOT_TLS),
)
VIOLATION_FIXES = (
    "client: nothing to change: the server breaks the TLS protocol; do not lower the client's security "
    "level or versions for it",
    "server: see what it sends (`openssl s_client -connect HOST:PORT -msg -state`), read its TLS error log, "
    "and upgrade or fix its TLS stack (or the middlebox in front of it that rewrites the handshake)",
)
NEXT_STEP = (
    "; see what it does with `openssl s_client -connect HOST:PORT -msg` and read the server's error log"
)


def violation_for(facts: Facts, cause: CauseId) -> Match | None:
    """The server broke the protocol in a way closest to ``cause`` (the default client saw it first)."""
    runs = list(attempts(facts).values())
    hits = [a for a in runs if a.violation and _violation_cause(a.violation) is cause]
    if not hits:
        return None
    first = next((a for a in hits if a.variant == "default"), hits[0])
    share = len(hits) / max(len([a for a in runs if a.outcome is not OK]), 1)
    return Match(
        0.6 if share >= 0.5 else 0.45,
        cite(facts, [first, *[a for a in hits if a is not first][:1]]),
        f"the server broke the TLS protocol: {first.violation} ({len(hits)} of {len(runs)} handshakes)"
        f"; this is the server's fault, not the client's policy{NEXT_STEP}",
        VIOLATION_FIXES,
    )


def _violation_cause(violation: str) -> CauseId:
    return next((c for word, c in _VIOLATION_CAUSES if word in violation), CauseId.SERVER_CLOSED)


def _failed_silently(a: HandshakeAttempt) -> bool:
    """Ended by the transport before any TLS byte came back."""
    return a.outcome in SILENT_ENDS and a.bytes_received == 0


# Well-known ports of protocols that wait for the client to speak first: a ClientHello there meets a
# silent close (PostgreSQL logs "invalid length of startup packet"), never a banner sniff could name.
_CLIENT_FIRST_PORTS = {5432: "postgres", 389: "ldap", 5222: "xmpp", 5269: "xmpp"}


def _starttls_hint(seen: Sniffed) -> str:
    """The --starttls advice for a sniffed protocol; both candidates when a bare 220 is ambiguous."""
    if not seen.starttls:
        return ""
    also = " (or ftp)" if seen.label.startswith("an SMTP or FTP") else ""
    return f"; use --starttls {seen.starttls}{also}"


@matrix.weighs(CauseId.SERVER_NOT_TLS)
def server_not_tls(facts: Facts) -> Match | None:
    """The port speaks another protocol than TLS.

    Seen in four ways: the handshake got another protocol's bytes back; with --starttls, the server
    refused the upgrade (PostgreSQL 'N', SMTP 454, IMAP NO...); with --starttls, the port turned out to
    speak some other protocol; or, without bytes to sniff, every hello met a silent close on the
    well-known port of a protocol that waits for the client (PostgreSQL 5432, LDAP 389, XMPP 5222).
    """
    preambles = facts.all(StarttlsResult)
    refused = [s for s in preambles if s.outcome is StarttlsOutcome.REFUSED]
    if refused:
        s = refused[0]
        seen = sniff(s.first_bytes)
        other = _starttls_hint(seen) if seen.starttls not in (None, s.protocol) else ""
        return Match(
            0.95,
            cite(facts, refused[:2]),
            f"the port speaks {label(s.protocol)} but will not start TLS: {s.reason}{other}",
        )
    wrong = [
        s
        for s in preambles
        if s.outcome is StarttlsOutcome.NOT_THIS_PROTOCOL
        and sniff(s.first_bytes).protocol not in ("tls", "sslv2", "empty")
    ]
    if wrong:
        seen = sniff(wrong[0].first_bytes)
        return Match(
            0.9,
            cite(facts, wrong[:2]),
            f"--starttls {wrong[0].protocol} was asked for, but the "
            f"port speaks {seen.label}{_starttls_hint(seen)}",
        )
    hits = [a for a in facts.all(HandshakeAttempt) if a.outcome is HandshakeOutcome.NOT_TLS]
    if hits:
        seen = sniff(hits[0].first_bytes)
        if any(s.ready for s in preambles):
            agreed = preambles[0]
            return Match(
                0.9,
                cite(facts, [agreed, hits[0]]),
                f"the server agreed to {agreed.protocol} "
                f"STARTTLS, then answered the ClientHello with {seen.label}, not TLS",
            )
        return Match(
            0.95, cite(facts, hits[:2]), f"the port speaks {seen.label}, not TLS{_starttls_hint(seen)}"
        )
    if not preambles and (first := _client_first_port(facts)) is not None:
        return first
    return violation_for(facts, CauseId.SERVER_NOT_TLS)


def label(protocol: str) -> str:
    """The STARTTLS protocol's display name. The preamble machines are imported only for a
    STARTTLS verdict: the engine is loaded for every failed scan, and they are a quarter of it."""
    from tlsdoctor.wire.starttls import label as protocol_label

    return protocol_label(protocol)


def _client_first_port(facts: Facts) -> Match | None:
    """Every hello met FIN/RST and no byte, on the well-known port of a client-first plaintext protocol."""
    runs = list(attempts(facts).values())
    closes = (HandshakeOutcome.EOF, HandshakeOutcome.RESET)
    if not runs or not all(a.outcome in closes and a.bytes_received == 0 for a in runs):
        return None
    proto = _CLIENT_FIRST_PORTS.get(runs[0].port)
    if proto is None:
        return None
    return Match(
        0.8,
        cite(facts, runs[:2]),
        f"port {runs[0].port} is {label(proto)}'s, which starts in plaintext and closes on a "
        f"ClientHello without a word; use --starttls {proto}",
    )


def client_cert_required(facts: Facts) -> Match | None:
    """The server asked for a client certificate and rejected the handshake without one."""
    hits = []
    for a in facts.all(HandshakeAttempt):
        rejected_after_request = (
            a.cert_requested and a.outcome is HandshakeOutcome.ALERT and a.alert in _CERT_ALERTS
        )
        if a.alert == "certificate_required" or rejected_after_request:
            hits.append(a)
    if not hits:
        return _rejected_after_handshake(facts)
    sent = any(a.client_cert_sent for a in hits)
    summary = (
        "the server rejected the client certificate presented"
        if sent
        else "the server requires a client certificate (mutual TLS) and none was sent"
    )
    return Match(0.95 if not sent else 0.8, cite(facts, hits[:2]), summary)


def _rejected_after_handshake(facts: Facts) -> Match | None:
    """The handshake completed, then the server refused us for the certificate we did not send:
    an HTTP 400/403/495/496 page about it (nginx enforces ``ssl_verify_client`` after the handshake),
    or, after a CertificateRequest, a hang-up without an alert (TLS 1.3's late rejection)."""
    for a in facts.all(HandshakeAttempt):
        why = client_cert_refusal(a)
        if why is not None:
            asked = "asked for a client certificate, " if a.cert_requested else ""
            return Match(
                0.9,
                cite(facts, [a]),
                f"the server {asked}completed the handshake without one, then refused the request "
                f"({why}): it requires a client certificate (mutual TLS), enforced after the handshake",
            )
        closed = a.outcome is HandshakeOutcome.EOF and a.version is not None
        if closed and a.cert_requested and not a.client_cert_sent:
            return Match(
                0.8,
                cite(facts, [a]),
                f"the server asked for a client certificate, and when none came it closed the "
                f"{a.version} connection right after the handshake, without an alert",
            )
    return None


@matrix.weighs(CauseId.SNI_REQUIRED)
def sni_required(facts: Facts) -> Match | None:
    """The server rejects the name sent, or fails without SNI where SNI would work."""
    runs = attempts(facts)
    # The unrelated-name probe is refused by any server that checks SNI: that says nothing here.
    named = [a for v, a in runs.items() if a.alert == "unrecognized_name" and v != "unrelated-name"]
    if named:
        with_sni = [a for a in named if a.servername]
        what = "the server does not recognise the name sent" if with_sni else "the server needs SNI"
        return Match(0.9, cite(facts, named[:2]), what)
    # no-sni and no-verify differ only in the SNI extension: that pair isolates SNI.
    no_sni, twin = runs.get("no-sni"), runs.get("no-verify")
    if (
        no_sni is not None
        and twin is not None
        and twin.servername
        and twin.outcome is OK
        and no_sni.outcome is not OK
    ):
        return Match(
            0.5,
            cite(facts, [no_sni, twin]),
            "handshakes without SNI fail while the same handshake with SNI passes "
            "(clients connecting by IP address fail)",
        )
    return None


@matrix.weighs(CauseId.SNI_FILTERED)
def sni_filtered(facts: Facts) -> Match | None:
    """Transport dies when the hello names the target, but a hello without SNI gets a TLS answer."""
    runs = attempts(facts)
    default, no_sni = runs.get("default"), runs.get("no-sni")
    if default is None or no_sni is None or not default.servername:
        return None
    if (
        _failed_silently(default)
        and no_sni.bytes_received > 0
        and no_sni.outcome is not HandshakeOutcome.NOT_TLS
    ):
        return Match(
            0.8,
            cite(facts, [default, no_sni]),
            f"hellos naming {default.servername} are {default.outcome.value}, "
            "a hello without SNI is answered",
        )
    return None


@matrix.weighs(CauseId.CLIENTHELLO_TOO_LARGE)
def clienthello_too_large(facts: Facts) -> Match | None:
    """Only the larger hellos die: every failing hello is bigger than every passing one."""
    runs = [a for a in attempts(facts).values() if a.bytes_sent > 0]
    dead = [a for a in runs if _failed_silently(a)]
    alive = [a for a in runs if a.bytes_received > 0 and a.outcome is not HandshakeOutcome.NOT_TLS]
    if not dead or not alive:
        return None
    if min(a.bytes_sent for a in dead) > max(a.bytes_sent for a in alive):
        small, big = max(a.bytes_sent for a in alive), min(a.bytes_sent for a in dead)
        # An SNI difference explains it better when present.
        if any(a.servername is None for a in alive) and all(a.servername for a in dead):
            return Match(
                0.45,
                cite(facts, [dead[0], alive[0]]),
                f"hellos of {big}+ bytes die, hellos up to {small} bytes pass (SNI also differs)",
            )
        return Match(
            0.8,
            cite(facts, [dead[0], alive[0]]),
            f"hellos of {big}+ bytes die, hellos up to {small} bytes are answered",
        )
    return None


def _every_variant(facts: Facts, outcome: HandshakeOutcome) -> list[HandshakeAttempt] | None:
    """All attempts (at least the default) ended in ``outcome`` before any TLS byte arrived."""
    runs = list(attempts(facts).values())
    if not runs or default_attempt(facts) is None:
        return None
    if all(a.outcome is outcome and a.bytes_received == 0 for a in runs):
        return runs
    return None


@matrix.unless_answered(HelloEnd.RESET)
def firewall_reset(facts: Facts) -> Match | None:
    """Every hello, whatever its SNI, version or size, is answered by an RST and no TLS byte.

    Without a packet capture an RST injected on the path cannot be told from the server's own;
    a server that resets every hello is rare, a DPI box or IPS doing it is common.
    """
    runs = _every_variant(facts, HandshakeOutcome.RESET)
    if runs is None:
        return None
    summary = f"every ClientHello ({len(runs)} variants, with and without SNI) was answered by a TCP reset"
    origin = reset_origin(facts)
    if origin is not None and origin.verdict == "injected":
        return Match(
            0.9,
            cite(facts, [origin, *runs[:2]]),
            f"{summary}; its TTL ({origin.rst_ttl}) differs from the server's SYN-ACK "
            f"({origin.syn_ack_ttl}): a box on the path forged it",
        )
    if origin is not None and origin.verdict == "server":
        return Match(0.35, cite(facts, [origin, *runs[:2]]), f"{summary}, but with the server's own TTL")
    how = f" (reset origin not captured: {origin.note})" if origin is not None and origin.note else ""
    return Match(0.6, cite(facts, runs[:3]), summary + how)


def server_closed(facts: Facts) -> Match | None:
    """The server ends handshakes without an alert: every hello (FIN, or RST as a weaker reading);
    right after a completed handshake; or by breaking the protocol (an unassigned alert code, a
    malformed Certificate, a HelloRetryRequest it then abandons)."""
    return matrix.best(
        _closed_every_hello(facts),
        _closed_after_handshake(facts),
        violation_for(facts, CauseId.SERVER_CLOSED),
    )


@matrix.unless_answered(HelloEnd.EOF, HelloEnd.RESET)
def _closed_every_hello(facts: Facts) -> Match | None:
    """Every hello is answered by a FIN and no alert; or by RST, as a weaker reading."""
    runs = _every_variant(facts, HandshakeOutcome.EOF)
    if runs is not None:
        return Match(
            0.75,
            cite(facts, runs[:3]),
            "the server closed the connection without an alert after every ClientHello "
            f"({len(runs)} variants)",
        )
    resets = _every_variant(facts, HandshakeOutcome.RESET)
    origin = reset_origin(facts)
    if resets is not None and origin is not None and origin.verdict == "server":
        return Match(
            0.8,
            cite(facts, [origin, *resets[:2]]),
            f"every ClientHello was reset by the server itself (RST TTL {origin.rst_ttl} = SYN-ACK TTL)",
        )
    if resets is not None:
        return Match(0.4, cite(facts, resets[:2]), "the server itself may be resetting every handshake")
    return None


def _closed_after_handshake(facts: Facts) -> Match | None:
    """The handshake completed, then a hang-up without an alert, and no certificate was asked for."""
    default = default_attempt(facts)
    if (
        default is not None
        and default.outcome is HandshakeOutcome.EOF
        and default.version
        and not default.cert_requested
    ):
        return Match(
            0.6,
            cite(facts, [default]),
            f"the {default.version} handshake completes, then the server closes the connection "
            f"without an alert, before any request{NEXT_STEP}",
        )
    return None


@matrix.unless_answered(HelloEnd.TIMEOUT)
def firewall_drop(facts: Facts) -> Match | None:
    """TCP connects, but no hello is ever answered."""
    runs = _every_variant(facts, HandshakeOutcome.TIMEOUT)
    if runs is None or small_mss_passes(facts):
        return None
    if any(p.outcome == HandshakeOutcome.TIMEOUT.value for p in mss_probes(facts)):
        return Match(
            0.8,
            cite(facts, [*runs[:2], *mss_probes(facts)[:1]]),
            f"TCP connected, but none of {len(runs)} ClientHellos got any answer, "
            "not even with a small MSS (so not a path-MTU problem)",
        )
    return Match(
        0.65,
        cite(facts, runs[:3]),
        f"TCP connected, but none of {len(runs)} ClientHellos got any answer before the deadline",
    )


def path_mtu_blackhole(facts: Facts) -> Match | None:
    """The server's flight starts arriving, then stalls: the large segments vanish."""
    runs = list(attempts(facts).values())
    default, small = default_attempt(facts), small_mss_passes(facts)
    if default is not None and default.outcome is HandshakeOutcome.TIMEOUT and small:
        return Match(
            0.92,
            cite(facts, [default, *small]),
            f"the default handshake stalls ({default.bytes_received} bytes received) while the same "
            f"handshake with MSS {small[0].mss} completes: full-size packets are lost on the path "
            "and no ICMP fragmentation-needed comes back",
        )
    stalled = [a for a in runs if a.outcome is HandshakeOutcome.TIMEOUT and a.bytes_received > 0]
    if not stalled or any(a.outcome is OK for a in runs) or _stalls_at_any_mss(facts):
        return None
    return Match(
        0.55,
        cite(facts, stalled[:2]),
        f"the server's answer stalled after {stalled[0].bytes_received} bytes and never completed",
    )


def _stalls_at_any_mss(facts: Facts) -> bool:
    """Small segments stall after the very same bytes: not the path's MTU, the server itself."""
    default, probes = default_attempt(facts), mss_probes(facts)
    return (
        default is not None
        and bool(probes)
        and all(
            p.outcome == HandshakeOutcome.TIMEOUT.value and p.bytes_received == default.bytes_received
            for p in probes
        )
    )


def _stalled_mid_handshake(facts: Facts) -> Match | None:
    """The server answers (a ServerHello), then nothing, at every MSS: it hangs mid-handshake."""
    default = default_attempt(facts)
    if default is None or default.outcome is not HandshakeOutcome.TIMEOUT or not _stalls_at_any_mss(facts):
        return None
    return Match(
        0.5,
        cite(facts, [default, *mss_probes(facts)[:1]]),
        f"the server starts its answer ({default.bytes_received} bytes, a ServerHello) and then sends "
        "nothing more, with full-size and small segments alike (so not a path-MTU black hole): it hangs "
        "mid-handshake (a stuck worker, a slow or unreachable key signer)" + NEXT_STEP,
    )


def _version_refused(a: HandshakeAttempt) -> bool:
    return a.alert in _VERSION_ALERTS or any(r in a.error for r in _VERSION_REASONS)


def _answered_at_version(a: HandshakeAttempt) -> bool:
    """A version-pinned hello the server took up: it completed, or it got the server's flight
    (bytes, no version refusal) before something else ended it, such as our own policy."""
    if a.outcome is OK:
        return True
    if _version_refused(a) or a.bytes_received == 0:
        return False
    return a.outcome in (
        HandshakeOutcome.LOCAL_REJECT,
        HandshakeOutcome.ALERT,
        HandshakeOutcome.VERIFY_FAILED,
    )


def _cipher_failure(a: HandshakeAttempt) -> bool:
    """The handshake failed over what to negotiate (suites, groups, signature schemes)."""
    return (
        a.outcome is HandshakeOutcome.ALERT and a.alert in ("handshake_failure", "insufficient_security")
    ) or any(r in a.error for r in _CIPHER_REASONS)


def _pinned(runs: dict[str, HandshakeAttempt], names: tuple[str, ...]) -> list[HandshakeAttempt]:
    return [runs[v] for v in names if v in runs]


def protocol_mismatch(facts: Facts) -> Match | None:
    """No TLS version in common: from the variants, the hello matrix, or what the server accepts."""
    return matrix.best(
        _protocol_mismatch(facts),
        _scan_says(facts, CauseId.PROTOCOL_MISMATCH),
        simulated(facts, CauseId.PROTOCOL_MISMATCH),
    )


@matrix.weighs(CauseId.PROTOCOL_MISMATCH)
def _protocol_mismatch(facts: Facts) -> Match | None:
    """Every modern hello is refused for its version, and a legacy-pinned one is taken up.

    The pinned variants keep the client's own security level, so a legacy-pinned hello may still
    end in our own refusal (OpenSSL 3 refuses TLS 1.0's MD5-SHA1 signatures below level 0): the
    server's answer at that version is the evidence, not the completed handshake. A modern hello
    refused over suites (handshake_failure) is a suite problem, and never reads as this.
    """
    runs = attempts(facts)
    default = runs.get("default")
    if default is None or default.outcome is OK:
        return None
    modern = [default, *_pinned(runs, PINNED_MODERN)]
    legacy = [a for a in _pinned(runs, PINNED_LEGACY) if _answered_at_version(a)]
    if legacy and all(_version_refused(m) for m in modern):
        versions = ", ".join(sorted({a.version or a.variant.replace("tls", "TLS ") for a in legacy}))
        done = [a for a in legacy if a.outcome is OK]
        how = (
            ""
            if done
            else f" (the client's own policy then refused it: {legacy[0].error or legacy[0].alert})"
        )
        return Match(
            0.9,
            cite(facts, [default, *legacy]),
            f"the server answers only {versions}{how}; every TLS 1.2/1.3 hello was refused for its "
            "version: no TLS version in common",
        )
    if _version_refused(default) and not any_ok(facts):
        return Match(0.6, cite(facts, [default]), "no TLS version in common")
    return None


def cipher_mismatch(facts: Facts) -> Match | None:
    """No suite, group or scheme in common: from the variants, the matrix, or what the server accepts."""
    if protocol_mismatch(facts) is not None:
        return None
    return matrix.best(
        _cipher_mismatch(facts),
        _scan_says(facts, CauseId.CIPHER_MISMATCH),
        simulated(facts, CauseId.CIPHER_MISMATCH),
    )


@matrix.weighs(CauseId.CIPHER_MISMATCH)
def _cipher_mismatch(facts: Facts) -> Match | None:
    """The default fails over what to negotiate, and offering every suite (same level, same
    versions) connects; or only the everything-relaxed client does, at TLS 1.2 or newer."""
    runs = attempts(facts)
    default = runs.get("default")
    if default is None or default.outcome is OK or default.cert_requested:
        return None
    if protocol_mismatch(facts) is not None:
        return None
    wide, low, legacy = runs.get("all-ciphers"), runs.get("seclevel-0"), runs.get("legacy")
    suites_only = wide is not None and wide.outcome is OK
    if suites_only and (_cipher_failure(default) or default.outcome is HandshakeOutcome.LOCAL_REJECT):
        assert wide is not None
        return Match(
            0.85,
            cite(facts, [default, wide]),
            f"no cipher suite in common: the server accepts {wide.cipher} ({wide.version}), which the "
            "client's own list does not offer; offering every suite at the same security level connects",
        )
    relaxed_only = (
        legacy is not None
        and legacy.outcome is OK
        and (low is None or low.outcome is not OK)
        and legacy.version not in ("TLSv1", "TLSv1.1", "SSLv3")
    )
    if relaxed_only and _cipher_failure(default):
        assert legacy is not None
        return Match(
            0.8,
            cite(facts, [default, legacy]),
            f"no cipher suite in common: the server accepts only {legacy.cipher} ({legacy.version}), "
            "a suite below every security level a client should use (no encryption, export or single DES)",
        )
    return violation_for(facts, CauseId.CIPHER_MISMATCH)


def _listed(names: tuple[str, ...], most: int = 4) -> str:
    return ", ".join(names[:most]) + (f" (+{len(names) - most} more)" if len(names) > most else "")


def scan_mismatch(facts: Facts) -> tuple[CauseId, Match] | None:
    """What the server accepts (checks/accepts.py) against what the default client offers.

    | the scan shows                                         | cause             | conf. |
    |--------------------------------------------------------|-------------------|-------|
    | versions accepted, none the client offers              | protocol-mismatch | .85   |
    | at every common version: no suite, group or scheme the | cipher-mismatch   | .80   |
    |   client offers is accepted (each one named)           |                   |       |
    | nothing accepted, even every suite, group and scheme   | cipher-mismatch   | .40   |
    |   (the server's own configuration allows nothing)      |                   |       |
    """
    scan = facts.first(AcceptScan)
    if scan is None:
        return None
    ev = cite(facts, [scan, *([d] if (d := default_attempt(facts)) is not None else [])])
    common = [v for v in scan.versions if v in scan.client_versions]
    if scan.versions and not common:
        return CauseId.PROTOCOL_MISMATCH, Match(
            0.85,
            ev,
            f"the server accepts only {_listed(scan.versions)}; "
            f"the client offers {_listed(scan.client_versions)}",
        )
    if not scan.versions:
        ends = ", ".join(f"{v}: {e}" for v, e in scan.version_ends)
        return CauseId.CIPHER_MISMATCH, Match(
            0.4,
            ev,
            f"the server refuses every hello, even those offering every suite, group and signature scheme "
            f"({ends}): its own configuration leaves nothing to agree on (e.g. a certificate its signature-"
            f"scheme list cannot sign with){NEXT_STEP}",
        )
    missing: list[str] = []
    for version in common:
        if version == "TLSv1.3" and scan.suites13 and not set(scan.suites13) & set(scan.client_suites):
            missing.append(f"TLS 1.3 suites: the server accepts only {_listed(scan.suites13)}")
        elif version != "TLSv1.3" and scan.suites12 and not set(scan.suites12) & set(scan.client_suites):
            missing.append(f"{version} suites: the server accepts only {_listed(scan.suites12)}")
    if scan.groups and scan.client_groups and not set(scan.groups) & set(scan.client_groups):
        missing.append(f"groups: the server accepts only {_listed(scan.groups)}")
    if scan.schemes and scan.client_schemes and not set(scan.schemes) & set(scan.client_schemes):
        missing.append(f"signature schemes: the server accepts only {_listed(scan.schemes)}")
    if not missing:
        return None
    return CauseId.CIPHER_MISMATCH, Match(
        0.8,
        ev,
        "nothing in common with what the client offers by default: " + "; ".join(missing),
    )


def _scan_says(facts: Facts, cause: CauseId) -> Match | None:
    found = scan_mismatch(facts)
    return found[1] if found is not None and found[0] is cause else None


def client_tls_policy(facts: Facts) -> Match | None:
    """The client's policy refused what the server chose: ours (below), or a known client's
    (``--client``, rules/clientsim.py)."""
    return matrix.best(_client_tls_policy(facts), simulated(facts, CauseId.CLIENT_TLS_POLICY))


def _client_tls_policy(facts: Facts) -> Match | None:
    """Our own policy refused what the server offered, and the same client at level 0 connects.

    Read apart from cipher-mismatch: the seclevel-0 variant keeps the client's suites and versions,
    so its success says the suites were fine and the level (DH size, SHA-1 signatures) was not.
    """
    runs = attempts(facts)
    default = runs.get("default")
    if default is None or default.outcome is OK or default.cert_requested or default.violation:
        return None
    if any(r in default.error for r in _CERT_POLICY_REASONS):
        return None  # a weak certificate: cert-weak says so
    low, wide = runs.get("seclevel-0"), runs.get("all-ciphers")
    what, setting, fixes = _policy_words(default.error)
    if low is not None and low.outcome is OK and (wide is None or wide.outcome is not OK):
        if what is not None:
            head = f"{setting} refuses {what}"
        else:
            how = f"alert {default.alert}" if default.alert else default.error
            head = (
                f"the server refuses the default client ({how}) but accepts the same suites and versions "
                "at security level 0: it needs something the client's level excludes (SHA-1 signatures, "
                "1024-bit DH, RSA keys under 2048 bits)"
            )
        return Match(
            0.85,
            cite(facts, [default, low]),
            f"{head}; the same client {'allowing it' if fixes else 'at level 0'} connects "
            f"({low.version} {low.cipher}): "
            "the server should fix this, not the client",
            fixes,
        )
    if default.outcome is not HandshakeOutcome.LOCAL_REJECT:
        return None
    if any(r in default.error for r in _VERSION_REASONS + _CIPHER_REASONS):
        return None
    if what is not None:
        return Match(0.6, cite(facts, [default]), f"{setting} refuses {what}", fixes)
    # Unexplained: our TLS library refused the server's flight and nothing relaxed connects. A
    # candidate, weakly held, with the next step: what exactly the server sent.
    return Match(
        0.35,
        cite(facts, [default]),
        f"the client's TLS library refused the server's answer ({default.error}), and no relaxed "
        f"client connected either{NEXT_STEP}",
    )


def server_overloaded(facts: Facts) -> Match | None:
    """The concurrency ramp shows latency or failures growing with load (or repeats slow down, time
    out); or the server hangs after its ServerHello at every segment size."""
    ramp = overload(facts)
    if ramp is not None:
        return ramp
    hung = _stalled_mid_handshake(facts)
    if hung is not None:
        return hung
    stats = facts.first(RepeatStats)
    if stats is None or stats.failures == 0 or stats.failures == stats.attempts:
        return None
    timeouts = dict(stats.outcomes).get(HandshakeOutcome.TIMEOUT.value, 0)
    if timeouts >= stats.failures / 2 and stats.p90_ms > 4 * max(stats.p50_ms, 1.0) and stats.p90_ms > 500:
        return Match(
            0.6,
            cite(facts, [stats]),
            f"handshakes slow down (p90 {stats.p90_ms:.0f} ms vs p50 {stats.p50_ms:.0f} ms) and time out",
        )
    return None


RULES = (
    Rule(CauseId.PATH_MTU_BLACKHOLE, reproducible(supported_by_mtu(path_mtu_blackhole))),
    Rule(CauseId.FIREWALL_RESET, firewall_reset),
    Rule(CauseId.FIREWALL_DROP, firewall_drop),
    Rule(CauseId.SNI_FILTERED, reproducible(sni_filtered)),
    Rule(CauseId.CLIENTHELLO_TOO_LARGE, reproducible(clienthello_too_large)),
    Rule(CauseId.SERVER_NOT_TLS, server_not_tls),
    Rule(CauseId.SERVER_CLOSED, server_closed),
    Rule(CauseId.SERVER_OVERLOADED, server_overloaded),
    Rule(CauseId.PROTOCOL_MISMATCH, protocol_mismatch),
    Rule(CauseId.CIPHER_MISMATCH, cipher_mismatch),
    Rule(CauseId.CLIENT_CERT_REQUIRED, client_cert_required),
    Rule(CauseId.SNI_REQUIRED, reproducible(sni_required)),
    Rule(CauseId.CLIENT_TLS_POLICY, client_tls_policy),
)
