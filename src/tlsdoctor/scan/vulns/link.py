"""The connection a vulnerability probe talks over: opened through the scan's Prober (so it
counts against ``--max-connections`` and stops at ``--max-time``), then records in and out
with the ``wire/`` codec, past the point where a scan probe hangs up.

A scan probe reads the server's first flight and leaves; these probes answer it with what an
attacker sends (a heartbeat, an early ChangeCipherSpec, a doctored key exchange, a second
ClientHello) and read the reply. Every read is bounded by the stream's deadline and byte cap,
and by :data:`MAX_ITEMS` records, so a hostile server costs one timeout at most.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, NamedTuple, TypeVar

from tlsdoctor.net.stream import ReadEnd, Stream
from tlsdoctor.scan.offers import ALL_SCHEMES, TLS12_GROUPS
from tlsdoctor.wire.codepoints import (
    CompressionMethod,
    ContentType,
    ExtensionType,
    HandshakeType,
    ProtocolVersion,
)
from tlsdoctor.wire.extensions import RawExtension
from tlsdoctor.wire.handshake import (
    ClientHello,
    HandshakeMessage,
    HandshakeReassembler,
    ServerHello,
    build_handshake,
    encode_client_hello,
    parse_server_hello,
)
from tlsdoctor.wire.hello import HelloSpec, client_hello_for
from tlsdoctor.wire.reader import DecodeError
from tlsdoctor.wire.records import MAX_PLAINTEXT, Record, RecordBuffer, build_records, parse_alert
from tlsdoctor.wire.server_messages import parse_certificate

if TYPE_CHECKING:
    from tlsdoctor.scan.prober import Prober

V = ProtocolVersion
T = TypeVar("T")
PART = "vulnerabilities"  # the part of the scan these probes are (ScanData.untested)
MAX_ITEMS = 256  # records / messages read on one connection; a server flight has < 10


class Unreached(NamedTuple):
    """No connection was made: ``why``."""

    why: str


async def exchange(prober: Prober, talk: Callable[[Link], Awaitable[T]]) -> T | Unreached:
    """Open one connection under the scan's gate and deadline and let ``talk`` drive it."""
    async with prober.gate:
        timeout = prober.time_left()
        if timeout is None:
            prober.skip(PART, "not tested: the scan's deadline (--max-time) ran out")
            return Unreached("not tested: the scan's deadline (--max-time) ran out")
        prober.count += 1
        wave = prober.waves.begin()  # counted like every scan connection (scan/waves.py)
        try:
            stream, why = await prober.open_stream(timeout)
            if stream is None:
                return Unreached(f"no connection: {why}")
            try:
                return await talk(Link(stream))
            finally:
                stream.close()
        finally:
            prober.waves.end(wave)


@dataclasses.dataclass(slots=True)
class Flight:
    """The server's answer to a ClientHello, up to ServerHelloDone (RFC 5246 §7.3)."""

    server_hello: ServerHello | None = None
    certificates: tuple[bytes, ...] = ()
    key_exchange: bytes | None = None  # the ServerKeyExchange body, unparsed
    done: bool = False  # ServerHelloDone arrived: the server waits for the client's flight
    alert: str = ""  # the alert that ended it, by name
    end: str = ""  # why the flight stopped short, when it did
    transcript: bytearray = dataclasses.field(default_factory=bytearray)  # handshake messages so far

    def describe(self) -> str:
        """What the server did instead of completing its flight."""
        if self.alert:
            return f"the server answered the ClientHello with a {self.alert}"
        if self.server_hello is not None and self.server_hello.selected_version >= V.TLS1_3:
            return "the server chose TLS 1.3"
        return f"the handshake ended before ServerHelloDone ({self.end or 'no answer'})"


class Link:
    """Records in and out of one connection; ``end`` says why reading stopped."""

    def __init__(self, stream: Stream) -> None:
        self.stream = stream
        self.records = RecordBuffer()
        self.messages = HandshakeReassembler()
        self.end = ""
        self.items = 0

    @property
    def closed(self) -> bool:
        """The server ended the connection (FIN or RST), as opposed to a timeout, garbage or a cap:
        only an end the server chose is an answer."""
        return self.end in ("closed", "reset")

    async def send(self, data: bytes) -> bool:
        end = await self.stream.send(data)
        if end is not ReadEnd.DATA:
            self.end = _END.get(end, str(end))
            return False
        return True

    async def record(self) -> Record | None:
        """The next whole record; None at EOF, reset, timeout, cap or garbage (``end``)."""
        while self.items < MAX_ITEMS:
            try:
                record = self.records.next_record()
            except DecodeError as exc:
                self.end = f"protocol-error: {exc}"
                return None
            if record is not None:
                self.items += 1
                return record
            end, data = await self.stream.recv()
            if end is not ReadEnd.DATA:
                self.end = _END.get(end, str(end))
                return None
            self.records.feed(data)
        self.end = f"more than {MAX_ITEMS} records"
        return None

    async def message(self) -> HandshakeMessage | Record | None:
        """The next plaintext handshake message, or the next record that is not one."""
        while True:
            try:
                msg = self.messages.next_message()
            except DecodeError as exc:
                self.end = f"protocol-error: {exc}"
                return None
            if msg is not None:
                return msg
            record = await self.record()
            if record is None or record.content_type != ContentType.HANDSHAKE:
                return record
            self.messages.feed(record.fragment)

    async def flight(self, hello: bytes, hello_message: bytes) -> Flight:
        """Send ``hello`` and read the server's flight up to ServerHelloDone (TLS <= 1.2)."""
        flight = Flight(transcript=bytearray(hello_message))
        if not await self.send(hello):
            flight.end = self.end
            return flight
        for _ in range(MAX_ITEMS):
            item = await self.message()
            if item is None:
                flight.end = self.end
                return flight
            if isinstance(item, Record):
                if item.content_type == ContentType.ALERT:
                    flight.alert = alert_of(item)
                else:
                    flight.end = f"an unexpected {item.content_type.name} record"
                return flight
            flight.transcript += build_handshake(item.msg_type, item.body)
            try:
                if not _take(flight, item):
                    return flight
            except DecodeError as exc:
                flight.end = f"protocol-error: {exc}"
                return flight
        flight.end = f"more than {MAX_ITEMS} handshake messages"
        return flight


