"""A Stream inside TLS: for HTTPS proxies (``--proxy https://...``), whose CONNECT tunnel, and the
target's own handshake inside it, run within a TLS session to the proxy (TLS in TLS).

It keeps the Stream interface (send/recv under the same deadline and byte cap, ``head`` and
counters of the inner bytes), so every probe above it works unchanged.
"""

from __future__ import annotations

import ssl

from tlsdoctor.net.stream import ReadEnd, Stream
from tlsdoctor.wire.sniff import looks_like_tls


class TlsStream(Stream):
    """Plaintext in and out of an established ``ssl.SSLObject`` over a raw Stream."""

    def __init__(
        self, raw: Stream, obj: ssl.SSLObject, incoming: ssl.MemoryBIO, outgoing: ssl.MemoryBIO
    ) -> None:
        super().__init__(raw.sock, raw.deadline, raw.cap)
        self.raw, self.obj, self.incoming, self.outgoing = raw, obj, incoming, outgoing

    async def send(self, data: bytes) -> ReadEnd:
        if not data:
            return ReadEnd.DATA
        try:
            self.obj.write(data)
        except ssl.SSLError as exc:
            self.error = f"TLS to the proxy: {exc}"
            return ReadEnd.ERROR
        self.raw.deadline = self.deadline
        end = await self.raw.send(self.outgoing.read())
        if end is ReadEnd.DATA:
            self.sent += len(data)
        else:
            self.error = self.raw.error
        return end

    async def _read(self, limit: float | None, size: int) -> tuple[ReadEnd, bytes]:
        """Plaintext from the TLS session, reading the raw stream as the session needs."""
        while True:
            try:
                data = self.obj.read(size)
            except ssl.SSLWantReadError:
                self.raw.deadline = self.deadline
                end, raw = await self.raw.recv(limit)
                if end is not ReadEnd.DATA:
                    self.error = self.raw.error
                    return end, b""
                self.incoming.write(raw)
                continue
            except ssl.SSLZeroReturnError:
                return ReadEnd.EOF, b""
            except ssl.SSLError as exc:
                self.error = f"TLS to the proxy: {exc}"
                return ReadEnd.ERROR, b""
            return (ReadEnd.DATA, data) if data else (ReadEnd.EOF, b"")

    def close(self) -> None:
        self.raw.close()


async def wrap(raw: Stream, server_hostname: str, context: ssl.SSLContext) -> tuple[TlsStream | None, str]:
    """TLS to the proxy on ``raw``: (the stream, "") or (None, why it failed). The handshake is
    net/tls.py's, the one MemoryBIO loop.

    A reply that is not TLS at all (an HTTP 400 from a plain proxy) is told apart ("plain"), because
    an ``https://`` proxy URL for a proxy that speaks plain HTTP is a common misconfiguration.
    """
    from tlsdoctor.net.tls import handshake
    from tlsdoctor.observations.tls import HandshakeOutcome

    result = await handshake(
        raw, context, variant="proxy", address=server_hostname, port=0, servername=server_hostname, grace=0.0
    )
    if result.tls is None or result.bios is None:
        attempt = result.attempt
        if attempt.outcome is HandshakeOutcome.NOT_TLS or (raw.head and not looks_like_tls(bytes(raw.head))):
            return None, "plain"
        return None, f"TLS to the proxy failed: {attempt.error or attempt.outcome.value}"
    incoming, outgoing = result.bios
    return TlsStream(raw, result.tls, incoming, outgoing), ""
