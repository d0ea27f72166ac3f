"""The DNS causes: dns-nxdomain, dns-failure and dns-inconsistent.

Two principles shape every rule here (from the issue that specified this layer):

* Private and special-purpose ranges are normal in corporate and lab networks: they are
  noted, never a fault by themselves.
* An endpoint that works is never reported as a DNS fault. When a handshake succeeded, or
  TCP connected to an address that is not a sinkhole answer, a rule matches only if a DNS
  check itself failed, and then below the fault threshold (``WORKING_CAP``), so the verdict
  stays healthy when DNS merely looked odd. A connect to a sinkhole answer (127.0.0.1,
  0.0.0.0) does not count as working: it reaches whatever listens on this machine.

The system resolver weighs most, because it is what the failing client uses, unless the user
named resolvers with ``--resolver``: those replace it (contract/cli.md), so only their answers
can make a DNS cause, and the system resolver's different answer stays a note in the checks.
An address the named resolver gave that the user then reaches is not a sinkhole finding: a
loopback answer from a resolver one chose on purpose (a development resolver) is its intent.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence

from tlsdoctor.inference.causes import CauseId
from tlsdoctor.inference.facts import Facts
from tlsdoctor.inference.rules.base import Match, Rule
from tlsdoctor.model import Evidence, Status
from tlsdoctor.net import addresses
from tlsdoctor.observations.base import Observation
from tlsdoctor.observations.dns import AddressNote, DnsLookup, DnsOutcome, ResolverDisagreement
from tlsdoctor.observations.tcp import ConnectOutcome, TcpConnect
from tlsdoctor.observations.tls import HandshakeAttempt, HandshakeOutcome

__all__ = [
    "DNS_FAILURE",
    "DNS_INCONSISTENT",
    "DNS_NXDOMAIN",
    "WORKING_CAP",
    "failure",
    "inconsistent",
    "nxdomain",
]

WORKING_CAP = 0.3  # the most a DNS cause may claim when the endpoint demonstrably works
MAX_EVIDENCE = 6
SYSTEM = "system"

# What one resolver said about the name, all its lookups taken together.
ANSWER, NX, NODATA, FAILED = "answer", "nxdomain", "nodata", "failed"


def _named(facts: Facts) -> set[str]:
    """The resolvers named with --resolver; empty when the system's resolver is the client's."""
    return {lk.resolver for lk in facts.all(DnsLookup) if lk.named}


def _client_resolvers(facts: Facts) -> set[str]:
    """Whose answers the connection uses: the named resolvers, else the system resolver."""
    return _named(facts) or {SYSTEM}


def _reached(facts: Facts) -> set[str]:
    return {c.address for c in facts.all(TcpConnect) if c.outcome is ConnectOutcome.CONNECTED}


def _notes(facts: Facts) -> list[AddressNote]:
    """The address notes that may count: from the resolvers the connection relies on (all of
    them without --resolver; only the named ones with it), less the sinkhole-looking answers of
    a named resolver that the user then reached."""
    named, reached = _named(facts), _reached(facts)
    if not named:
        return facts.all(AddressNote)
    return [
        n for n in facts.all(AddressNote) if n.resolver in named and not (n.sinkhole and n.address in reached)
    ]


def _working(facts: Facts) -> bool:
    """A handshake succeeded, or TCP connected to an address that is not a sinkhole answer."""
    if any(h.outcome is HandshakeOutcome.OK for h in facts.all(HandshakeAttempt)):
        return True
    sinks = {n.address for n in _notes(facts) if n.sinkhole}
    return any(address not in sinks for address in _reached(facts))


def _guarded(predicate: Callable[[Facts], Match | None]) -> Callable[[Facts], Match | None]:
    """The predicate under the working-endpoint principle (see the module docstring)."""

    @functools.wraps(predicate)
    def guarded(facts: Facts) -> Match | None:
        match = predicate(facts)
        if match is None or not _working(facts):
            return match
        if not any(r.id.startswith("dns") and r.status is Status.FAIL for r in facts.results):
            return None
        return dataclasses.replace(
            match,
            confidence=min(match.confidence, WORKING_CAP),
            summary=f"{match.summary}; but connecting to the endpoint works",
        )

    return guarded


def _by_resolver(facts: Facts) -> dict[str, list[DnsLookup]]:
    """Each resolver's lookups; with --resolver only the named ones (the system is a comparison)."""
    named = _named(facts)
    out: dict[str, list[DnsLookup]] = {}
    for lookup in facts.all(DnsLookup):
        if not named or lookup.resolver in named:
            out.setdefault(lookup.resolver, []).append(lookup)
    return out