def _take(flight: Flight, msg: HandshakeMessage) -> bool:
    """Fold one message of the server's flight in; False when the flight is over."""
    if msg.msg_type == HandshakeType.SERVER_HELLO:
        hello = parse_server_hello(msg.body)
        flight.server_hello = hello
        if hello.is_hrr or hello.selected_version >= V.TLS1_3:
            flight.end = "the server chose TLS 1.3"
            return False
    elif flight.server_hello is None:
        flight.end = f"{msg.msg_type.name} before ServerHello"
        return False
    elif msg.msg_type == HandshakeType.CERTIFICATE:
        flight.certificates = parse_certificate(msg.body, False).certificates
    elif msg.msg_type == HandshakeType.SERVER_KEY_EXCHANGE:
        flight.key_exchange = msg.body
    elif msg.msg_type == HandshakeType.SERVER_HELLO_DONE:
        flight.done = True
        return False
    return True


def alert_of(record: Record) -> str:
    """A plaintext alert record by name (level and description)."""
    try:
        return str(parse_alert(record.fragment))
    except DecodeError:
        return f"of {len(record.fragment)} bytes (encrypted)"


_END = {
    ReadEnd.EOF: "closed",
    ReadEnd.RESET: "reset",
    ReadEnd.TIMEOUT: "timeout",
    ReadEnd.CAP: "byte cap reached",
    ReadEnd.ERROR: "socket error",
}


async def reply(link: Link) -> str:
    """How the server answered what was just sent: its first record (an alert by name), or how
    the connection ended. The text is what the probes compare and quote."""
    record = await link.record()
    if record is None:
        return link.end
    if record.content_type == ContentType.ALERT:
        return f"a {alert_of(record)}"
    return f"a {record.content_type.name} record of {len(record.fragment)} bytes"


def client_hello(
    version: ProtocolVersion,
    suites: tuple[int, ...],
    *,
    sni: str | None,
    groups: tuple[int, ...] = TLS12_GROUPS,
    session_id_len: int = 0,
    extra: tuple[RawExtension, ...] = (),
    session_ticket: bool = False,
    extended_master_secret: bool = False,
    renegotiation: bytes | None = b"",
) -> tuple[bytes, bytes, ClientHello]:
    """A TLS <= 1.2 ClientHello: (record bytes, handshake message, the hello). ``renegotiation``:
    the renegotiation_info payload (RFC 5746 §3.5: our verify_data when renegotiating; None: the
    SCSV instead). SSL 3.0 hellos carry no extensions (RFC 6101)."""
    ssl3 = version == V.SSL3
    reneg: tuple[RawExtension, ...] = ()
    if renegotiation is not None and not ssl3:
        reneg = (RawExtension(ExtensionType.RENEGOTIATION_INFO, bytes([len(renegotiation)]) + renegotiation),)
    spec = HelloSpec(
        name="vuln-probe",
        record_version=V.TLS1_0 if version >= V.TLS1_0 else V.SSL3,
        client_version=version,
        cipher_suites=suites,
        groups=() if ssl3 else groups,
        signature_schemes=ALL_SCHEMES if version >= V.TLS1_2 else (),
        sni=None if ssl3 else sni,
        extensions=not ssl3,
        renegotiation="scsv" if (ssl3 or renegotiation is None) else "none",
        extra_extensions=(*extra, *reneg),
        session_ticket=session_ticket,
        extended_master_secret=extended_master_secret,
        compression=(CompressionMethod.NULL,),
        session_id_len=session_id_len,
        pad_f5_range=not ssl3,
    )
    hello = client_hello_for(spec, secrets.token_bytes(32))
    message = build_handshake(HandshakeType.CLIENT_HELLO, encode_client_hello(hello))
    return build_records(ContentType.HANDSHAKE, spec.record_version, message, MAX_PLAINTEXT), message, hello
