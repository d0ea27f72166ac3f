"""RULES: the literal table of every cause's rule (one per cause id, checked by a test)."""

from __future__ import annotations

from tlsdoctor.inference.causes import CauseId
from tlsdoctor.inference.rules import cert, clock, dns, tls, transport
from tlsdoctor.inference.rules.base import Match, Rule

RULES: tuple[Rule, ...] = (
    dns.DNS_NXDOMAIN,
    dns.DNS_FAILURE,
    dns.DNS_INCONSISTENT,
    *transport.RULES,
    *tls.RULES,
    cert.CERT_EXPIRED,
    cert.CERT_NOT_YET_VALID,
    cert.CERT_HOSTNAME_MISMATCH,
    cert.CERT_UNTRUSTED,
    cert.CERT_CHAIN_INCOMPLETE,
    cert.CERT_REVOKED,
    cert.CERT_WEAK,
    cert.TLS_INTERCEPTION,
    cert.CLIENT_CA_STORE,
    clock.CLIENT_CLOCK_SKEW,
)

# Causes that no live probe observes yet; `explain` still names them from error text (the engine
# weighs text clues for every cause). server-idle-close needs the --idle probe; a write after close
# happens inside the user's application, which only its error text (EPIPE) shows.
TEXT_ONLY: frozenset[CauseId] = frozenset(
    {
        CauseId.SERVER_IDLE_CLOSE,
        CauseId.CLIENT_WRITE_AFTER_CLOSE,
    }
)

__all__ = ["RULES", "TEXT_ONLY", "Match", "Rule"]
