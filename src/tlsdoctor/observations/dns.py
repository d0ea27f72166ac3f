"""What name resolution showed."""

from __future__ import annotations

import dataclasses
import enum
from typing import ClassVar

from tlsdoctor.observations.base import Observation


class DnsOutcome(enum.StrEnum):
    """How one lookup ended; NXDOMAIN is a definite answer, the others are failures to answer."""

    ANSWER = "answer"
    NXDOMAIN = "nxdomain"
    NO_ADDRESS = "no-address"  # NOERROR with no record of this type (NODATA)
    SERVFAIL = "servfail"
    REFUSED = "refused"
    TIMEOUT = "timeout"
    ERROR = "error"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class DnsLookup(Observation):
    """One question to one resolver ("system" is getaddrinfo)."""

    kind: ClassVar[str] = "dns-lookup"

    resolver: str
    name: str
    qtype: str  # "A", "AAAA" or "ANY" (getaddrinfo)
    outcome: DnsOutcome
    addresses: tuple[str, ...] = ()
    rcode: str | None = None
    elapsed_ms: float = 0.0
    detail: str = ""
    transport: str = ""  # "udp", "tcp" (after truncation) or "getaddrinfo"
    # Named with --resolver: this server replaces the system's resolver, so its answer is the one
    # diagnose connects to, and the system resolver, still asked, is only a comparison.
    named: bool = False

    def describe(self) -> str:
        where = "system resolver" if self.resolver == "system" else f"resolver {self.resolver}"
        if self.named:
            where += " (--resolver)"
        if self.outcome is DnsOutcome.ANSWER:
            return f"{where}: {self.name} {self.qtype} -> {', '.join(self.addresses)}"
        extra = f" ({self.detail})" if self.detail else ""
        return f"{where}: {self.name} {self.qtype} -> {self.outcome.value}{extra}"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class AddressNote(Observation):
    """An answer address in a special range: noted, and a fault only with other evidence."""

    kind: ClassVar[str] = "address-note"

    address: str
    category: str  # net/addresses.py: "private", "loopback", "unspecified", "cgnat", "sinkhole", ...
    resolver: str = ""
    name: str = ""  # the name this address answered
    sinkhole: bool = False  # looks like a DNS filter's block answer for this name (net/addresses.py)

    def describe(self) -> str:
        who = f" (from {self.resolver})" if self.resolver and self.resolver != "system" else ""
        a = "an" if self.category[:1] in "aeiou" else "a"
        if self.sinkhole:
            return (
                f"{self.name} resolves to {self.address}{who}, {a} {self.category} address: "
                "the typical answer of a DNS filter or an /etc/hosts block entry"
            )
        return f"{self.address} is {a} {self.category} address{who}"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ResolverDisagreement(Observation):
    """Two resolvers returned different address sets for the same question."""

    kind: ClassVar[str] = "resolver-disagreement"

    name: str
    qtype: str
    answers: tuple[tuple[str, tuple[str, ...]], ...]  # (resolver, addresses) per resolver
    suspicious: bool = False  # a fault sign (NXDOMAIN vs answer, special vs public), not CDN/geo variety
    reason: str = ""

    def describe(self) -> str:
        parts = "; ".join(f"{r}: {', '.join(a) or 'nothing'}" for r, a in self.answers)
        why = f" ({self.reason})" if self.reason else ""
        return f"resolvers disagree on {self.name} {self.qtype}: {parts}{why}"
