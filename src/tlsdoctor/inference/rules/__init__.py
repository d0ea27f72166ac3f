"""RULES: the literal table of every cause's rule (one per cause id, checked by a test).

The table is built on first use (PEP 562 module __getattr__): importing every rule module
costs tens of milliseconds that `explain`, which needs only Match and Rule, should not pay.
"""

from __future__ import annotations

from tlsdoctor.inference.causes import CauseId
from tlsdoctor.inference.rules.base import Match, Rule

RULES: tuple[Rule, ...]  # built by __getattr__ on first access


def _table() -> tuple[Rule, ...]:
    from tlsdoctor.inference.rules import cert, client, clock, dns, idle, tls, transport

    return (
        dns.DNS_NXDOMAIN,
        dns.DNS_FAILURE,
        dns.DNS_INCONSISTENT,
        *transport.RULES,
        *tls.RULES,
        *cert.RULES,
        clock.CLIENT_CLOCK_SKEW,
        *client.RULES,
        *idle.RULES,
    )


# Causes that no live probe observes yet; `explain` still names them from error text (the engine
# weighs text clues for every cause). None today: server-idle-close and client-write-after-close
# come from the --idle probe (rules/idle.py).
TEXT_ONLY: frozenset[CauseId] = frozenset()


def __getattr__(name: str) -> tuple[Rule, ...]:
    if name == "RULES":
        table = _table()
        globals()["RULES"] = table
        return table
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["RULES", "TEXT_ONLY", "Match", "Rule"]
