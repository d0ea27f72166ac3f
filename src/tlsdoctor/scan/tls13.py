"""The one thing a TLS 1.3-only server hides from a raw probe that a scan still needs: its
certificate chain (encrypted, RFC 8446 §4.4.2). A stdlib handshake, unverified, gets it."""

from __future__ import annotations

import ssl
from typing import TYPE_CHECKING

from tlsdoctor.net.tls import handshake

if TYPE_CHECKING:
    from tlsdoctor.scan.scanner import Prober


async def stdlib_chain(prober: Prober) -> tuple[bytes, ...]:
    """The chain as sent, or () when the handshake fails (the scan reports no certificate)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # we judge the chain ourselves, with analyse_chain
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    target = prober.target
    stream, _ = await prober.open_stream(target.timeout)  # with the STARTTLS preamble, if any
    if stream is None:
        return ()
    try:
        result = await handshake(
            stream,
            ctx,
            variant="scan",
            address=target.address,
            port=target.port,
            servername=target.servername,
            grace=0.0,
        )
        return result.chain
    finally:
        stream.close()
