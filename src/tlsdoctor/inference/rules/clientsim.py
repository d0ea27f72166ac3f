"""The known client's own hello (``diagnose --client NAME``) as evidence for the negotiation causes.

The replayed hello is the client's, byte for byte, and its policy is the client's measured one, so a
refusal of it is direct evidence: no variant had to stand in for the client. Which cause it is comes
from how the judging named the failure (clientsim/judge.py): no version in common, nothing to
negotiate, or the client's own limits refusing what the server chose.
"""

from __future__ import annotations

from tlsdoctor.inference.causes import CauseId
from tlsdoctor.inference.facts import Facts
from tlsdoctor.inference.rules.base import Match
from tlsdoctor.inference.rules.helpers import cite
from tlsdoctor.observations.clientsim import ClientSimulation

CAUSE_OF_FAILURE: dict[str, CauseId] = {
    "protocol": CauseId.PROTOCOL_MISMATCH,
    "cipher": CauseId.CIPHER_MISMATCH,
    "policy": CauseId.CLIENT_TLS_POLICY,
    "trust": CauseId.CLIENT_CA_STORE,
}
CONFIDENCE = 0.9  # the client's own hello and limits: as direct as a diagnosis gets without the client


def simulated(facts: Facts, cause: CauseId) -> Match | None:
    """The client simulation failed in the way ``cause`` names."""
    for sim in facts.all(ClientSimulation):
        if sim.failure is not None and CAUSE_OF_FAILURE.get(sim.failure_kind) is cause:
            return Match(CONFIDENCE, cite(facts, [sim]), f"{sim.label} would fail: {sim.failure}")
    return None
