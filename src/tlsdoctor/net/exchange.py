"""Drive a sans-IO wire conversation over a Stream until the server's answer is decided.

The codec (wire/conversation.py) only turns bytes into events; this is the loop that feeds it from a
socket, under the Stream's deadline and byte cap, and says how the exchange ended: a ServerHello or
HelloRetryRequest, a fatal alert, another protocol's bytes, a FIN, an RST, or silence. It stops at the
first decisive event, so a probe costs one round trip on a healthy server and one deadline on a silent
one, and a hostile peer (16 MB length fields, endless or dripping bytes) costs at most the deadline and
the cap.
"""

from __future__ import annotations

import dataclasses
import time

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


async def exchange(
    stream: Stream, payload: bytes, conversation: ClientConversation | None = None
) -> Transcript:
    """Send ``payload`` (a ClientHello, or any request) and read until the answer is decided.

    Never raises for network failures: RST, FIN, silence and the byte cap are ends like any other.
    """
    conv = conversation if conversation is not None else ClientConversation(max_buffer=stream.cap)
    start = time.monotonic()
    warning: str | None = None

    def done(
        end: HelloEnd, hello: ServerHello | None = None, alert: str | None = None, error: str = ""
    ) -> Transcript:
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
            alert=alert or warning,
            error=error,
        )

    sent = await stream.send(payload)
    if sent is not ReadEnd.DATA:
        return done(_TRANSPORT[sent], error=stream.error or f"send: {sent.value}")
    while True:
        event = conv.next_event()
        if event is DONE:  # the codec finished on an event we already returned; cannot happen twice
            return done(HelloEnd.BROKEN, error="conversation already finished")
        if event is not NEED_DATA:
            decided = _decided(event)
            if decided is None:  # a warning alert: remember it, keep reading
                if isinstance(event, AlertEvent) and warning is None:
                    warning = str(event.alert.description).lower()
                continue
            return done(*decided)
        end, data = await stream.recv()
        if end is ReadEnd.DATA:
            conv.receive_data(data)
        elif end is ReadEnd.EOF:
            conv.receive_data(b"")  # the codec turns it into ClosedEvent, or NotTls for a short answer
        else:
            return done(_TRANSPORT[end], error=stream.error or _WHY[end])


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
