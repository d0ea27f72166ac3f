"""The binary preambles: LDAP (BER), PostgreSQL and MySQL. Caps on every declared length."""

from __future__ import annotations

from collections.abc import Generator

from tlsdoctor.wire.starttls.base import (
    Closed,
    Malformed,
    Preamble,
    Received,
    Refused,
    Script,
    Send,
    _End,
    _Want,
    printable,
)

MAX_PACKET = 16 * 1024  # a StartTLS response, an ErrorResponse or a MySQL greeting is far smaller

# -- LDAP ---------------------------------------------------------------------------------------------

START_TLS_OID = b"1.3.6.1.4.1.1466.20037"  # RFC 4511 §4.14.1
NOTICE_OF_DISCONNECTION_OID = b"1.3.6.1.4.1.1466.20036"  # RFC 4511 §4.4.1
# LDAPMessage { messageID 1, extendedReq [APPLICATION 23] { requestName [0] "1.3.6.1.4.1.1466.20037" } }
LDAP_START_TLS = b"\x30\x1d\x02\x01\x01\x77\x18\x80\x16" + START_TLS_OID
LDAP_RESULT_CODES = {  # RFC 4511 §4.1.9, the ones a StartTLS request meets
    0: "success",
    1: "operationsError",
    2: "protocolError",
    3: "timeLimitExceeded",
    7: "authMethodNotSupported",
    12: "unavailableCriticalExtension",
    13: "confidentialityRequired",
    51: "busy",
    52: "unavailable",
    53: "unwillingToPerform",
    80: "other",
}


class BerError(ValueError):
    """A BER element that overruns its container or uses a form LDAP forbids."""


