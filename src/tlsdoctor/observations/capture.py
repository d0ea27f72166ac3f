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
    note: str = ""  # what the recording cannot hold (probes through a proxy)

    def describe(self) -> str:
        where = ", ".join(self.addresses) or "no resolved address"
        text = f"recorded {self.packets} packet(s), {self.bytes} bytes, to and from {where} port {self.port}"
        if self.dropped:
            text += f" ({self.dropped} more not kept: the recording's bounds were reached)"
        if self.pcap:
            text += f"; kept in {self.pcap} (key log {self.keylog})"
        if self.note:
            text += f"; {self.note}"
        return text


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class DecryptedHandshake(Observation):
    """What the key log (pcap --keylog, diagnose --capture) opened of one captured flow."""

    kind: ClassVar[str] = "decrypted-handshake"

    state: str  # "decrypted", or why not: "no secrets in the key log: no line for client random ..."
    decrypted: bool
    labels: tuple[str, ...] = ()  # the key-log labels found for the flow
    revealed: tuple[str, ...] = ()  # what decryption showed: "the server's Certificate", "client alert ..."
    failures: tuple[str, ...] = ()  # records no secret opened, per side

    def describe(self) -> str:
        if not self.decrypted:
            why = "; ".join(self.failures) or self.state
            return f"key log: the flow was not decrypted ({why})"
        shown = "; ".join(self.revealed) or "nothing the capture did not show"
        text = f"decrypted with the key log: {shown}"
        if self.failures:
            text += f" (not all: {'; '.join(self.failures)})"
        return text
