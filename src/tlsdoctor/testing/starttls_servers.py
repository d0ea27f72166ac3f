"""Plaintext-first servers that upgrade to TLS (STARTTLS), each a small honest implementation of its preamble.

IMAP, POP3 and FTP speak first with a banner; PostgreSQL, LDAP and XMPP wait for the client; MySQL greets
with a binary packet. After the upgrade each is a `TlsServer` (the shared test PKI, a valid certificate for
localhost and 127.0.0.1). `PostgresServer(offer_ssl=False)` answers 'N' to SSLRequest, as `ssl = off` does.
On a ClientHello instead of their preamble they do what the real servers do: PostgreSQL and LDAP close
without a word, XMPP sends a stream error, the banner protocols have already sent their banner.
"""

from __future__ import annotations

import socket
import ssl

from tlsdoctor.testing.base import close_gracefully
from tlsdoctor.testing.tlsservers import TlsServer, close_tls

_MAX_LINE = 4096


def read_line(sock: socket.socket, buffer: bytearray) -> bytes | None:
    """One CRLF line from ``sock`` (``buffer`` keeps what came after it); None on EOF or an overlong line."""
    while b"\n" not in buffer:
        if len(buffer) > _MAX_LINE:
            return None
        chunk = sock.recv(_MAX_LINE)
        if not chunk:
            return None
        buffer += chunk
    line, _, rest = bytes(buffer).partition(b"\n")
    buffer[:] = rest
    return line.rstrip(b"\r")


def read_exactly(sock: socket.socket, n: int) -> bytes | None:
    """``n`` bytes, or None on EOF."""
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            return None
        data += chunk
    return data


class LineStarttlsServer(TlsServer):
    """A text protocol that greets first: `answer` maps each command to a reply and whether TLS starts now."""

    greeting = b""

    def handle(self, conn: socket.socket) -> None:
        conn.sendall(self.greeting)
        buffer = bytearray()
        for _ in range(20):
            line = read_line(conn, buffer)
            if line is None:
                return
            reply, start_tls = self.answer(line)
            conn.sendall(reply)
            if start_tls:
                tls = self.wrap(conn)
                tls.do_handshake()
                close_tls(tls)
                return
            if not reply or reply.startswith(self.goodbye):
                close_gracefully(conn)
                return

    goodbye = b"\x00"  # the start of a reply after which the server closes

    def answer(self, line: bytes) -> tuple[bytes, bool]:
        raise NotImplementedError


class ImapStarttlsServer(LineStarttlsServer):
    """IMAP (RFC 9051): "* OK" greeting without capabilities, CAPABILITY lists STARTTLS, STARTTLS -> TLS."""

    greeting = b"* OK imap.test IMAP4rev1 ready\r\n"
    goodbye = b"* BYE"

    def answer(self, line: bytes) -> tuple[bytes, bool]:
        tag, _, command = line.partition(b" ")
        verb = command.split(b" ")[0].upper()
        if verb == b"CAPABILITY":
            return (
                b"* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED\r\n" + tag + b" OK CAPABILITY completed\r\n",
                False,
            )
        if verb == b"STARTTLS":
            return tag + b" OK Begin TLS negotiation now\r\n", True
        if verb == b"LOGOUT":
            return b"* BYE logging out\r\n" + tag + b" OK LOGOUT completed\r\n", False
        return tag + b" BAD unknown command\r\n", False


class Pop3StarttlsServer(LineStarttlsServer):
    """POP3 (RFC 1939): "+OK" greeting, CAPA lists STLS (RFC 2449), STLS -> TLS (RFC 2595)."""

    greeting = b"+OK pop.test POP3 ready\r\n"
    goodbye = b"+OK bye"

    def answer(self, line: bytes) -> tuple[bytes, bool]:
        verb = line.split(b" ")[0].upper()
        if verb == b"CAPA":
            return b"+OK Capability list follows\r\nTOP\r\nUSER\r\nSTLS\r\nUIDL\r\n.\r\n", False
        if verb == b"STLS":
            return b"+OK Begin TLS negotiation\r\n", True
        if verb == b"QUIT":
            return b"+OK bye\r\n", False
        return b"-ERR unknown command\r\n", False


class FtpStarttlsServer(LineStarttlsServer):
    """FTP (RFC 959): a multi-line 220 greeting, AUTH TLS -> 234 and TLS (RFC 4217)."""

    greeting = b"220-ftp.test FTP server\r\n welcome\r\n220 ready\r\n"
    goodbye = b"221"

    def answer(self, line: bytes) -> tuple[bytes, bool]:
        command = line.upper()
        if command in (b"AUTH TLS", b"AUTH SSL"):
            return b"234 AUTH TLS successful\r\n", True
        if command == b"FEAT":
            return b"211-Features:\r\n AUTH TLS\r\n PBSZ\r\n PROT\r\n211 End\r\n", False
        if command == b"QUIT":
            return b"221 Goodbye.\r\n", False
        return b"500 Unknown command.\r\n", False


