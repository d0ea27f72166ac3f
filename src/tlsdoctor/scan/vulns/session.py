"""A complete TLS 1.2 handshake over a :class:`~tlsdoctor.scan.vulns.link.Link`, for the
probes that need the protected connection (renegotiation) or what the server sends after the
client's Finished (its session ticket). ECDHE with AEAD (``tls12.SUITES``) or AES-CBC; the server's
Finished is verified, so a session that "works" here is a real one.
"""

from __future__ import annotations

import dataclasses
import hashlib

from tlsdoctor.scan.vulns import tls12
from tlsdoctor.scan.vulns.link import Link, alert_of, client_hello
from tlsdoctor.wire.codepoints import ContentType, ExtensionType, HandshakeType
from tlsdoctor.wire.extensions import RawExtension
from tlsdoctor.wire.handshake import HandshakeMessage, build_handshake
from tlsdoctor.wire.reader import DecodeError, Reader
from tlsdoctor.wire.records import Record, build_records
from tlsdoctor.wire.registry import suite_name

V12 = tls12.TLS12
MAX_MESSAGES = 8  # after our Finished: NewSessionTicket, then ChangeCipherSpec


@dataclasses.dataclass(slots=True)
class Established:
    """A finished TLS 1.2 session: both directions' protection and both Finished values."""

    suite: int
    client: tls12.RecordProtection
    server: tls12.RecordProtection
    client_verify: bytes
    server_verify: bytes
    ticket: bytes | None  # RFC 5077 §3.3 NewSessionTicket.ticket, when one came


class Refused(str):
    """The server turned the offer down before any ServerHello (an alert, a close)."""

    __slots__ = ()


def hello(sni: str | None, *, ticket: bytes | None = None, renegotiation: bytes = b"",
          session_id_len: int = 0, suites: tuple[int, ...] = tuple(tls12.SUITES)
          ) -> tuple[bytes, bytes, bytes, bytes]:  # fmt: skip
    """(record, handshake message, client random, session id) of a hello this client can finish;
    ``ticket``: b"" asks for one, bytes offer one (RFC 5077 §3.1), None leaves it out."""
    extra = (RawExtension(ExtensionType.SESSION_TICKET, ticket),) if ticket is not None else ()
    record, message, ch = client_hello(
        V12, suites, sni=sni, groups=tls12.GROUPS, extra=extra, extended_master_secret=True,
        renegotiation=renegotiation, session_id_len=session_id_len,
    )  # fmt: skip
    return record, message, ch.random, ch.session_id


async def handshake(
    link: Link, sni: str | None, *, ticket: bool, suites: dict[int, tls12.Suite] = tls12.SUITES
) -> Established | str:
    """A full handshake offering ``suites``; a sentence saying where it stopped when it did not
    finish (a :class:`Refused` one when the server declined the offer outright)."""
    record, message, client_random, _ = hello(sni, ticket=b"" if ticket else None, suites=tuple(suites))
    flight = await link.flight(record, message)
    sh = flight.server_hello
    if sh is None and (flight.alert or flight.end in ("closed", "reset")):
        return Refused(f"to a TLS 1.2 hello offering {len(suites)} ECDHE suites, {flight.describe()}")
    if sh is None or not flight.done:
        return f"no TLS 1.2 handshake: {flight.describe()}"
    suite = suites.get(int(sh.cipher_suite))
    if suite is None or sh.selected_version != V12:
        chosen = suite_name(int(sh.cipher_suite))
        return f"the server chose {chosen}, not a TLS 1.2 ECDHE AEAD suite this probe can finish"
    try:
        group, point = tls12.parse_ecdhe_params(flight.key_exchange or b"")
        if group not in tls12.GROUPS:
            return f"the server chose the group 0x{group:04X}, which this probe cannot compute"
        share = tls12.key_share(group)
        pms = share.agree(point)
    except (DecodeError, ValueError) as exc:
        return f"the server's ECDHE key exchange is unusable: {exc}"
    cke = build_handshake(HandshakeType.CLIENT_KEY_EXCHANGE, bytes([len(share.public)]) + share.public)
    transcript = bytes(flight.transcript) + cke
    ems = sh.extension(ExtensionType.EXTENDED_MASTER_SECRET) is not None  # RFC 7627 §4
    session_hash = hashlib.new(suite.hash_name, transcript).digest() if ems else None
    master = tls12.master_secret(suite, pms, client_random, sh.random, session_hash)
    client, server = tls12.key_block(suite, master, client_random, sh.random)
    client_verify = tls12.verify_data(suite, master, "client", transcript)
    fin = tls12.finished(client_verify)
    transcript += fin
    out = (
        build_records(ContentType.HANDSHAKE, V12, cke)
        + tls12.CHANGE_CIPHER_SPEC
        + client.seal(ContentType.HANDSHAKE, fin)
    )
    if not await link.send(out):
        return f"the server closed on our key exchange ({link.end})"
    issued: bytes | None = None
    for _ in range(MAX_MESSAGES):
        item = await link.message()
        if item is None:
            return f"the server ended the handshake after our Finished ({link.end})"
        if isinstance(item, HandshakeMessage):
            if item.msg_type == HandshakeType.NEW_SESSION_TICKET:
                issued = _ticket(item.body)
            transcript += build_handshake(item.msg_type, item.body)
            continue
        if item.content_type == ContentType.CHANGE_CIPHER_SPEC:
            return await _server_finished(
                link, suite, master, transcript, client, server, client_verify, int(sh.cipher_suite), issued
            )
        return f"the server answered our Finished with {_what(item)}"
    return "the server sent too many messages after our Finished"


async def _server_finished(
    link: Link, suite: tls12.Suite, master: bytes, transcript: bytes, client: tls12.RecordProtection,
    server: tls12.RecordProtection, client_verify: bytes, code: int, ticket: bytes | None,
) -> Established | str:  # fmt: skip
    record = await link.record()
    if record is None or record.content_type != ContentType.HANDSHAKE:
        return f"no server Finished after its ChangeCipherSpec ({_what(record) if record else link.end})"
    try:
        plain = server.open(ContentType.HANDSHAKE, record.fragment)
    except DecodeError as exc:
        return f"the server's Finished does not decrypt: {exc.message}"
    server_verify = tls12.verify_data(suite, master, "server", transcript)
    if plain != tls12.finished(server_verify):
        return "the server's Finished does not match the handshake (RFC 5246 §7.4.9)"
    return Established(code, client, server, client_verify, server_verify, ticket)


def _ticket(body: bytes) -> bytes | None:
    """RFC 5077 §3.3: lifetime hint (4 bytes), then the ticket (2-byte length)."""
    try:
        r = Reader(body)
        r.bytes(4, "NewSessionTicket.lifetime_hint")
        ticket = r.vector(2, "NewSessionTicket.ticket")
    except DecodeError:
        return None
    return ticket or None


def _what(record: Record) -> str:
    if record.content_type == ContentType.ALERT:
        return f"a {alert_of(record)}"
    return f"a {record.content_type.name} record"