def ber_element(data: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """(tag, content start, content end) of the element at ``pos``; definite lengths only (RFC 4511 §5.1)."""
    if pos + 2 > end:
        raise BerError("truncated element header")
    tag, first = data[pos], data[pos + 1]
    pos += 2
    if first & 0x80:
        count = first & 0x7F
        if count == 0 or count > 4:
            raise BerError("indefinite or oversized length")
        if pos + count > end:
            raise BerError("truncated length")
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    else:
        length = first
    if pos + length > end:
        raise BerError("element overruns its container")
    return tag, pos, pos + length


def ber_header_size(head: bytes) -> int | None:
    """The total size of the element starting ``head`` if the header is complete, else None."""
    if len(head) < 2:
        return None
    first = head[1]
    if not first & 0x80:
        return 2 + first
    count = first & 0x7F
    if count == 0 or count > 4:
        raise BerError("indefinite or oversized length")
    if len(head) < 2 + count:
        return None
    return 2 + count + int.from_bytes(head[2 : 2 + count], "big")


class Ldap(Preamble):
    """LDAP StartTLS: an ExtendedRequest, answered resultCode 0 (RFC 4511 §4.14, RFC 4513 §3)."""

    protocol = "ldap"
    label = "LDAP"

    def _script(self) -> Script:
        self.stage = "the StartTLS ExtendedResponse"
        yield Send(LDAP_START_TLS)
        for _ in range(4):  # an unsolicited notice may come first; anything more is not a StartTLS answer
            message = yield from self._message()
            try:
                message_id, fields = extended_response(message)
            except BerError as exc:
                return Malformed(f"a garbled LDAP response ({exc})")
            if fields is None:
                continue
            self._greeted = True
            code = int.from_bytes(fields[0x0A], "big")
            diagnostic = printable(fields.get(0x04, b""))
            text = f"resultCode {code} ({LDAP_RESULT_CODES.get(code, 'unknown')})"
            text += f": {diagnostic}" if diagnostic else ""
            yield Received(f"StartTLS: {text}")
            if message_id == 0 and fields.get(0x8A) == NOTICE_OF_DISCONNECTION_OID:
                return Refused(f"the server sent a Notice of Disconnection, {text}", text)
            if message_id == 1:
                return self._ready() if code == 0 else Refused(f"StartTLS was answered {text}", text)
        return Malformed("no ExtendedResponse to StartTLS among the first messages")

    def _message(self) -> Generator[_Want, None, bytes]:
        """One LDAPMessage: a BER SEQUENCE (0x30) of at most MAX_PACKET bytes."""
        while True:
            head = bytes(self._buffer[:6])
            if head and head[0] != 0x30:
                raise self._not_this("not an LDAP message (no BER SEQUENCE)")
            try:
                size = ber_header_size(head)
            except BerError as exc:
                raise self._not_this(f"not an LDAP message ({exc})") from None
            if size is not None:
                if size > MAX_PACKET:
                    raise self._not_this(f"an LDAP message claiming {size} bytes")
                return (yield from self._exactly(size))
            if self._eof:
                raise _End(Closed(self.stage))
            yield _Want.MORE


def extended_response(message: bytes) -> tuple[int, dict[int, bytes] | None]:
    """(messageID, ExtendedResponse components by tag) of an LDAPMessage; None for other operations.

    Components (RFC 4511 §4.12): resultCode 0x0a, matchedDN then diagnosticMessage as OCTET STRINGs 0x04
    (the dict keeps the last, the diagnostic), referral 0xa3, responseName 0x8a, responseValue 0x8b.
    """
    _, start, end = ber_element(message, 0, len(message))
    tag, id_start, id_end = ber_element(message, start, end)
    if tag != 0x02 or not 0 < id_end - id_start <= 4:
        raise BerError("no messageID")
    message_id = int.from_bytes(message[id_start:id_end], "big")
    tag, pos, op_end = ber_element(message, id_end, end)
    if tag != 0x78:  # [APPLICATION 24] ExtendedResponse
        return message_id, None
    fields: dict[int, bytes] = {}
    while pos < op_end:
        tag, content, pos = ber_element(message, pos, op_end)
        fields[tag] = message[content:pos]
    if not 1 <= len(fields.get(0x0A, b"")) <= 4:
        raise BerError("no resultCode")
    return message_id, fields


# -- PostgreSQL -----------------------------------------------------------------------------------------

# SSLRequest: Int32 length 8, Int32 80877103 (PostgreSQL protocol §55.2.10 "SSL Session Encryption").
PG_SSL_REQUEST = (8).to_bytes(4, "big") + (80877103).to_bytes(4, "big")


class Postgres(Preamble):
    """PostgreSQL SSLRequest: the server answers one byte, 'S' (go ahead) or 'N' (no SSL), or an 'E' error."""

    protocol = "postgres"
    label = "PostgreSQL"

    def _script(self) -> Script:
        self.stage = "the answer to SSLRequest"
        yield Send(PG_SSL_REQUEST)
        answer = yield from self._exactly(1)
        if answer == b"S" and self._buffer:
            # A server sends the one byte and waits for the ClientHello. More bytes with it are another
            # protocol that happens to start with 'S' (SSH), or bytes injected before TLS (CVE-2021-23214).
            raise self._not_this(f"'S' followed at once by {len(self._buffer)} more bytes")
        if answer == b"S":
            self._greeted = True
            yield Received("SSLRequest: S (go ahead)")
            return self._ready()
        if answer == b"N":
            self._greeted = True
            yield Received("SSLRequest: N (no SSL)")
            return Refused(
                "the server does not support SSL: it answered 'N' to SSLRequest "
                "(ssl = off in postgresql.conf)",
                "N",
            )
        if answer == b"E":  # ErrorResponse: Int32 length, then (type byte, C string)* and a zero byte
            size = int.from_bytes((yield from self._exactly(4)), "big")
            if not 4 < size <= MAX_PACKET:
                raise self._not_this(f"an ErrorResponse claiming {size} bytes")
            self._greeted = True
            body = yield from self._exactly(size - 4)
            fields = {f[:1]: f[1:] for f in body.split(b"\x00") if f}
            text = printable(fields.get(b"M", body))
            yield Received(f"SSLRequest: error {printable(fields.get(b'C', b''))} {text}")
            return Refused(f"the server answered SSLRequest with an error: {text}", text)
        raise self._not_this("not a PostgreSQL answer to SSLRequest ('S', 'N' or 'E')")


# -- MySQL ------------------------------------------------------------------------------------------------

CLIENT_LONG_PASSWORD = 0x1
CLIENT_LONG_FLAG = 0x4
CLIENT_PROTOCOL_41 = 0x200
CLIENT_SSL = 0x800
CLIENT_TRANSACTIONS = 0x2000
CLIENT_SECURE_CONNECTION = 0x8000
CLIENT_PLUGIN_AUTH = 0x80000
_CLIENT_FLAGS = (
    CLIENT_LONG_PASSWORD
    | CLIENT_LONG_FLAG
    | CLIENT_PROTOCOL_41
    | CLIENT_SSL
    | CLIENT_TRANSACTIONS
    | CLIENT_SECURE_CONNECTION
    | CLIENT_PLUGIN_AUTH
)
UTF8MB4_GENERAL_CI = 45


def mysql_ssl_request(server_flags: int) -> bytes:
    """Protocol::SSLRequest, sequence 1: flags, max packet 16 MiB, charset, 23 zero bytes (32 bytes)."""
    flags = _CLIENT_FLAGS & (server_flags | CLIENT_SSL)
    payload = flags.to_bytes(4, "little") + (1 << 24).to_bytes(4, "little")
    payload += bytes([UTF8MB4_GENERAL_CI]) + bytes(23)
    return len(payload).to_bytes(3, "little") + b"\x01" + payload


class Mysql(Preamble):
    """MySQL: the server's Handshake v10 must carry CLIENT_SSL; then the client's SSLRequest packet,
    after which the next bytes are the ClientHello (MySQL Client/Server Protocol, "SSL Handshake")."""

    protocol = "mysql"
    label = "MySQL"

    def _script(self) -> Script:
        header = yield from self._exactly(4)
        size, seq = int.from_bytes(header[:3], "little"), header[3]
        if seq != 0 or not 0 < size <= MAX_PACKET:
            raise self._not_this("not a MySQL packet header")
        payload = yield from self._exactly(size)
        if payload[0] == 0xFF and len(payload) >= 3:  # ERR_Packet: too many connections, host not allowed...
            code = int.from_bytes(payload[1:3], "little")
            text = printable(payload[9:] if payload[3:4] == b"#" else payload[3:])
            self._greeted = True
            yield Received(f"greeting: error {code} {text}")
            return Refused(f"the server refused the connection: error {code} {text}", f"{code} {text}")
        if payload[0] != 0x0A:
            raise self._not_this("not a MySQL Handshake v10 (protocol version 10)")
        version, _, rest = payload[1:].partition(b"\x00")
        if len(rest) < 4 + 8 + 1 + 2:
            raise self._not_this("a MySQL greeting too short for its capability flags")
        self._greeted = True
        flags = int.from_bytes(rest[13:15], "little")
        if len(rest) >= 20:
            flags |= int.from_bytes(rest[18:20], "little") << 16
        self.advertised = bool(flags & CLIENT_SSL)
        yield Received(f"greeting: MySQL {printable(version, 60)}, capabilities {flags:#010x}")
        if not flags & CLIENT_SSL:
            server = printable(version, 60)
            return Refused(
                f"the server ({server}) does not offer SSL: CLIENT_SSL is not in its capability "
                "flags (have_ssl is DISABLED)",
                f"capabilities {flags:#010x}",
            )
        if not flags & CLIENT_PROTOCOL_41:
            return Refused("the server speaks the pre-4.1 protocol, which this client does not upgrade")
        self.stage = "the TLS handshake after SSLRequest"
        yield Send(mysql_ssl_request(flags))
        return self._ready()
