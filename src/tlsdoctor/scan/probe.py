"""One scan probe: connect, send one ClientHello, read the server's first flight, close.

What a probe wants from the server's answer: the conversation itself is driven by
``net/exchange.py`` (the one driver, diagnose's too); this module folds its events into a
:class:`ProbeResult`. Every probe has a deadline (the stream's) and a byte cap (the stream's
and the conversation's), and answers a HelloRetryRequest at most once: an HRR loop, a 16 MB
length field, an endless or one-byte-a-second peer all end the probe within its deadline with
bounded memory (STYLE rule 2).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Awaitable, Callable

from tlsdoctor.net.exchange import Next, drive
from tlsdoctor.net.stream import ReadEnd, Stream
from tlsdoctor.wire.codepoints import ExtensionType
from tlsdoctor.wire.conversation import (
    AlertEvent,
    CertificatesEvent,
    CertificateStatusEvent,
    ClientConversation,
    ClosedEvent,
    EncryptedEvent,
    EncryptedExtensionsEvent,
    Event,
    HelloRetryEvent,
    NotTlsEvent,
    ProtocolErrorEvent,
    ServerFinishedEvent,
    ServerHelloDoneEvent,
    ServerHelloEvent,
    ServerKeyExchangeEvent,
    SSLv2Event,
    UnreadableFlightEvent,
)
from tlsdoctor.wire.extensions import Extension
from tlsdoctor.wire.handshake import ServerHello, huge_server_hello
from tlsdoctor.wire.keyshares import FIXED_SEED
from tlsdoctor.wire.records import Alert
from tlsdoctor.wire.server_messages import ServerKeyExchange

HEAD = 16  # bytes of the server's answer kept as evidence
MAX_EVENTS = 64  # a first flight has < 10 messages; anything longer is a hostile peer

# Opens a connection to the target within the given seconds (net/route.py, along the probe's route);
# None and why when TCP, the proxy or the STARTTLS preamble failed.
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
    ocsp_response: bytes = b""  # ... and the DER OCSPResponse it carried (wire/sct.py)
    # TLS 1.3 flights read with the probe's own key share (``decrypt``, wire/flight13.py):
    encrypted_extensions: tuple[Extension, ...] | None = None  # RFC 8446 §4.3.1
    sct_list: bytes | None = None  # the leaf entry's signed_certificate_timestamp body (§4.4.2.1)
    finished: bool | None = None  # the server's Finished came: True when it verified
    flight_problem: str = ""  # why the encrypted flight could not be read
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
    open_stream: Opener,
    hello: bytes,
    timeout: float,
    *,
    flight: Flight = True,
    retry: Retry | None = None,
    decrypt: bool = False,
) -> ProbeResult:
    """Send ``hello`` and read until the server's flight ends (``flight``) or its ServerHello arrives.
    ``retry``: answer a HelloRetryRequest once with the hello it returns, to see whether the server
    then agrees (a ServerHello) or asks again (RFC 8446 §4.1.4 forbids a second HRR). ``decrypt``:
    read a TLS 1.3 server's encrypted flight up to its Finished (the hello's key shares must be the
    fixed ones, wire/keyshares.FIXED_SEED, as scan/offers.build makes them)."""
    start = time.monotonic()
    stream, why = await open_stream(timeout)
    if stream is None:
        return ProbeResult(end="connect", detail=why, elapsed_ms=(time.monotonic() - start) * 1000)
    try:
        result = await _converse(stream, hello, flight, retry, decrypt)
        result.bytes_received = stream.received
        result.head = bytes(stream.head[:HEAD])
    finally:
        stream.close()
    result.elapsed_ms = (time.monotonic() - start) * 1000
    return result


async def _converse(
    stream: Stream, hello: bytes, flight: Flight, retry: Retry | None, decrypt: bool
) -> ProbeResult:
    fold = _Fold(flight, retry)
    conversation = ClientConversation(max_buffer=stream.cap, flight_seed=FIXED_SEED if decrypt else None)
    ending = await drive(stream, hello, fold, conversation, max_steps=MAX_EVENTS)
    result = fold.result
    if ending.steps:
        result.detail = f"more than {MAX_EVENTS} handshake events"
    elif ending.transport is not None:
        result.detail = stream.error
        if ending.sending and result.retried is not None:
            return result  # the second ClientHello could not go out: the probe ends on the HRR
        if ending.sending or result.server_hello is None:  # a flight cut short keeps its "hello"
            result.end = _transport_end(ending.transport)
        else:
            result.stalled = ending.transport is ReadEnd.TIMEOUT
    return result


class _Fold:
    """The scan's listener (net/exchange.py): folds the server's first flight into a ProbeResult."""

    def __init__(self, flight: Flight, retry: Retry | None) -> None:
        self.result = ProbeResult()
        self.flight = flight
        self.retry = retry

    def event(self, event: Event) -> Next | bytes:
        result = self.result
        if isinstance(event, HelloRetryEvent) and self.retry is not None and result.retried is None:
            second = self.retry(event.hello)
            if second is not None:
                result.hrr, result.retried, result.end = event.hello, event.hello, "hrr"
                return second
        if isinstance(event, HelloRetryEvent) and result.retried is not None:
            result.hrr_again = True
            return Next.STOP
        return Next.STOP if _record(result, event, self.flight) else Next.MORE

    def received(self, head: bytes) -> Next:
        if self.result.server_hello is None and huge_server_hello(head[:HEAD]):
            self.result.end = "protocol-error"
            self.result.detail = "ServerHello length beyond any ServerHello"
            return Next.STOP  # no need to wait for 16 MB that cannot be a ServerHello
        return Next.MORE


def _record(result: ProbeResult, event: object, flight: Flight) -> bool:
    """Fold one event into the result; True when the probe has what it came for."""
    match event:
        case ServerHelloEvent(hello=hello):
            result.server_hello, result.end = hello, "hello"
            return not (flight(hello) if callable(flight) else flight)
        case HelloRetryEvent(hello=hello):
            result.hrr, result.end = hello, "hrr"
            return True  # never a second ClientHello: an HRR loop cannot hold a probe
        case CertificatesEvent(certificates=certs, entry_extensions=entries):
            result.certificates = certs
            leaf = entries[0] if entries else ()
            sct = next((e for e in leaf if e.ext_type == ExtensionType.SIGNED_CERTIFICATE_TIMESTAMP), None)
            result.sct_list = sct.body() if sct is not None else None
        case EncryptedExtensionsEvent(extensions=extensions):
            result.encrypted_extensions = extensions
        case ServerFinishedEvent(verified=verified):
            result.finished = verified
            return True
        case UnreadableFlightEvent(reason=reason):
            result.flight_problem = reason
            return True
        case ServerKeyExchangeEvent(key_exchange=ske):
            result.key_exchange = ske
        case CertificateStatusEvent(status=status):
            result.certificate_status = True
            result.ocsp_response = next(iter(status.responses), b"")
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
