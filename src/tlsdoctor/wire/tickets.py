"""TLS 1.3 NewSessionTicket (RFC 8446 §4.6.1): what a scan needs of one, from its body.

The message travels encrypted; the scan sees its plaintext through OpenSSL's message callback
(net/tls.py ``observe``). Pure: bytes in, values out, :class:`DecodeError` on anything malformed.
"""

from __future__ import annotations

import dataclasses

from tlsdoctor.wire.codepoints import ExtensionType
from tlsdoctor.wire.reader import Reader

MAX_LIFETIME = 604800  # RFC 8446 §4.6.1: servers MUST NOT use any value greater than 7 days


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class NewSessionTicket:
    lifetime: int  # seconds
    ticket_length: int
    max_early_data: int | None  # the early_data extension's max_early_data_size (RFC 8446 §4.2.10)


def parse_new_session_ticket(body: bytes) -> NewSessionTicket:
    """``struct { uint32 ticket_lifetime; uint32 ticket_age_add; opaque ticket_nonce<0..255>;
    opaque ticket<1..2^16-1>; Extension extensions<0..2^16-2>; }`` (the body, without the
    4-byte handshake header)."""
    r = Reader(body)
    lifetime = r.u32("ticket_lifetime")
    r.u32("ticket_age_add")
    r.vector(1, "ticket_nonce")
    ticket = r.vector(2, "ticket", min_len=1)
    early: int | None = None
    with r.sub_vector(2, "extensions") as exts:
        while not exts.at_end():
            kind = exts.u16("extension_type")
            with exts.sub_vector(2, "extension_data") as data:
                if kind == ExtensionType.EARLY_DATA:
                    early = data.u32("max_early_data_size")
                else:
                    data.rest()
    r.expect_end("NewSessionTicket")
    return NewSessionTicket(lifetime=lifetime, ticket_length=len(ticket), max_early_data=early)
