"""client-ca-store across stores: the client's trust store refuses a chain another store on the machine
accepts (checks/stores.py, and the certificate check's system verdict beside --ca-file).

Both verdicts judge the same chain, for the same name, at the same instant; only the anchors differ,
so the difference is the store. A --ca-file that validates is the user's chosen trust and wins
(a private CA the system store lacks is not this cause, issue 9); a --ca-file that does not, while
the system store or certifi's does, is.
"""

from __future__ import annotations

from tlsdoctor.inference.facts import Facts
from tlsdoctor.inference.rules.base import Match
from tlsdoctor.inference.rules.helpers import attempts
from tlsdoctor.observations.cert import ChainValidation, TrustStoreInfo
from tlsdoctor.observations.tls import HandshakeOutcome

__all__ = ["store_split"]


def _client_store(facts: Facts) -> TrustStoreInfo | None:
    """The store the default client used: --ca-file when given, else the system's."""
    stores = facts.all(TrustStoreInfo)
    return next((s for s in stores if s.source == "ca-file"), None) or next(
        (s for s in stores if s.source == "system"), None
    )


def _label(store: TrustStoreInfo) -> str:
    return f"ca-file:{store.cafile}" if store.source == "ca-file" else "system"


def _store_name(label: str) -> str:
    """ "certifi:/path" -> "certifi's bundle (/path)"; "system" -> "the system store";
    "java:/path, 144 anchors" -> "Java's cacerts (/path, 144 anchors)"."""
    kind, _, path = label.partition(":")
    if kind == "system":
        return "the system store"
    if kind == "ca-file":
        return f"the --ca-file bundle ({path})"
    if kind == "distribution":
        return f"the distribution's bundle ({path})"
    if kind == "java":
        return f"Java's cacerts ({path})"
    if kind == "node":
        return f"Node.js's bundled roots ({path})"
    if kind == "certifi":
        return f"certifi's (Mozilla) bundle ({path})"
    return f"the bundle {kind} names ({path})"


def store_split(facts: Facts) -> Match | None:
    """The client's store refuses the chain and another store validates it."""
    mine = _client_store(facts)
    if mine is None:
        return None
    label = _label(mine)
    validations = facts.all(ChainValidation)
    own = [v for v in validations if v.store.split("+")[0] == label]
    if not own or any(v.valid for v in own):
        return None
    others = [v for v in validations if v.valid and v.store.split("+")[0] != label]
    if not others:
        return None
    default = attempts(facts).get("default")
    if default is not None and default.outcome is HandshakeOutcome.OK:
        return None  # the client itself connected: the difference is not what fails
    refused = default is not None and default.outcome is HandshakeOutcome.VERIFY_FAILED
    other = others[0]
    root = other.path[-1] if other.path else "the chain's root"
    where = mine.cafile or mine.capath or "no file"
    summary = (
        f"{_store_name(label)} ({where}, {mine.anchors} anchors) lacks {root}, which this chain needs; "
        f"{_store_name(other.store)} has it: add that root to the client's store, or point the client at "
        "the bundle that has it"
    )
    evidence = [facts.evidence(own[0]), facts.evidence(other)]
    if default is not None:
        evidence.insert(0, facts.evidence(default))
    return Match(0.9 if refused else 0.6, evidence, summary)
