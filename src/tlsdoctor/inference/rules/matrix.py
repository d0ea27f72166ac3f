"""The hello matrix's decision table: which pattern of answered and dead hellos names which cause.

Probes are defined in checks/hello.py. "Answered" is a TLS answer (ServerHello, HelloRetryRequest or an
alert: the server read the hello); "died" is an RST, a FIN or silence before any byte. These are not
rules (rules/tls.py keeps exactly one per cause): each cause's rule there asks ``decide(facts, cause)``
for the matrix's word and weighs it with the standard-library variants' evidence.

| cause                 | the matrix shows                                                      | conf. |
|-----------------------|-----------------------------------------------------------------------|-------|
| sni-filtered          | every hello naming the target dies; the same hello with no SNI, a     | .90   |
|                       |   neutral or a random name is answered (.85 if only the SNI-less one) |       |
| clienthello-too-large | pq-large (~1.8 KB) dies; every smaller shape naming the target is     | .90   |
|                       |   answered (.80 when modern, 512 B, also dies and only minimal passes)|       |
|                       | padded-300 (256-511 B, the F5 range) dies; minimal (< 256) and modern | .80   |
|                       |   (512) are answered                                                  |       |
| firewall-reset        | every hello, whatever its size, SNI or version, is reset              | veto  |
| server-closed         | every hello is closed with a FIN and no alert                         | veto  |
| firewall-drop         | no hello gets any byte back                                           | veto  |
|                       |   ("veto": the variants decide; an answered hello, or an HTTP answer, |       |
|                       |    vetoes them, and a uniform matrix is cited as more evidence)       |       |
| server-not-tls        | a hello is answered in another protocol                               | .95   |
|                       | every hello dies, and HEAD / HTTP/1.1 gets an HTTP answer             | .85   |
| sni-required          | a hello naming the target gets alert unrecognized_name                | .90   |
|                       | modern naming the target is accepted, the same without SNI is refused | .50   |
| protocol-mismatch     | hellos are accepted only at TLS 1.0/1.1; none at TLS 1.2 or 1.3       | .90   |
| cipher-mismatch       | a TLS >= 1.2 ServerHello selects a suite the default client does not  | .85   |
|                       |   offer (and the default failed with handshake_failure)              |       |
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable

from tlsdoctor.inference.causes import CauseId
from tlsdoctor.inference.facts import Facts
from tlsdoctor.inference.rules.base import Match
from tlsdoctor.inference.rules.helpers import cite, default_attempt, default_ok
from tlsdoctor.inference.rules.path import small_mss_passes
from tlsdoctor.observations.hello import LEGACY_VERSIONS, HelloEnd, HelloProbe, reproduced
from tlsdoctor.observations.tls import HandshakeOutcome
from tlsdoctor.wire.sniff import sniff

SIZE_SHAPES = ("minimal", "modern", "pq-large")  # one SNI (the target's), growing size
OTHER_NAMES = ("sni-none", "sni-neutral", "sni-random")
# The default client failing this way leaves the suites (or groups, schemes) as what differs.
_CIPHER_ALERTS = ("handshake_failure", "insufficient_security")
_CIPHER_WORDS = ("NO_CIPHERS", "NO_SHARED", "NO_SUITABLE")
# Where a path-MTU black hole explains a big hello vanishing as well as a size limit does.
PMTU_CAP = 0.5

RuleFn = Callable[[Facts], "Match | None"]


def probes(facts: Facts) -> dict[str, HelloProbe]:
    """probe name -> its result (the first, if a probe ran twice)."""
    out: dict[str, HelloProbe] = {}
    for p in facts.all(HelloProbe):
        out.setdefault(p.probe, p)
    return out


def hellos(facts: Facts) -> list[HelloProbe]:
    """The ClientHello probes that reached the peer (not the HTTP request, not failed connects)."""
    return [p for p in probes(facts).values() if p.is_tls and p.ran]


def sni_filtered(facts: Facts) -> Match | None:
    """The name decides: hellos naming the target die, the same hello naming something else passes."""
    runs = probes(facts)
    named = [p for p in hellos(facts) if p.sni_role == "target" and p.sni]
    others = [runs[n] for n in OTHER_NAMES if n in runs and runs[n].answered]
    if len(named) < 2 or not others or not all(p.died for p in named):
        return None
    named_other = [p for p in others if p.sni]
    conf = 0.9 if named_other else 0.85
    passing = named_other[0] if named_other else others[0]
    what = f"naming {passing.sni}" if passing.sni else "without SNI"
    return Match(
        conf,
        cite(facts, [named[0], passing]),
        f"all {len(named)} hellos naming {named[0].sni} are {named[0].end.value}, "
        f"the same hello {what} is answered: a filter matches the name",
    )


def clienthello_too_large(facts: Facts) -> Match | None:
    """Only the big hello dies (post-quantum share), or only the one in the F5 256-511 byte range."""
    runs = probes(facts)
    sized = [runs[n] for n in SIZE_SHAPES if n in runs and runs[n].ran]
    big = runs.get("pq-large")
    if big is not None and big.died:
        alive = [p for p in sized if p.answered]
        dead = [p for p in sized if p.died]
        if alive and min(p.hello_bytes for p in dead) > max(p.hello_bytes for p in alive):
            small = max(alive, key=lambda p: p.hello_bytes)
            if not reproduced(facts.all(HelloProbe), big.probe, small.probe):
                return None  # a re-run disagreed: a lost packet, not a size limit
            conf = 0.9 if small.probe == "modern" else 0.8
            if _mtu_suspect(facts):  # full-size segments vanish both ways: the path, not a size limit
                conf = min(conf, PMTU_CAP)
            return Match(
                conf,
                cite(facts, [big, small]),
                f"the {big.hello_bytes}-byte hello with a post-quantum key share (X25519MLKEM768, "
                f"as browsers send) is {big.end.value}, the {small.hello_bytes}-byte one is "
                "answered: clients with large hellos (Chrome, Firefox, OpenSSL 3.5) fail here",
            )
    f5, low, high = runs.get("padded-300"), runs.get("minimal"), runs.get("modern")
    if f5 is not None and f5.died and low is not None and high is not None and low.answered and high.answered:
        return Match(
            0.8,
            cite(facts, [f5, low, high]),
            f"the {f5.hello_bytes}-byte hello (inside 256-511 bytes) is {f5.end.value} while "
            f"{low.hello_bytes}- and {high.hello_bytes}-byte ones are answered: the F5 BIG-IP "
            "ClientHello length bug (RFC 7685 §1)",
        )
    return None


def _mtu_suspect(facts: Facts) -> bool:
    """The default handshake stalled after some bytes, or a small MSS passed: a path-MTU black hole."""
    default = default_attempt(facts)
    if default is not None and default.outcome is HandshakeOutcome.TIMEOUT and default.bytes_received > 0:
        return True
    return bool(small_mss_passes(facts))


def named_answered(facts: Facts) -> list[HelloProbe]:
    """Hellos naming the target that were answered: the name alone does not kill the connection."""
    return [p for p in hellos(facts) if p.sni_role == "target" and p.sni and p.answered]


def uniform(facts: Facts, ends: frozenset[HelloEnd]) -> list[HelloProbe] | None:
    """Every hello that reached the peer ended in one of ``ends`` with no byte back (else None)."""
    runs = hellos(facts)
    if not runs or not all(p.end in ends and p.bytes_received == 0 for p in runs):
        return None
    return runs


def contradicting(facts: Facts, ends: frozenset[HelloEnd]) -> list[HelloProbe]:
    """Evidence against "every hello dies this way": hellos that were answered (in TLS or not).

    An HTTP answer counts only against FIN endings (an HTTP server hanging up on binary bytes):
    a filter that resets or drops TLS lets plain HTTP through, so it is consistent with those.
    """
    out = [p for p in hellos(facts) if p.answered or p.end is HelloEnd.NOT_TLS]
    http = probes(facts).get("http")
    if HelloEnd.EOF in ends and http is not None and http.end is HelloEnd.NOT_TLS and http.sniffed == "http":
        out.append(http)
    return out


def server_not_tls(facts: Facts) -> Match | None:
    """Another protocol answers a hello; or every hello dies and a plain HTTP request is answered."""
    other = [p for p in hellos(facts) if p.end is HelloEnd.NOT_TLS]
    if other:
        seen = sniff(other[0].first_bytes)
        hint = f"; use --starttls {seen.starttls}" if seen.starttls else ""
        return Match(0.95, cite(facts, other[:2]), f"the port speaks {seen.label}, not TLS{hint}")
    # Every hello closed with a FIN while HEAD gets HTTP: an HTTP server hanging up on binary bytes.
    # Resets and silence are not read this way: a filter that kills TLS passes HTTP just the same.
    http = probes(facts).get("http")
    runs = hellos(facts)
    if http is None or http.sniffed != "http" or not runs or not all(p.end is HelloEnd.EOF for p in runs):
        return None
    return Match(
        0.8,
        cite(facts, [http, runs[0]]),
        f"the port answers plain HTTP ({sniff(http.first_bytes).label}) while every ClientHello "
        f"is {runs[0].end.value}: use http://, or the TLS port",
    )


def sni_required(facts: Facts) -> Match | None:
    """The server refuses the target's name, or refuses a hello without SNI that passes with it."""
    runs = probes(facts)
    named = [p for p in hellos(facts) if p.sni_role == "target" and p.alert == "unrecognized_name"]
    if named:
        what = f"the server does not recognise {named[0].sni}" if named[0].sni else "the server needs SNI"
        return Match(0.9, cite(facts, named[:2]), what)
    modern, bare = runs.get("modern"), runs.get("sni-none")
    if modern is None or bare is None or not modern.sni or not modern.accepted:
        return None
    if bare.end is HelloEnd.ALERT or bare.died:
        return Match(
            0.5,
            cite(facts, [bare, modern]),
            "a hello without SNI is refused while the same hello naming the target is accepted "
            "(clients connecting by IP address fail)",
        )
    return None


