"""The base of every observation: a frozen record of what a check saw.

Observations are the one vocabulary between probes and inference: probes
produce them, rules match on their types, and the JSON envelope renders them
generically (``to_data``), so there is no second serialization model.
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Any, ClassVar

# A stall shorter than this cannot have made the peer end the conversation (no server times a handshake
# out within a second): what the peer decided within it (its RST, its alert, a refused connect, the
# certificate it sent) is its own answer, not our timing.
PEER_DECIDES_WITHIN_S = 1.0


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Observation:
    """What a check saw. Subclasses are frozen, slotted, keyword-only dataclasses."""

    kind: ClassVar[str] = "observation"

    def describe(self) -> str:
        """One line a person can read, used as evidence in reports."""
        return self.kind

    def stall_proof(self, stalled_s: float) -> bool:
        """Whether a stall of our own event loop lasting ``stalled_s`` seconds during the probe could
        NOT have produced this (runner.py: a failed result made only of such observations is kept
        as it is, not re-run or doubted). By default no: most observations time something."""
        return False

    def to_data(self) -> dict[str, Any]:
        """Plain JSON-ready data: enums by value, bytes as hex, tuples as lists."""
        out: dict[str, Any] = {"kind": self.kind}
        for field in dataclasses.fields(self):
            out[field.name] = plain(getattr(self, field.name))
        return out


def plain(value: Any) -> Any:
    """Turn an observation field into JSON-ready data."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, bytes | bytearray):
        return bytes(value).hex()
    if isinstance(value, tuple | list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, Observation):
        return value.to_data()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value
