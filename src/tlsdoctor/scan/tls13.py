"""What a TLS 1.3-only server hides from a raw probe that a scan still needs: its ALPN choice, in
the encrypted flight (RFC 8446 §4.3.1). A stdlib handshake, unverified, reads it, and the
certificate chain when the certificates phase cannot decrypt the flight itself (scan/extras.py
_tls13_flight: a group whose secret this tool cannot compute, a flight that does not read)."""

from __future__ import annotations

import ssl
from typing import TYPE_CHECKING, NamedTuple

from tlsdoctor.net.tls import HandshakeResult, handshake
from tlsdoctor.observations.tls import HandshakeOutcome

if TYPE_CHECKING:
    from tlsdoctor.scan.prober import Prober

# A stdlib handshake's ending in the words of a raw probe's (scan/probe.py ProbeResult.end),
# so that a removal chain (scan/enumerate.py) retries the same ambiguous endings.
_ENDS = {
    HandshakeOutcome.OK: "hello",
    HandshakeOutcome.ALERT: "alert",
    HandshakeOutcome.EOF: "closed",
    HandshakeOutcome.RESET: "reset",
    HandshakeOutcome.TIMEOUT: "timeout",
    HandshakeOutcome.CONNECT_FAILED: "connect",
    HandshakeOutcome.NOT_TLS: "not-tls",
}


class AlpnAnswer(NamedTuple):
    """One handshake offering some ALPN protocols: how it ended, and the protocol chosen."""

    end: str
    protocol: bytes | None


async def stdlib_chain(prober: Prober) -> tuple[bytes, ...]:
    """The chain as sent, or () when the handshake fails (the scan reports no certificate)."""
    result = await _handshake(prober, (), "certificates")
    return result.chain if result is not None else ()


async def alpn_answer(prober: Prober, protocols: tuple[bytes, ...]) -> AlpnAnswer:
    """Offer ``protocols`` (in this order) in a TLS 1.3 handshake; the server's choice (RFC 7301
    §3.2), None when it chose none. A server may also refuse with no_application_protocol."""
    result = await _handshake(prober, protocols, "features")
    if result is None:
        return AlpnAnswer("connect", None)
    end = _ENDS.get(result.attempt.outcome, "protocol-error")
    chosen = result.tls.selected_alpn_protocol() if result.tls is not None else None
    return AlpnAnswer(end, chosen.encode("ascii", "replace") if chosen else None)


async def _handshake(prober: Prober, alpn: tuple[bytes, ...], part: str) -> HandshakeResult | None:
    """One unverified TLS 1.3 handshake on a new connection; None when TCP (or STARTTLS) failed
    or the scan's deadline leaves no time for it (then ``part`` is marked untested)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # we judge the chain ourselves, with analyse_chain
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    if alpn:
        ctx.set_alpn_protocols([p.decode("ascii") for p in alpn])
    target = prober.target
    async with prober.gate:  # counted and limited like the raw probes
        timeout = prober.time_left()
        if timeout is None:
            prober.skip(part, "not tested: the scan's deadline (--max-time) ran out")
            return None
        prober.count += 1
        wave = prober.waves.begin()
        stream, _ = await prober.open_stream(timeout)  # with the STARTTLS preamble, if any
        if stream is None:
            prober.waves.end(wave)
            return None
        try:
            return await handshake(
                stream,
                ctx,
                variant="scan",
                address=target.address,
                port=target.port,
                servername=target.servername,
                grace=0.0,
            )
        finally:
            stream.close()
            prober.waves.end(wave)