def _state(lookups: list[DnsLookup]) -> str:
    """ANSWER if any address came back, NX if the name was denied, NODATA if only empty, else FAILED."""
    outcomes = {lk.outcome for lk in lookups}
    if any(lk.outcome is DnsOutcome.ANSWER and lk.addresses for lk in lookups):
        return ANSWER
    if DnsOutcome.NXDOMAIN in outcomes:
        return NX
    if outcomes <= {DnsOutcome.NO_ADDRESS, DnsOutcome.ANSWER}:
        return NODATA
    return FAILED


def _evidence(facts: Facts, observations: Sequence[Observation]) -> list[Evidence]:
    return [facts.evidence(o) for o in observations[:MAX_EVIDENCE]]


def nxdomain(facts: Facts) -> Match | None:
    """NXDOMAIN from every resolver asked: 0.95 (0.8 from getaddrinfo alone, which may mean NODATA)."""
    per = _by_resolver(facts)
    states = {r: _state(lks) for r, lks in per.items()}
    nx = [r for r, s in states.items() if s == NX]
    if not nx:
        return None
    if nx == [SYSTEM] and NODATA in states.values():
        return None  # getaddrinfo's EAI_NONAME was NODATA: a dns-failure, not a missing name
    if ANSWER in states.values():
        confidence = 0.4  # others answer: dns-inconsistent tells that story
    elif len(nx) == len(states):
        confidence = 0.95 if any(r != SYSTEM for r in nx) else 0.8
    else:
        confidence = 0.75  # the rest failed to answer at all
    said = [lk for r in nx for lk in per[r] if lk.outcome is DnsOutcome.NXDOMAIN]
    return Match(
        confidence=confidence,
        evidence=_evidence(facts, said),
        summary=f"{said[0].name} does not exist: NXDOMAIN from {', '.join(nx)}",
    )


def failure(facts: Facts) -> Match | None:
    """No resolver produced an address: SERVFAIL/REFUSED/timeout 0.9, NODATA 0.85; partial lower."""
    per = _by_resolver(facts)
    states = {r: _state(lks) for r, lks in per.items()}
    bad = [r for r, s in states.items() if s in (NODATA, FAILED)]
    broken = [
        lk
        for lks in per.values()
        for lk in lks
        if lk.outcome not in (DnsOutcome.ANSWER, DnsOutcome.NO_ADDRESS, DnsOutcome.NXDOMAIN)
    ]
    if not bad and not broken:
        return None
    said = [lk for r in bad for lk in per[r]] or broken
    name = said[0].name
    answered = [r for r, s in states.items() if s == ANSWER]
    if not bad:
        # Every resolver gave some address, but one record type fails (a broken AAAA costs every
        # dual-stack client a timeout before it falls back).
        kinds = ", ".join(sorted({f"{lk.qtype} {lk.outcome.value}" for lk in broken}))
        return Match(
            confidence=0.25,
            evidence=_evidence(facts, broken),
            summary=f"{name}: some queries fail ({kinds}) though addresses were found",
        )
    if answered:
        system_bad = SYSTEM in bad
        return Match(
            confidence=0.7 if system_bad else 0.35,
            evidence=_evidence(facts, said),
            summary=f"{', '.join(bad)} cannot resolve {name} while {', '.join(answered)} can",
        )
    if NX in states.values():
        return Match(
            confidence=0.5,
            evidence=_evidence(facts, said),
            summary=f"{', '.join(bad)} fail to resolve {name}; others deny it exists",
        )
    if all(states[r] == NODATA for r in bad):
        return Match(
            confidence=0.85,
            evidence=_evidence(facts, said),
            summary=f"{name} exists but has no A or AAAA record",
        )
    kinds = ", ".join(sorted({lk.outcome.value for lk in said if lk.outcome is not DnsOutcome.NO_ADDRESS}))
    who = f"the resolver named with --resolver ({', '.join(bad)})" if _named(facts) else "no resolver"
    verb = "could not" if _named(facts) else "could"
    return Match(
        confidence=0.9, evidence=_evidence(facts, said), summary=f"{who} {verb} resolve {name} ({kinds})"
    )