def protocol_mismatch(facts: Facts) -> Match | None:
    """Hellos are accepted only at a legacy version; every TLS 1.2/1.3 offer is refused."""
    runs = hellos(facts)
    legacy = [p for p in runs if p.accepted and p.version in LEGACY_VERSIONS]
    modern = [p for p in runs if p.accepted and p.version not in LEGACY_VERSIONS]
    refused = [p for p in runs if p.probe in ("tls1.2", "tls1.3", "modern") and not p.accepted]
    if not legacy or modern or not refused:
        return None
    versions = ", ".join(sorted({p.version or "" for p in legacy}))
    return Match(
        0.9,
        cite(facts, [legacy[0], refused[0]]),
        f"the server accepts only {versions}; every TLS 1.2/1.3 offer is refused",
    )


def cipher_mismatch(facts: Facts) -> Match | None:
    """The default fails over suites, and a TLS >= 1.2 ServerHello selects one the default does not offer."""
    default = default_attempt(facts)
    if (
        default is None
        or default.cert_requested
        or not (default.alert in _CIPHER_ALERTS or any(w in default.error for w in _CIPHER_WORDS))
    ):
        return None
    foreign = [
        p
        for p in hellos(facts)
        if p.end is HelloEnd.SERVER_HELLO
        and p.default_offers_cipher is False
        and p.version not in LEGACY_VERSIONS
    ]
    common = [p for p in hellos(facts) if p.end is HelloEnd.SERVER_HELLO and p.default_offers_cipher]
    if not foreign or common:
        return None
    return Match(
        0.85,
        cite(facts, foreign[:2]),
        f"the server selects {foreign[0].cipher} ({foreign[0].version}), a suite the default "
        "client does not offer, and none that it does",
    )


