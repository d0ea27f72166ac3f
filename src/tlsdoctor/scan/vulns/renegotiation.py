"""Client-initiated renegotiation: a server that starts a new handshake whenever a client asks
lets one client make it pay for handshake after handshake on one connection (THC-SSL-DOS), and
with insecure renegotiation it is the CVE-2009-3555 injection. RFC 5746 secures renegotiation;
only refusing it removes the cost, which nginx and current OpenSSL do.

The probe finishes a real TLS 1.2 handshake and sends a second ClientHello inside the
protected connection, carrying its Finished in renegotiation_info (RFC 5746 §3.5). A ServerHello
back means the server renegotiates; a no_renegotiation alert or a closed connection, that it
refuses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tlsdoctor.scan.vulns import session
from tlsdoctor.scan.vulns.base import Vulnerability, clean, found, unknown
from tlsdoctor.scan.vulns.link import Link, exchange
from tlsdoctor.wire.codepoints import ContentType, HandshakeType, ProtocolVersion
from tlsdoctor.wire.reader import DecodeError
from tlsdoctor.wire.records import parse_alert

if TYPE_CHECKING:
    from tlsdoctor.scan.probe import ProbeResult
    from tlsdoctor.scan.prober import Prober

V = ProtocolVersion
VID = "renegotiation-client-initiated"
MAX_RECORDS = 8  # read after the second ClientHello


async def run(prober: Prober, supported: dict[ProtocolVersion, ProbeResult]) -> Vulnerability:
    if V.TLS1_2 not in supported:
        if supported and all(v >= V.TLS1_3 for v in supported):
            return clean(VID, "the server speaks only TLS 1.3, which has no renegotiation (RFC 8446 §4.1.2)")
        return unknown(VID, "this probe renegotiates over TLS 1.2, and the server has no TLS 1.2")
    sni = prober.target.servername

    async def talk(link: Link) -> Vulnerability:
        est = await session.handshake(link, sni, ticket=False)
        if isinstance(est, str):
            return unknown(VID, f"no session to renegotiate: {est}")
        _, message, _, _ = session.hello(sni, renegotiation=est.client_verify)
        if not await link.send(est.client.seal(ContentType.HANDSHAKE, message)):
            why = f"the renegotiation ClientHello could not be sent ({link.end})"
            return clean(VID, why) if link.closed else unknown(VID, why)
        for _ in range(MAX_RECORDS):
            got = await link.record()
            if got is None:
                if not link.closed:
                    return unknown(VID, f"no answer to a ClientHello sent inside the session ({link.end})")
                return clean(
                    VID,
                    f"the server ended the connection on a ClientHello sent inside the session ({link.end})",
                )
            if got.content_type not in (ContentType.HANDSHAKE, ContentType.ALERT):
                continue  # application data the server sent on its own: not an answer
            try:
                plain = est.server.open(got.content_type, got.fragment)
            except DecodeError as exc:
                return unknown(VID, f"the server's answer does not decrypt: {exc.message}")
            if got.content_type == ContentType.ALERT:
                try:
                    alert = str(parse_alert(plain))
                except DecodeError:
                    alert = plain.hex()
                return clean(
                    VID,
                    f"a ClientHello sent inside a finished TLS 1.2 session got a {alert}: "
                    "renegotiation refused",
                )
            if plain[:1] == bytes([HandshakeType.SERVER_HELLO]):
                return found(
                    VID,
                    "a ClientHello sent inside a finished TLS 1.2 session got a ServerHello: the "
                    "server renegotiates whenever a client asks",
                )
            return unknown(
                VID,
                "a ClientHello sent inside the session got handshake message type "
                f"{plain[0] if plain else '?'}",
            )
        return unknown(VID, "the server sent records but no answer to the renegotiation ClientHello")

    result = await exchange(prober, talk)
    return result if isinstance(result, Vulnerability) else unknown(VID, result.why)
