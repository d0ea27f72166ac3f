"""Endpoints that fail below or instead of TLS: nothing listening, resets, closes, silence, other protocols,
and hostile peers that try to make a client hang or buffer without bound."""

from __future__ import annotations

import random
import socket
import time

from tlsdoctor.testing.base import FaultServer, abort, close_gracefully, recv_first_record

# A TTL no loopback packet of ours has (Linux default 64): the RST of `reset-after-hello` carries it, like an
# RST injected by a box some hops away, so a capture can tell it from the server's own packets.
INJECTED_TTL = 250


class RefusedServer(FaultServer):
    """Holds a port bound but not listening: the kernel answers SYN with RST (ECONNREFUSED).

    Binding without listen() keeps the port reserved for as long as the server lives, which closing a probe
    socket would not; no other process can take it in between.
    """

    def bind(self) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.bind((self.host, 0))
        except OSError:
            sock.close()
            raise
        return sock

    def serves(self) -> bool:
        return False


class ResetAfterHelloServer(FaultServer):
    """Reads the ClientHello, then answers with RST (SO_LINGER 0) and no alert.

    On loopback nothing tells this RST from one a firewall injects, except the IP TTL a capture sees
    (INJECTED_TTL); the reset does not depend on SNI or hello size.
    """

    def handle(self, conn: socket.socket) -> None:
        recv_first_record(conn, self.io_timeout)
        abort(conn, ttl=INJECTED_TTL)


class CloseAfterHelloServer(FaultServer):
    """Reads the ClientHello, then closes with FIN and no alert (a TLS terminator that gave up)."""

    def handle(self, conn: socket.socket) -> None:
        recv_first_record(conn, self.io_timeout)
        close_gracefully(conn)


class SilentServer(FaultServer):
    """Accepts, reads everything, never answers; holds the connection until the peer leaves or stop()."""

    def handle(self, conn: socket.socket) -> None:
        self.hold(conn)


_HTTP_400 = (
    b"HTTP/1.1 400 Bad Request\r\n"
    b"Server: nginx\r\n"
    b"Content-Type: text/html\r\n"
    b"Content-Length: %d\r\n"
    b"Connection: close\r\n\r\n"
)
_HTTP_400_BODY = (
    b"<html>\r\n<head><title>400 Bad Request</title></head>\r\n<body>\r\n"
    b"<center><h1>400 Bad Request</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)


class PlainHttpServer(FaultServer):
    """Answers whatever arrives (a ClientHello too) with an nginx-style `400 Bad Request`, then closes."""

    def handle(self, conn: socket.socket) -> None:
        if not conn.recv(65536):
            return
        conn.sendall(_HTTP_400 % len(_HTTP_400_BODY) + _HTTP_400_BODY)
        close_gracefully(conn)


class SlowDripServer(FaultServer):
    """Sends one garbage byte per second, for up to `seconds`: a client without its own deadline hangs.

    The bytes spell text, so even the first one ('g', 0x67) is no TLS content type.
    """

    seconds = 600

    def handle(self, conn: socket.socket) -> None:
        text = b"garbage, not TLS. "
        for i in range(self.seconds):
            conn.sendall(text[i % len(text) : i % len(text) + 1])
            if not self.sleep(1.0):
                return


class EndlessServer(FaultServer):
    """Sends non-TLS random bytes as fast as the client reads, up to `cap` bytes or `seconds`: a client that
    buffers without a cap runs out of memory."""

    cap = 256 << 20
    seconds = 60.0
    io_timeout = 2.0

    def handle(self, conn: socket.socket) -> None:
        chunk = random.Random(0x7D0C).randbytes(64 << 10)
        conn.sendall(b"\x00")  # no TLS content type (20..24) and no SSLv2 length bit: visibly not TLS
        deadline = time.monotonic() + self.seconds
        sent = 0
        while sent < self.cap and time.monotonic() < deadline and not self.stopping.is_set():
            conn.sendall(chunk)
            sent += len(chunk)


class HugeLengthServer(FaultServer):
    """Claims a 16 MB ServerHello, then trickles: a client that believes length fields waits or allocates.

    A record's length field is 16 bits, so the 16 MB claim sits in the handshake header (uint24, RFC 8446 4):
    a maximal 16 KB handshake record whose body starts `02 ff ff ff` (server_hello, 16 MiB - 1), then zeros at
    `trickle` bytes per 0.2 s.
    """

    seconds = 600.0
    trickle = 16

    def handle(self, conn: socket.socket) -> None:
        conn.sendall(bytes.fromhex("160303400002ffffff"))
        deadline = time.monotonic() + self.seconds
        while time.monotonic() < deadline and self.sleep(0.2):
            conn.sendall(bytes(self.trickle))
