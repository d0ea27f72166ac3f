"""An in-process DNS server on 127.0.0.1 for tests and ``demo``: every resolver fault on demand.

Modelled on dnspython's ``tests/nanonameserver.py``: one port for UDP and TCP, bound to
port 0, and a ``handle(query)`` to override. Returning None from ``handle`` stays silent,
which is how a timeout is made. One background thread multiplexes everything with a
selector, so the server costs one thread, bounded memory per connection, and stops
within a second, closing every socket it opened.
"""

from __future__ import annotations

import contextlib
import enum
import ipaddress
import selectors
import socket
import struct
import threading
from collections.abc import Mapping, Sequence
from types import TracebackType

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

__all__ = ["DnsServer", "Mode"]

_TICK = 0.1  # the selector's wake-up interval: how fast stop() is noticed
_MAX_TCP_CLIENTS = 16
_MAX_TCP_BUFFER = 2 + 65535  # one length-prefixed message (RFC 7766 section 8)
_BIND_ATTEMPTS = 20


class Mode(enum.StrEnum):
    """What the server answers, whatever the records say (NORMAL: the records)."""

    NORMAL = "normal"  # the records; unknown names get NXDOMAIN, known names without this type NODATA
    NXDOMAIN = "nxdomain"
    SERVFAIL = "servfail"
    REFUSED = "refused"
    SILENT = "silent"  # never answers: the client times out
    SINKHOLE = "sinkhole"  # every name is 0.0.0.0 / ::, as DNS filters answer blocked names


