"""Drive a STARTTLS preamble (wire/starttls) over a Stream, under the stream's deadline and byte cap.

``upgrade(stream, proto, servername) -> StarttlsResult`` is the stable entry point for every command
(through ``net.route.open_stream``, for ``diagnose`` and ``scan``). It never raises for network or peer
faults: how the preamble ended is the observation.
"""

from __future__ import annotations

import time

from tlsdoctor.net.stream import ReadEnd, Stream
from tlsdoctor.observations.starttls import StarttlsOutcome, StarttlsResult
from tlsdoctor.wire import starttls as wire
from tlsdoctor.wire.starttls import PROTOCOLS

__all__ = ["PROTOCOLS", "upgrade"]

MAX_TRANSCRIPT = 12  # lines kept in the observation; the rest is summarised
SNIFF_WAIT_S = 0.3  # after "not this protocol": a moment more for enough bytes to name the real one
_TRANSPORT = {
    ReadEnd.EOF: StarttlsOutcome.EOF,
    ReadEnd.RESET: StarttlsOutcome.RESET,
    ReadEnd.TIMEOUT: StarttlsOutcome.TIMEOUT,
    ReadEnd.CAP: StarttlsOutcome.MALFORMED,
}


async def upgrade(stream: Stream, proto: str, servername: str | None) -> StarttlsResult:
    """Run the plaintext preamble of ``proto`` (one of PROTOCOLS) on a freshly connected ``stream``.

    Stable API (used by ``diagnose`` and ``scan``): ``servername`` is the name the protocol may need (the
    XMPP domain); the exchange ends by ``stream.deadline`` and within the preamble's byte cap. On READY the
    stream is positioned for the ClientHello, and its counters (``sent``, ``received``, ``head``) are reset
    so that the handshake that follows measures and sniffs TLS bytes only; bytes the server sent past its
    go-ahead are discarded (never fed to TLS) and counted in ``trailing_bytes``. Raises ValueError only for
    an unknown ``proto``.
    """
    machine = wire.machine_for(proto, servername)
    start, sent0, received0 = time.monotonic(), stream.sent, stream.received
    transcript: list[str] = []

    def result(
        outcome: StarttlsOutcome, reason: str = "", reply: str = "", first: bytes = b"", trailing: int = 0
    ) -> StarttlsResult:
        lines = (
            transcript
            if len(transcript) <= MAX_TRANSCRIPT
            else [*transcript[: MAX_TRANSCRIPT - 1], f"... {len(transcript) - MAX_TRANSCRIPT + 1} more"]
        )
        return StarttlsResult(
            protocol=proto,
            outcome=outcome,
            stage=machine.stage,
            reason=reason,
            reply=reply,
            advertised=machine.advertised,
            transcript=tuple(lines),
            first_bytes=first or bytes(machine.head[:64]),
            trailing_bytes=trailing,
            bytes_sent=stream.sent - sent0,
            bytes_received=stream.received - received0,
            elapsed_ms=(time.monotonic() - start) * 1000,
        )

    while True:
        event = machine.next_event()
        if event is wire.NEED_DATA:
            end, data = await stream.recv()
            if end is ReadEnd.DATA:
                machine.receive_data(data)
            elif end is ReadEnd.EOF:
                machine.receive_data(b"")
            else:
                return result(_TRANSPORT.get(end, StarttlsOutcome.ERROR), stream.error or end.value)
        elif isinstance(event, wire.Send):
            transcript.append(f"C: {wire.printable(event.data, 80)}")
            end = await stream.send(event.data)
            if end is not ReadEnd.DATA:
                return result(_TRANSPORT.get(end, StarttlsOutcome.ERROR), stream.error or end.value)
        elif isinstance(event, wire.Received):
            transcript.append(f"S: {event.text}")
        elif isinstance(event, wire.Ready):
            transcript.append("TLS may start")
            ready = result(StarttlsOutcome.READY, trailing=len(event.trailing))
            stream.sent, stream.received, stream.head = 0, 0, bytearray()
            return ready
        elif isinstance(event, wire.Refused):
            return result(StarttlsOutcome.REFUSED, event.reason, event.reply)
        elif isinstance(event, wire.NotThisProtocol):
            first = await _more_for_sniffing(stream, event.first_bytes)
            return result(StarttlsOutcome.NOT_THIS_PROTOCOL, event.reason, first=first)
        elif isinstance(event, wire.Malformed):
            return result(StarttlsOutcome.MALFORMED, event.reason)
        else:
            assert isinstance(event, wire.Closed)
            return result(StarttlsOutcome.EOF, f"connection closed while waiting for {event.stage}")


async def _more_for_sniffing(stream: Stream, first: bytes) -> bytes:
    """A few bytes are rarely enough to name a protocol ("SSH-" or one byte of a banner): wait briefly."""
    if len(first) >= 32 or b"\n" in first:
        return first
    end, data = await stream.recv(limit=SNIFF_WAIT_S)
    return (first + data)[:64] if end is ReadEnd.DATA else first