def _system_is_odd(d: ResolverDisagreement) -> bool | None:
    """Whether the system resolver is on the suspicious side; None if it is absent.

    For NXDOMAIN-against-answer ("A/AAAA") the odd side is the one without addresses; for
    one record type it is the side with special-range addresses.
    """
    for resolver, found in d.answers:
        if resolver == SYSTEM:
            if d.qtype == "A/AAAA":
                return not found
            return any(addresses.classify(a) is not None for a in found)
    return None


def _connects_failed(facts: Facts, targets: set[str]) -> bool | None:
    """Whether every TCP connect to these addresses failed; None when none was tried."""
    tried = [c for c in facts.all(TcpConnect) if c.address in targets]
    if not tried:
        return None
    return all(c.outcome is not ConnectOutcome.CONNECTED for c in tried)


def inconsistent(facts: Facts) -> Match | None:
    """Sinkhole answers, suspicious disagreements, and never-routed answers that do not connect."""
    found: list[tuple[float, str, list[Evidence]]] = []
    notes = _notes(facts)
    client = _client_resolvers(facts)
    sinks = [n for n in notes if n.sinkhole]
    if sinks:
        hits_client = any(n.resolver in client for n in sinks)
        all_sunk = all(
            lk.resolver not in client or all(a in {n.address for n in sinks} for a in lk.addresses)
            for lk in facts.all(DnsLookup)
        )
        confidence = 0.9 if hits_client or all_sunk else 0.45
        found.append(
            (
                confidence,
                f"{sinks[0].name} resolves to the sinkhole address "
                f"{', '.join(sorted({n.address for n in sinks}))}",
                _evidence(facts, sinks),
            )
        )
    for d in facts.all(ResolverDisagreement):
        if d.suspicious:
            odd = _system_is_odd(d)
            confidence = 0.8 if odd or odd is None else 0.45
            found.append((confidence, f"resolvers disagree on {d.name}: {d.reason}", [facts.evidence(d)]))
    never = [n for n in notes if not n.sinkhole and n.category in addresses.NEVER_ROUTED]
    if never:
        failed = _connects_failed(facts, {n.address for n in never})
        confidence = 0.7 if failed else 0.6 if failed is None else 0.0
        found.append(
            (
                confidence,
                f"{never[0].name} resolves to never-routed addresses "
                f"({', '.join(sorted({n.category for n in never}))})",
                _evidence(facts, never),
            )
        )
    local = [n for n in notes if n.category in (addresses.PRIVATE, addresses.CGNAT, addresses.LINK_LOCAL)]
    if local and _connects_failed(facts, {n.address for n in local}):
        # Private, CGNAT, link-local: normal inside the network they belong to; only a hint when
        # none of them can be reached (the client is outside that network, or the VPN is down).
        found.append(
            (
                0.45,
                f"{local[0].name} resolves to {local[0].category} addresses that cannot be reached from here",
                _evidence(facts, local),
            )
        )
    found = [f for f in found if f[0] > 0]
    if not found:
        return None
    found.sort(key=lambda f: -f[0])
    return Match(
        confidence=found[0][0],
        evidence=[e for f in found for e in f[2]][:MAX_EVIDENCE],
        summary="; ".join(f[1] for f in found),
    )


DNS_NXDOMAIN = Rule(CauseId.DNS_NXDOMAIN, _guarded(nxdomain))
DNS_FAILURE = Rule(CauseId.DNS_FAILURE, _guarded(failure))
DNS_INCONSISTENT = Rule(CauseId.DNS_INCONSISTENT, _guarded(inconsistent))
