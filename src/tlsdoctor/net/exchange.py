"""THE conversation driver: a sans-IO wire conversation fed from a Stream, for diagnose and scan alike.

The codec (wire/conversation.py) only turns bytes into events; :func:`drive` is the one loop that feeds it
from a socket, under the Stream's deadline and byte cap, and hands every event to a listener that says
whether it has what it came for. What a command wants from the server's answer is the listener's business:

- :func:`exchange` (diagnose's hello matrix) stops at the first decisive event, so a probe costs one round
  trip on a healthy server and one deadline on a silent one, and says how the exchange ended: a
  ServerHello or HelloRetryRequest, a fatal alert, another protocol's bytes, a FIN, an RST, or silence;
- scan/probe.py folds the server's whole first flight (certificates, key exchange, stapling) and may
  answer a HelloRetryRequest once.

A hostile peer (16 MB length fields, endless or dripping bytes) costs at most the deadline and the cap.
"""

from __future__ import annotations

import dataclasses
import enum
import time
from typing import Protocol

from tlsdoctor.net.stream import ReadEnd, Stream
from tlsdoctor.observations.hello import HelloEnd
from tlsdoctor.wire.codepoints import AlertDescription, AlertLevel
from tlsdoctor.wire.conversation import (
    DONE,
    NEED_DATA,
    AlertEvent,
    ClientConversation,
    ClosedEvent,
    Event,
    HelloRetryEvent,
    NotTlsEvent,
    ProtocolErrorEvent,
    ServerHelloEvent,
    SSLv2Event,
)
from tlsdoctor.wire.handshake import ServerHello

# Warning alerts a TLS <= 1.2 server may send before its ServerHello and carry on (RFC 5246 §7.2: only
# close_notify and user_canceled end the connection at warning level); unrecognized_name is the usual one
# (RFC 6066 §3).
_CLOSING_WARNINGS = frozenset({AlertDescription.CLOSE_NOTIFY, AlertDescription.USER_CANCELED})


class Next(enum.Enum):
    """What a listener wants after an event (or bytes: send them, e.g. a second ClientHello, and read on)."""

    MORE = "more"
    STOP = "stop"


class Listener(Protocol):
    """Folds a conversation's events into what its command wants to know."""

    def event(self, event: Event) -> Next | bytes:
        """One event from the codec: read on, stop, or send these bytes and read on."""
        ...

    def received(self, head: bytes) -> Next:
        """Bytes arrived (``head``: the first bytes the peer sent); STOP ends the exchange before the codec
        asks for more, e.g. for a header whose length no real message has."""
        ...


@dataclasses.dataclass(frozen=True, slots=True)
class Ending:
    """Why :func:`drive` returned. ``transport`` None: the listener stopped it (or ``finished``: the codec
    had nothing more, or ``steps`` ran out); else how the transport ended, ``sending`` when on a send."""

    transport: ReadEnd | None = None
    sending: bool = False
    finished: bool = False
    steps: bool = False


async def drive(
    stream: Stream,
    payload: bytes,
    listener: Listener,
    conversation: ClientConversation | None = None,
    *,
    max_steps: int | None = None,
) -> Ending:
    """Send ``payload``, then feed the server's bytes to the codec and its events to ``listener`` until the
    listener stops, the transport ends (RST, silence, the byte cap; a FIN is the codec's ClosedEvent) or
    ``max_steps`` events and reads have passed. Never raises for network failures."""
    conv = conversation if conversation is not None else ClientConversation(max_buffer=stream.cap)
    conv.sent(payload)
    sent = await stream.send(payload)
    if sent is not ReadEnd.DATA:
        return Ending(transport=sent, sending=True)
    steps = 0
    while max_steps is None or steps < max_steps:
        steps += 1
        event = conv.next_event()
        if event is DONE:
            return Ending(finished=True)
        if event is not NEED_DATA:
            step = listener.event(event)
            if isinstance(step, bytes):
                conv.sent(step)
                sent = await stream.send(step)
                if sent is not ReadEnd.DATA:
                    return Ending(transport=sent, sending=True)
            elif step is Next.STOP:
                return Ending()
            continue
        end, data = await stream.recv()
        if end is ReadEnd.DATA:
            conv.receive_data(data)
            if listener.received(bytes(stream.head)) is Next.STOP:
                return Ending()
        elif end is ReadEnd.EOF:
            conv.receive_data(b"")  # the codec turns it into ClosedEvent, or NotTls for a short answer
        else:
            return Ending(transport=end)
    return Ending(steps=True)