@dataclasses.dataclass(frozen=True, slots=True)
class Decision:
    """One row of the table: a cause and the matrix pattern that speaks for it."""

    cause: CauseId
    pattern: str
    decide: Callable[[Facts], Match | None]


# firewall-reset, server-closed and firewall-drop use uniform()/contradicting() directly (they veto).
TABLE: tuple[Decision, ...] = (
    Decision(CauseId.SNI_FILTERED, "named hellos die, other names answered", sni_filtered),
    Decision(CauseId.CLIENTHELLO_TOO_LARGE, "only pq-large (or only padded-300) dies", clienthello_too_large),
    Decision(CauseId.SERVER_NOT_TLS, "another protocol answers", server_not_tls),
    Decision(CauseId.SNI_REQUIRED, "unrecognized_name, or no-SNI refused", sni_required),
    Decision(CauseId.PROTOCOL_MISMATCH, "accepted only at TLS 1.0/1.1", protocol_mismatch),
    Decision(CauseId.CIPHER_MISMATCH, "a suite the default does not offer", cipher_mismatch),
)
_BY_CAUSE = {d.cause: d for d in TABLE}


def decide(facts: Facts, cause: CauseId) -> Match | None:
    """The matrix's match for ``cause`` (None when the table has no row for it, or no row matched)."""
    row = _BY_CAUSE.get(cause)
    return row.decide(facts) if row is not None else None


