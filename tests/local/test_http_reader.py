"""net/http.read_answer, the one bounded HTTP answer reader, against real loopback servers: over TLS
(net/tls.TlsChannel, as http_answer, the idle check and the clock's Date probe read) and over plain
TCP (the AIA fetch). An answer ends when its framing says so, not when the deadline does; a peer that
drips or never stops costs the deadline or the cap, no more.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from collections.abc import Callable, Iterator

import pytest

from tlsdoctor.net import http
from tlsdoctor.net.http import AnswerEnd, read_answer
from tlsdoctor.net.stream import Stream
from tlsdoctor.net.tcp import open_tcp
from tlsdoctor.net.tls import HTTP_ANSWER_BYTES, TlsChannel, handshake, http_answer
from tlsdoctor.observations.cert import FetchOutcome
from tlsdoctor.testing import FaultServer
from tlsdoctor.testing.tlsservers import TlsServer, read_request

CHUNKED = (
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n"
    b"5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nX-Trailer: 1\r\n\r\n"
)
LENGTH = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"


class AnsweringTls(TlsServer):
    """Answers each request with fixed bytes (one send, or one byte every ``drip`` seconds) and then
    keeps the connection open: only the answer's framing can tell the reader it is complete."""

    def __init__(self, answer: bytes | Callable[[int], bytes], *, drip: float = 0.0) -> None:
        super().__init__()
        self.answer = answer
        self.drip = drip
        self.requests: list[bytes] = []

    def after_handshake(self, tls: ssl.SSLSocket) -> None:
        request = read_request(tls)
        self.requests.append(request)
        if callable(self.answer):  # endless: chunk after chunk until the client goes or stop()
            n = 0
            while not self.stopping.is_set() and n < 10_000:
                try:
                    tls.sendall(self.answer(n))
                except OSError:
                    return
                n += 1
            return
        if self.drip:
            for i in range(len(self.answer)):
                if not self.sleep(self.drip):
                    return
                try:
                    tls.sendall(self.answer[i : i + 1])
                except OSError:
                    return
        else:
            tls.sendall(self.answer)
        self.hold(tls, seconds=10)


class AnsweringPlain(FaultServer):
    """Plain HTTP: one answer, then the connection stays open (a server that ignores Connection: close)."""

    def __init__(self, answer: bytes) -> None:
        super().__init__()
        self.answer = answer

    def handle(self, conn: socket.socket) -> None:
        read_request(conn)
        conn.sendall(self.answer)
        self.hold(conn, seconds=10)


@pytest.fixture
def serve() -> Iterator[Callable[[FaultServer], FaultServer]]:
    started: list[FaultServer] = []

    def start(server: FaultServer) -> FaultServer:
        started.append(server.start())
        return server

    yield start
    for server in started:
        server.stop()


async def session(server: TlsServer) -> tuple[Stream, TlsChannel]:
    """A finished handshake with ``server``, as the diagnosis's probes make one."""
    _, sock = await open_tcp(server.host, server.port, 5.0)
    assert sock is not None
    stream = Stream(sock, time.monotonic() + 5.0)
    context = ssl.create_default_context(cafile=str(server.ca_file))
    result = await handshake(
        stream, context, variant="test", address=server.host, port=server.port, servername="localhost"
    )
    assert result.tls is not None and result.bios is not None, result.attempt
    return stream, TlsChannel(stream, result.tls, *result.bios)