class DnsServer:
    """A tiny authoritative-looking server for A and AAAA.

    ``records`` maps a name (with or without the final dot) to addresses; IPv4 ones answer A
    queries and IPv6 ones AAAA. ``truncate_udp`` makes every UDP answer empty with the TC
    flag set, so the client must retry over TCP. ``mode`` may be changed while running.
    """

    def __init__(
        self,
        records: Mapping[str, Sequence[str]] | None = None,
        mode: Mode = Mode.NORMAL,
        *,
        ttl: int = 60,
        truncate_udp: bool = False,
    ) -> None:
        self.records = {_key(n): list(a) for n, a in (records or {}).items()}
        self.mode = mode
        self.ttl = ttl
        self.truncate_udp = truncate_udp
        self.queries: list[tuple[str, str, str]] = []  # (transport, name, type), for assertions
        self._udp: socket.socket | None = None
        self._tcp: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._buffers: dict[socket.socket, bytearray] = {}

    # -- the part tests override -------------------------------------------------------------
    def handle(self, query: dns.message.Message) -> dns.message.Message | None:
        """The response to ``query``, or None to stay silent."""
        if self.mode is Mode.SILENT:
            return None
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        if not query.question:
            response.set_rcode(dns.rcode.FORMERR)
            return response
        question = query.question[0]
        if self.mode in (Mode.NXDOMAIN, Mode.SERVFAIL, Mode.REFUSED):
            response.set_rcode(
                {
                    Mode.NXDOMAIN: dns.rcode.NXDOMAIN,
                    Mode.SERVFAIL: dns.rcode.SERVFAIL,
                    Mode.REFUSED: dns.rcode.REFUSED,
                }[self.mode]
            )
            return response
        if self.mode is Mode.SINKHOLE:
            found = ["0.0.0.0", "::"]
        elif (known := self.records.get(_key(question.name.to_text()))) is None:
            response.set_rcode(dns.rcode.NXDOMAIN)
            return response
        else:
            found = known
        wanted = [a for a in found if _rdtype(a) == question.rdtype]
        if wanted and question.rdclass == dns.rdataclass.IN:
            response.answer.append(
                dns.rrset.from_text_list(
                    question.name, self.ttl, "IN", dns.rdatatype.to_text(question.rdtype), wanted
                )
            )
        return response  # NOERROR, possibly with no answer: NODATA (RFC 2308 section 2.2)

    # -- life cycle ----------------------------------------------------------------------------
    @property
    def port(self) -> int:
        """The port UDP and TCP share."""
        if self._udp is None:
            raise RuntimeError("the server is not started")
        return int(self._udp.getsockname()[1])

    @property
    def address(self) -> str:
        """``127.0.0.1:port``, as --resolver takes it."""
        return f"127.0.0.1:{self.port}"

    def start(self) -> DnsServer:
        """Bind UDP and TCP on one free loopback port and start serving."""
        self._udp, self._tcp = _bind_pair()
        self._stop.clear()
        self._thread = threading.Thread(target=self._serve, name="tlsdoctor-dnsserver", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving (within about _TICK) and close every socket."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1.0)
            self._thread = None
        for sock in [*self._buffers, self._udp, self._tcp]:
            if sock is not None:
                sock.close()
        self._buffers.clear()
        self._udp = self._tcp = None

    def __enter__(self) -> DnsServer:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- the loop ------------------------------------------------------------------------------
    def _serve(self) -> None:
        assert self._udp is not None and self._tcp is not None
        with selectors.DefaultSelector() as selector:
            selector.register(self._udp, selectors.EVENT_READ)
            selector.register(self._tcp, selectors.EVENT_READ)
            while not self._stop.is_set():
                for key, _ in selector.select(_TICK):
                    sock = key.fileobj
                    assert isinstance(sock, socket.socket)
                    if sock is self._udp:
                        self._on_datagram(sock)
                    elif sock is self._tcp:
                        self._on_accept(sock, selector)
                    else:
                        self._on_stream(sock, selector)

    def _on_datagram(self, sock: socket.socket) -> None:
        try:
            data, peer = sock.recvfrom(4096)
        except OSError:
            return
        response = self._respond(data, "udp")
        if response is None:
            return
        if self.truncate_udp:
            response.answer.clear()
            response.flags |= dns.flags.TC
        with contextlib.suppress(OSError):
            sock.sendto(response.to_wire(max_size=65535), peer)

    def _on_accept(self, listener: socket.socket, selector: selectors.BaseSelector) -> None:
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        if len(self._buffers) >= _MAX_TCP_CLIENTS:
            conn.close()
            return
        conn.setblocking(False)
        self._buffers[conn] = bytearray()
        selector.register(conn, selectors.EVENT_READ)

    def _on_stream(self, conn: socket.socket, selector: selectors.BaseSelector) -> None:
        buffer = self._buffers[conn]
        try:
            chunk = conn.recv(4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            chunk = b""
        buffer += chunk
        while not chunk or len(buffer) >= 2:
            if not chunk or len(buffer) > _MAX_TCP_BUFFER:
                self._drop(conn, selector)
                return
            (size,) = struct.unpack("!H", buffer[:2])
            if len(buffer) < 2 + size:
                return
            message, buffer[:] = bytes(buffer[2 : 2 + size]), buffer[2 + size :]
            response = self._respond(message, "tcp")
            if response is not None:
                wire = response.to_wire(max_size=65535)
                try:
                    conn.setblocking(True)
                    conn.settimeout(1.0)  # bounded: a client that never reads cannot stall the server
                    conn.sendall(struct.pack("!H", len(wire)) + wire)
                    conn.setblocking(False)
                except OSError:
                    self._drop(conn, selector)
                    return

    def _drop(self, conn: socket.socket, selector: selectors.BaseSelector) -> None:
        selector.unregister(conn)
        self._buffers.pop(conn, None)
        conn.close()

    def _respond(self, data: bytes, transport: str) -> dns.message.Message | None:
        try:
            query = dns.message.from_wire(data)
        except dns.exception.DNSException:
            return None  # not DNS: a real server might answer FORMERR, silence is enough here
        if query.question:
            q = query.question[0]
            self.queries.append((transport, q.name.to_text(), dns.rdatatype.to_text(q.rdtype)))
        return self.handle(query)


def _key(name: str) -> str:
    return dns.name.from_text(name).to_text().lower()


def _rdtype(address: str) -> int:
    return dns.rdatatype.A if ipaddress.ip_address(address).version == 4 else dns.rdatatype.AAAA


def _bind_pair() -> tuple[socket.socket, socket.socket]:
    """A UDP and a TCP socket on the same free port: truncation fallback needs both on one port."""
    for _ in range(_BIND_ATTEMPTS):
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.bind(("127.0.0.1", 0))
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            tcp.bind(("127.0.0.1", udp.getsockname()[1]))
            tcp.listen(_MAX_TCP_CLIENTS)
        except OSError:
            udp.close()
            tcp.close()
            continue
        udp.setblocking(False)
        tcp.setblocking(False)
        return udp, tcp
    raise OSError("no free port for both UDP and TCP on 127.0.0.1")