SSL_REQUEST = (8).to_bytes(4, "big") + (80877103).to_bytes(4, "big")


class PostgresServer(TlsServer):
    """PostgreSQL's SSLRequest (protocol §55.2.10): 'S' then TLS, or 'N' with ``offer_ssl=False`` (then it
    waits for a plaintext StartupMessage, which a TLS client never sends). Anything else: closed silently."""

    def __init__(self, *, offer_ssl: bool = True) -> None:
        super().__init__()
        self.offer_ssl = offer_ssl

    def handle(self, conn: socket.socket) -> None:
        if read_exactly(conn, 8) != SSL_REQUEST:
            close_gracefully(conn)  # real servers log "invalid length of startup packet" and close
            return
        conn.sendall(b"S" if self.offer_ssl else b"N")
        if not self.offer_ssl:
            close_gracefully(conn, wait=self.io_timeout)
            return
        tls = self.wrap(conn)
        tls.do_handshake()
        close_tls(tls)


# ExtendedResponse { messageID 1, resultCode success, matchedDN "", diagnosticMessage "" } (RFC 4511 §4.14.2)
LDAP_START_TLS_OK = bytes.fromhex("300c02010178070a010004000400")


class LdapStarttlsServer(TlsServer):
    """LDAP: answers one StartTLS ExtendedRequest with success, then TLS. A non-LDAP first byte: closed."""

    def handle(self, conn: socket.socket) -> None:
        head = read_exactly(conn, 2)
        if head is None or head[0] != 0x30 or head[1] & 0x80:  # our clients send short-form lengths
            close_gracefully(conn)
            return
        body = read_exactly(conn, head[1])
        if body is None or b"1.3.6.1.4.1.1466.20037" not in body:
            close_gracefully(conn)
            return
        conn.sendall(LDAP_START_TLS_OK)
        tls = self.wrap(conn)
        tls.do_handshake()
        close_tls(tls)


_XMPP_HEADER = (
    b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
    b"xmlns:stream='http://etherx.jabber.org/streams' from='localhost' id='t1' version='1.0'>"
)
_XMPP_FEATURES = (
    b"<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>"
    b"</stream:features>"
)
_XMPP_NOT_WELL_FORMED = (
    b"<stream:error><not-well-formed xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
    b"</stream:error></stream:stream>"
)


class XmppStarttlsServer(TlsServer):
    """XMPP (RFC 6120 §5.4): stream header and features offering <starttls/>, then <proceed/> and TLS."""

    def handle(self, conn: socket.socket) -> None:
        first = conn.recv(4096)
        if not first.startswith(b"<"):
            conn.sendall(_XMPP_HEADER + _XMPP_NOT_WELL_FORMED)
            close_gracefully(conn)
            return
        data = first
        while b"version='1.0'>" not in data and b'version="1.0">' not in data and len(data) < _MAX_LINE:
            chunk = conn.recv(4096)
            if not chunk:
                return
            data += chunk
        conn.sendall(_XMPP_HEADER + _XMPP_FEATURES)
        data = b""
        while b"<starttls" not in data or not data.rstrip().endswith(b"/>"):
            chunk = conn.recv(4096)
            if not chunk or len(data) > _MAX_LINE:
                return
            data += chunk
        conn.sendall(b"<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
        tls = self.wrap(conn)
        tls.do_handshake()
        close_tls(tls)


def mysql_greeting(flags: int) -> bytes:
    """A Handshake v10 packet (sequence 0) with capability ``flags``."""
    payload = b"\x0a" + b"8.0.36-test\x00" + (7).to_bytes(4, "little") + b"abcdefgh" + b"\x00"
    payload += (
        (flags & 0xFFFF).to_bytes(2, "little") + b"\x2d" + b"\x02\x00" + (flags >> 16).to_bytes(2, "little")
    )
    payload += b"\x15" + bytes(10) + b"ijklmnopqrst\x00" + b"caching_sha2_password\x00"
    return len(payload).to_bytes(3, "little") + b"\x00" + payload


class MysqlServer(TlsServer):
    """MySQL: a greeting with CLIENT_SSL (0x800) unless ``offer_ssl=False``; after the client's 32-byte
    SSLRequest packet, TLS."""

    def __init__(self, *, offer_ssl: bool = True) -> None:
        super().__init__()
        self.offer_ssl = offer_ssl

    def handle(self, conn: socket.socket) -> None:
        flags = 0x000FFFFF if self.offer_ssl else 0x000FFFFF & ~0x800  # 0x800: CLIENT_SSL
        conn.sendall(mysql_greeting(flags))
        request = read_exactly(conn, 36)
        if request is None or not self.offer_ssl or request[3] != 1:
            close_gracefully(conn)
            return
        tls = self.wrap(conn)
        try:
            tls.do_handshake()
        except ssl.SSLError:
            close_gracefully(tls)
            raise
        close_tls(tls)
