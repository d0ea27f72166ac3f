"""Ticketbleed (CVE-2016-9244): F5 BIG-IP answers a session ticket offered with a session ID
shorter than 32 bytes by echoing 32 bytes anyway: the client's, then uninitialised memory.

The probe finishes a real TLS 1.2 handshake to get a ticket (RFC 5077 §3.3), then offers it
on a new connection with a 16-byte session ID. RFC 5077 §3.4 has the server echo that ID when
it resumes; a 32-byte ID that starts with ours is the leak. A server that issues no ticket, or
does not resume its own, cannot show the flaw either way, and the evidence says which.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tlsdoctor.scan.vulns import session
from tlsdoctor.scan.vulns.base import Vulnerability, clean, found, unknown
from tlsdoctor.scan.vulns.link import Link, Unreached, exchange
from tlsdoctor.wire.codepoints import ProtocolVersion

if TYPE_CHECKING:
    from tlsdoctor.scan.probe import ProbeResult
    from tlsdoctor.scan.prober import Prober

V = ProtocolVersion
SID_LEN = 16  # shorter than 32, long enough that a random ID never starts with it by chance


async def run(prober: Prober, supported: dict[ProtocolVersion, ProbeResult]) -> Vulnerability:
    if V.TLS1_2 not in supported:
        if all(v >= V.TLS1_3 for v in supported) and supported:
            return clean(
                "ticketbleed",
                "the server speaks only TLS 1.3, whose tickets resume without a session ID echo",
            )
        return unknown(
            "ticketbleed", "this probe needs TLS 1.2 to obtain a ticket, and the server has no TLS 1.2"
        )
    sni = prober.target.servername

    async def first(link: Link) -> session.Established | str:
        return await session.handshake(link, sni, ticket=True)

    est = await exchange(prober, first)
    if isinstance(est, Unreached):
        return unknown("ticketbleed", est.why)
    if isinstance(est, str):
        return unknown("ticketbleed", f"no ticket obtained: {est}")
    if est.ticket is None:
        return clean(
            "ticketbleed",
            "a full TLS 1.2 handshake asking for a session ticket got none (RFC 5077): nothing to resume",
        )
    ticket = est.ticket
    record, message, _, ours = session.hello(sni, ticket=ticket, session_id_len=SID_LEN)

    async def resume(link: Link) -> Vulnerability:
        flight = await link.flight(record, message)
        sh = flight.server_hello
        if sh is None:
            return unknown("ticketbleed", f"offering the {len(ticket)}-byte ticket: {flight.describe()}")
        sid = sh.session_id
        if len(sid) == 32 and sid[:SID_LEN] == ours:
            return found(
                "ticketbleed",
                f"offered the ticket with a {SID_LEN}-byte session ID, the server echoed 32 bytes: "
                f"ours, then {sid[SID_LEN:].hex()} (its memory)",
            )
        if sid == ours:
            return clean(
                "ticketbleed",
                f"the server resumed the ticket and echoed our {SID_LEN}-byte session ID exactly (RFC "
                "5077 §3.4)",
            )
        return unknown(
            "ticketbleed",
            "the server did not resume the ticket it had just issued (it answered with a "
            f"{len(sid)}-byte session ID of its own): the resumption path was not exercised",
        )

    result = await exchange(prober, resume)
    return result if isinstance(result, Vulnerability) else unknown("ticketbleed", result.why)