def best(*matches: Match | None) -> Match | None:
    """The most confident of several matches for one cause, citing the evidence of all of them."""
    present = [m for m in matches if m is not None]
    if not present:
        return None
    top = max(present, key=lambda m: m.confidence)
    evidence = [e for m in sorted(present, key=lambda m: -m.confidence) for e in m.evidence]
    return Match(top.confidence, evidence, top.summary, top.fixes)


# A rule's own (variant) match is dropped when the matrix shows its premise false.
_VETOES: dict[CauseId, Callable[[Facts], list[HelloProbe]]] = {
    CauseId.SNI_FILTERED: named_answered,  # a hello naming the target passed: not a name filter
}


def weighs(cause: CauseId) -> Callable[[RuleFn], RuleFn]:
    """Make a rule weigh the matrix's row for its cause too: the more confident of the two, both cited.

    The matrix speaks only when the default handshake failed, except for clienthello-too-large: a large
    hello dying where the default client works is exactly "curl works, Chrome fails".
    """

    def wrap(rule: RuleFn) -> RuleFn:
        @functools.wraps(rule)
        def weighed(facts: Facts) -> Match | None:
            own = rule(facts)
            veto = _VETOES.get(cause)
            if own is not None and veto is not None and veto(facts):
                own = None
            if cause is not CauseId.CLIENTHELLO_TOO_LARGE and default_ok(facts):
                return own
            return best(own, decide(facts, cause))

        return weighed

    return wrap


def unless_answered(*ends: HelloEnd) -> Callable[[RuleFn], RuleFn]:
    """For the rules that say every hello dies the same way (firewall-reset, firewall-drop, server-closed).

    A hello the matrix got answered (in TLS or another protocol) vetoes them: the port is not dead to
    every hello; an HTTP answer vetoes only the FIN reading (see contradicting). A matrix whose hellos
    all ended in ``ends`` is cited.
    """
    wanted = frozenset(ends)

    def wrap(rule: RuleFn) -> RuleFn:
        @functools.wraps(rule)
        def checked(facts: Facts) -> Match | None:
            own = rule(facts)
            if own is None or contradicting(facts, wanted):
                return None
            same = uniform(facts, wanted)
            if same is None:
                return own
            sizes = sorted({p.hello_bytes for p in same})
            more = (
                f"; so were all {len(same)} crafted hellos ({sizes[0]}-{sizes[-1]} bytes, "
                "with and without SNI, TLS 1.0-1.3)"
            )
            return Match(own.confidence, [*own.evidence, *cite(facts, same[:1])], (own.summary or "") + more)

        return checked

    return wrap
