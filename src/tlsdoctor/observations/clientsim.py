"""What a known client's replayed hello got from the server (``diagnose --client``, clientsim/)."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from tlsdoctor.observations.base import Observation


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ClientSimulation(Observation):
    """The profile's hello, sent as recorded (our SNI), and the outcome judged by its own policy.

    ``failure_kind`` is ``protocol``, ``cipher``, ``policy``, ``trust``, ``refused`` or ``transport``
    (clientsim.judge.Failure), empty when the client would connect. ``version``/``cipher_suite``/
    ``group`` are what the server chose, also when the client would then refuse it.
    """

    kind: ClassVar[str] = "client-simulation"

    client: str
    label: str
    source: str
    version: str | None
    cipher_suite: str | None
    group: str | None
    failure: str | None
    failure_kind: str
    offered_versions: tuple[str, ...]
    trust_store: str = ""  # the store the chain was judged against ("" when not judged)

    @property
    def connects(self) -> bool:
        return self.failure is None

    def describe(self) -> str:
        if self.failure is None:
            return f"{self.label} would connect: {self.version} {self.cipher_suite}" + (
                f" with {self.group}" if self.group else ""
            )
        return f"{self.label} would fail: {self.failure}"