@dataclasses.dataclass(frozen=True, slots=True)
class Transcript:
    """How one exchange ended, after how many bytes and milliseconds (from the first byte sent)."""

    end: HelloEnd
    bytes_sent: int
    bytes_received: int
    elapsed_ms: float
    first_bytes: bytes = b""
    server_hello: ServerHello | None = None
    alert: str | None = None  # description of the alert that ended it (or a warning seen before)
    error: str = ""


def _not_tls_start(head: bytes) -> bool:
    """The first byte already rules TLS out: no record content type (RFC 8446 §5.1) nor an SSLv2 header."""
    return bool(head) and not (20 <= head[0] <= 26 or head[0] & 0x80)


def _decided(event: Event) -> tuple[HelloEnd, ServerHello | None, str | None, str] | None:
    """The end an event decides, or None for events that do not (a warning alert)."""
    match event:
        case ServerHelloEvent(hello=hello):
            return HelloEnd.SERVER_HELLO, hello, None, ""
        case HelloRetryEvent(hello=hello):
            return HelloEnd.HELLO_RETRY, hello, None, ""
        case AlertEvent(alert=alert):
            name = str(alert.description).lower()
            if alert.level == AlertLevel.WARNING and alert.description not in _CLOSING_WARNINGS:
                return None
            return HelloEnd.ALERT, None, name, ""
        case NotTlsEvent():
            return HelloEnd.NOT_TLS, None, None, ""
        case SSLv2Event():
            return HelloEnd.SSLV2, None, None, ""
        case ProtocolErrorEvent(error=error):
            return HelloEnd.BROKEN, None, None, str(error)
        case ClosedEvent(pending=pending):
            return HelloEnd.EOF, None, None, f"FIN with {pending} bytes of an unfinished record held"
        case _:  # records after a ServerHello cannot come first; treat anything else as decisive
            return HelloEnd.BROKEN, None, None, f"unexpected first event {type(event).__name__}"


class _FirstAnswer:
    """The listener of :func:`exchange`: the first decisive event, remembering a warning alert before it."""

    def __init__(self) -> None:
        self.decided: tuple[HelloEnd, ServerHello | None, str | None, str] | None = None
        self.warning: str | None = None

    def event(self, event: Event) -> Next | bytes:
        self.decided = _decided(event)
        if self.decided is not None:
            return Next.STOP
        if isinstance(event, AlertEvent) and self.warning is None:
            self.warning = str(event.alert.description).lower()
        return Next.MORE

    def received(self, head: bytes) -> Next:
        return Next.MORE


async def exchange(
    stream: Stream, payload: bytes, conversation: ClientConversation | None = None
) -> Transcript:
    """Send ``payload`` (a ClientHello, or any request) and read until the answer is decided.

    Never raises for network failures: RST, FIN, silence and the byte cap are ends like any other.
    """
    start = time.monotonic()
    answer = _FirstAnswer()
    ending = await drive(stream, payload, answer, conversation)
    if answer.decided is not None:
        end, hello, alert, error = answer.decided
    elif ending.transport is not None:
        why = f"send: {ending.transport.value}" if ending.sending else _WHY.get(ending.transport, "")
        end, hello, alert, error = _TRANSPORT[ending.transport], None, None, stream.error or why
    else:  # the codec finished on an event we already returned; cannot happen twice
        end, hello, alert, error = HelloEnd.BROKEN, None, None, "conversation already finished"
    head = bytes(stream.head)
    if end in (HelloEnd.TIMEOUT, HelloEnd.EOF, HelloEnd.BROKEN) and _not_tls_start(head):
        end = HelloEnd.NOT_TLS  # fewer bytes than the codec's sniffer needs, but already not TLS
    return Transcript(
        end=end,
        bytes_sent=stream.sent,
        bytes_received=stream.received,
        elapsed_ms=(time.monotonic() - start) * 1000,
        first_bytes=head[:64],
        server_hello=hello,
        alert=alert or answer.warning,
        error=error,
    )


_TRANSPORT: dict[ReadEnd, HelloEnd] = {
    ReadEnd.RESET: HelloEnd.RESET,
    ReadEnd.TIMEOUT: HelloEnd.TIMEOUT,
    ReadEnd.EOF: HelloEnd.EOF,
    ReadEnd.CAP: HelloEnd.BROKEN,
    ReadEnd.ERROR: HelloEnd.ERROR,
    ReadEnd.DATA: HelloEnd.ERROR,
}
_WHY: dict[ReadEnd, str] = {
    ReadEnd.TIMEOUT: "no answer before the deadline",
    ReadEnd.CAP: "the peer sent more than the byte cap",
}
