"""What ``diagnose --capture`` recorded of its own probes (the wire evidence itself comes from the
``pcap`` analysis of that recording, in its own observations)."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from tlsdoctor.observations.base import Observation


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ProbeCapture(Observation):
    """The recording: how much, of which endpoints, and where it was kept (--capture-file)."""

    kind: ClassVar[str] = "probe-capture"

    packets: int
    bytes: int
    dropped: int  # packets of ours not kept because the recorder's bounds were reached
    addresses: tuple[str, ...]
    port: int
    pcap: str | None = None  # kept at (--capture-file), else removed after the run
    keylog: str | None = None

    def describe(self) -> str:
        where = ", ".join(self.addresses) or "no resolved address"
        text = f"recorded {self.packets} packet(s), {self.bytes} bytes, to and from {where} port {self.port}"
        if self.dropped:
            text += f" ({self.dropped} more not kept: the recording's bounds were reached)"
        if self.pcap:
            text += f"; kept in {self.pcap} (key log {self.keylog})"
        return text
