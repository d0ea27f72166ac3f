"""One scan probe: connect, send one ClientHello, read the server's first flight, close.

A private driver of :class:`~tlsdoctor.wire.conversation.ClientConversation` over a
:class:`~tlsdoctor.net.stream.Stream` (``net/exchange.py`` from the hello-matrix work was not
there yet when this was written; swap it in once it is). Every probe has a deadline (the
stream's) and a byte cap (the stream's and the conversation's), and never sends a second
ClientHello: an HRR loop, a 16 MB length field, an endless or one-byte-a-second peer all end
the probe within its deadline with bounded memory (STYLE rule 2).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Awaitable, Callable

from tlsdoctor.net.stream import ReadEnd, Stream
from tlsdoctor.scan.checks import huge_server_hello
from tlsdoctor.wire.codepoints import HandshakeType
from tlsdoctor.wire.conversation import (
    DONE,
    NEED_DATA,
    AlertEvent,
    CertificatesEvent,
    ClientConversation,
    ClosedEvent,
    EncryptedEvent,
    HandshakeMessageEvent,
    HelloRetryEvent,
    NotTlsEvent,
    ProtocolErrorEvent,
    ServerHelloDoneEvent,
    ServerHelloEvent,
    ServerKeyExchangeEvent,
    SSLv2Event,
)
from tlsdoctor.wire.handshake import ServerHello
from tlsdoctor.wire.records import Alert
from tlsdoctor.wire.server_messages import ServerKeyExchange

HEAD = 16  # bytes of the server's answer kept as evidence
MAX_EVENTS = 64  # a first flight has < 10 messages; anything longer is a hostile peer

# Opens a connection to the target within the given seconds; None when TCP failed.
Opener = Callable[[float], Awaitable[tuple[Stream | None, str]]]
# Whether to read the server's flight past its ServerHello: always, never, or as the hello says.
Flight = bool | Callable[[ServerHello], bool]
# The second ClientHello answering a HelloRetryRequest (RFC 8446 §4.1.4), or None to stop there.
Retry = Callable[[ServerHello], bytes | None]


@dataclasses.dataclass(slots=True)
class ProbeResult:
    """How one probe ended and what the server said before that."""

    # hello | hrr | alert | closed | reset | timeout | not-tls | protocol-error | connect | sslv2,
    # and from the Prober (scanner.py): violation | deadline | silent (the last two: no connection made)
    end: str = "timeout"
    server_hello: ServerHello | None = None
    hrr: ServerHello | None = None
    alert: Alert | None = None
    certificates: tuple[bytes, ...] = ()
    key_exchange: ServerKeyExchange | None = None
    certificate_status: bool = False  # RFC 6066 §8 CertificateStatus seen (stapled OCSP)
    sslv2: SSLv2Event | None = None
    detail: str = ""
    bytes_received: int = 0
    elapsed_ms: float = 0.0
    stalled: bool = False  # a ServerHello came, then silence until the deadline, mid-flight
    retried: ServerHello | None = None  # the HRR a second ClientHello answered (``retry``)
    hrr_again: bool = False  # ... and the server answered that one with another HRR
    violation: str = ""  # what the server did against the RFCs (set by the Prober)
    head: bytes = b""  # the first bytes the server sent (evidence when nothing parsed)

    @property
    def answered(self) -> bool:
        """The server chose something (a ServerHello or an HRR): the offer was acceptable."""
        return self.server_hello is not None or self.hrr is not None

    @property
    def chosen(self) -> ServerHello | None:
        """The ServerHello, else the HRR (which also names suite and version, RFC 8446 §4.1.4)."""
        return self.server_hello or self.hrr


async def run_probe(
    open_stream: Opener, hello: bytes, timeout: float, *, flight: Flight = True, retry: Retry | None = None
) -> ProbeResult:
    """Send ``hello`` and read until the server's flight ends (``flight``) or its ServerHello arrives.
    ``retry``: answer a HelloRetryRequest once with the hello it returns, to see whether the server
    then agrees (a ServerHello) or asks again (RFC 8446 §4.1.4 forbids a second HRR)."""
    start = time.monotonic()
    stream, why = await open_stream(timeout)
    if stream is None:
        return ProbeResult(end="connect", detail=why, elapsed_ms=(time.monotonic() - start) * 1000)
    try:
        result = await _converse(stream, hello, flight, retry)
        result.bytes_received = stream.received
        result.head = bytes(stream.head[:HEAD])
    finally:
        stream.close()
    result.elapsed_ms = (time.monotonic() - start) * 1000
    return result


async def _converse(stream: Stream, hello: bytes, flight: Flight, retry: Retry | None) -> ProbeResult:
    result = ProbeResult()
    end = await stream.send(hello)
    if end is not ReadEnd.DATA:
        result.end, result.detail = _transport_end(end), stream.error
        return result
    conv = ClientConversation(max_buffer=stream.cap)
    for _ in range(MAX_EVENTS):
        event = conv.next_event()
        if event is DONE:
            return result
        if event is NEED_DATA:
            end, data = await stream.recv()
            if end is ReadEnd.DATA:
                conv.receive_data(data)
                if result.server_hello is None and huge_server_hello(bytes(stream.head[:HEAD])):
                    result.end, result.detail = "protocol-error", "ServerHello length beyond any ServerHello"
                    return result  # no need to wait for 16 MB that cannot be a ServerHello
                continue
            if end is ReadEnd.EOF:
                conv.receive_data(b"")
                continue
            if result.server_hello is None:  # a flight cut short after its ServerHello keeps "hello"
                result.end = _transport_end(end)
            else:
                result.stalled = end is ReadEnd.TIMEOUT
            result.detail = stream.error
            return result
        if isinstance(event, HelloRetryEvent) and retry is not None and result.retried is None:
            second = retry(event.hello)
            if second is not None:
                result.hrr, result.retried, result.end = event.hello, event.hello, "hrr"
                if await stream.send(second) is not ReadEnd.DATA:
                    result.detail = stream.error
                    return result
                continue
        if isinstance(event, HelloRetryEvent) and result.retried is not None:
            result.hrr_again = True
            return result
        if _record(result, event, flight):
            return result
    result.detail = f"more than {MAX_EVENTS} handshake events"
    return result


def _record(result: ProbeResult, event: object, flight: Flight) -> bool:
    """Fold one event into the result; True when the probe has what it came for."""
    match event:
        case ServerHelloEvent(hello=hello):
            result.server_hello, result.end = hello, "hello"
            return not (flight(hello) if callable(flight) else flight)
        case HelloRetryEvent(hello=hello):
            result.hrr, result.end = hello, "hrr"
            return True  # never a second ClientHello: an HRR loop cannot hold a probe
        case CertificatesEvent(certificates=certs):
            result.certificates = certs
        case ServerKeyExchangeEvent(key_exchange=ske):
            result.key_exchange = ske
        case HandshakeMessageEvent(msg_type=msg_type):
            result.certificate_status |= msg_type == HandshakeType.CERTIFICATE_STATUS
        case ServerHelloDoneEvent() | EncryptedEvent():
            return True
        case AlertEvent(alert=alert):
            result.alert = alert
            result.end = "alert" if result.server_hello is None else result.end
            return True
        case SSLv2Event():
            result.sslv2, result.end = event, "sslv2"
            return True
        case NotTlsEvent(first_bytes=first):
            result.end, result.detail = "not-tls", first[:32].hex()
            return True
        case ProtocolErrorEvent(error=error):
            result.end = "protocol-error" if result.server_hello is None else result.end
            result.detail = str(error)
            return True
        case ClosedEvent():
            result.end = "closed" if result.server_hello is None else result.end
            return True
    return False


def _transport_end(end: ReadEnd) -> str:
    return {
        ReadEnd.RESET: "reset",
        ReadEnd.TIMEOUT: "timeout",
        ReadEnd.EOF: "closed",
        ReadEnd.CAP: "protocol-error",
    }.get(end, "reset")