def ask(server: TlsServer, *, within: float = 3.0, cap: int = 4096, head_only: bool = False) -> http.Answer:
    async def go() -> http.Answer:
        stream, channel = await session(server)
        try:
            assert await channel.send(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n") is not None
            return await read_answer(channel, within=within, cap=cap, head_only=head_only)
        finally:
            stream.close()

    return asyncio.run(go())


def test_a_chunked_answer_ends_at_its_last_chunk(serve: Callable[[FaultServer], FaultServer]) -> None:
    server = serve(AnsweringTls(CHUNKED))
    answer = ask(server)
    assert answer.end is AnswerEnd.COMPLETE, answer
    assert answer.data == CHUNKED and answer.head is not None and answer.head.status == 200
    assert answer.head.field(b"date") == b"Sun, 06 Nov 1994 08:49:37 GMT"


def test_a_length_framed_answer_ends_at_its_length(serve: Callable[[FaultServer], FaultServer]) -> None:
    server = serve(AnsweringTls(LENGTH))
    answer = ask(server)
    assert (answer.end, answer.data) == (AnswerEnd.COMPLETE, LENGTH)


def test_a_head_answer_is_its_head(serve: Callable[[FaultServer], FaultServer]) -> None:
    """HEAD: the Content-Length describes a body that never comes (RFC 9110 §9.3.2)."""
    server = serve(AnsweringTls(b"HTTP/1.1 200 OK\r\nContent-Length: 900\r\n\r\n"))
    answer = ask(server, head_only=True)
    assert answer.end is AnswerEnd.COMPLETE and answer.head is not None
    near_miss = ask(serve(AnsweringTls(b"HTTP/1.1 200 OK\r\nContent-Length: 900\r\n\r\n")), within=0.5)
    assert near_miss.end is AnswerEnd.TIMEOUT  # a GET waits for those 900 bytes


def test_a_dripping_peer_costs_the_deadline(serve: Callable[[FaultServer], FaultServer]) -> None:
    server = serve(AnsweringTls(LENGTH * 100, drip=0.05))
    start = time.monotonic()
    answer = ask(server, within=0.6)
    elapsed = time.monotonic() - start
    assert answer.end is AnswerEnd.TIMEOUT and 0 < len(answer.data) < len(LENGTH) * 100
    assert answer.status_line is None or answer.status_line.startswith("HTTP/1.1")
    assert elapsed < 5, elapsed  # the deadline bounds it, not the 15 s the whole drip would take


def test_an_endless_answer_is_cut_at_the_cap(serve: Callable[[FaultServer], FaultServer]) -> None:
    endless = AnsweringTls(
        lambda n: b"HTTP/1.1 200 OK\r\n" if n == 0 else b"X-Junk: " + b"y" * 4000 + b"\r\n"
    )
    server = serve(endless)
    answer = ask(server, cap=20_000)
    assert answer.end is AnswerEnd.CAP and len(answer.data) == 20_000 and answer.head is None
    assert answer.status_line == "HTTP/1.1 200 OK"


def test_http_answer_names_an_ipv6_host_in_brackets(serve: Callable[[FaultServer], FaultServer]) -> None:
    """The request after a handshake to an address (no name) carries it as Host; an IPv6 literal must
    be bracketed (RFC 9110 §7.2), or the server answers 400 for our own malformed request."""
    server = serve(AnsweringTls(LENGTH))

    async def go() -> tuple[str | None, bytes]:
        stream, channel = await session(server)
        try:
            return await http_answer(stream, channel.obj, channel.incoming, channel.outgoing, "::1")
        finally:
            stream.close()

    said, first = asyncio.run(go())
    assert (said, first) == ("http 200 OK", LENGTH)
    assert server.requests and b"\r\nHost: [::1]\r\n" in server.requests[0], server.requests


def test_http_answer_reads_at_most_its_bytes(serve: Callable[[FaultServer], FaultServer]) -> None:
    endless = AnsweringTls(lambda n: b"HTTP/1.1 200 OK\r\n" if n == 0 else b"a" * 8192)
    server = serve(endless)

    async def go() -> tuple[str | None, bytes]:
        stream, channel = await session(server)
        try:
            received = stream.received
            said, first = await http_answer(
                stream, channel.obj, channel.incoming, channel.outgoing, "localhost", keep=HTTP_ANSWER_BYTES
            )
            assert stream.received - received < 2 * HTTP_ANSWER_BYTES + 65536  # reading stopped at the cap
            return said, first
        finally:
            stream.close()

    said, first = asyncio.run(go())
    assert said == "http 200 OK" and len(first) == HTTP_ANSWER_BYTES


def test_plain_fetch_ends_with_the_answer_not_the_connection(
    serve: Callable[[FaultServer], FaultServer],
) -> None:
    """The AIA fetch reads with the same reader: a server that keeps the connection open after a
    length-framed answer (it ignored Connection: close) gives the body, not a timeout."""
    server = serve(AnsweringPlain(LENGTH))
    start = time.monotonic()
    result = asyncio.run(http.get(f"http://127.0.0.1:{server.port}/ca.der", 3.0))
    assert (result.outcome, result.status, result.body) == (FetchOutcome.OK, 200, b"abc"), result
    assert time.monotonic() - start < 2.5  # it did not wait for the 3 s deadline


def test_plain_fetch_of_an_unframed_answer_reads_to_the_close(
    serve: Callable[[FaultServer], FaultServer],
) -> None:
    """Near miss: without a length the body ends with the connection (RFC 9112 §6.3 item 8); a
    server that then keeps it open is a timeout."""
    server = serve(AnsweringPlain(b"HTTP/1.0 200 OK\r\n\r\nabc"))
    result = asyncio.run(http.get(f"http://127.0.0.1:{server.port}/ca.der", 1.0))
    assert result.outcome is FetchOutcome.TIMEOUT, result
