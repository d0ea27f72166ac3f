"""The delay relay (tlsdoctor.testing.delay) against real sockets: round trips cost what the delay says, TLS
goes through untouched, FIN and RST travel like data, order survives jitter, buffers stay bounded."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import socketserver
import ssl
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from tlsdoctor.testing import FaultServer
from tlsdoctor.testing.delay import DelayRelay, running_relay

ONE_WAY_MS = 50.0
RTT = 2 * ONE_WAY_MS / 1000.0
# The shared CPU makes things late, never early: lower bounds are tight, upper bounds leave room for noise.
SLACK = 0.15


class _Handler(socketserver.BaseRequestHandler):
    server: _Server

    def handle(self) -> None:
        self.request.settimeout(10)
        self.server.behaviour(self.request)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, behaviour: Callable[[socket.socket], None]) -> None:
        self.behaviour = behaviour
        super().__init__(("127.0.0.1", 0), _Handler)


@pytest.fixture
def serve() -> Iterator[Callable[[Callable[[socket.socket], None]], int]]:
    servers: list[_Server] = []

    def start(behaviour: Callable[[socket.socket], None]) -> int:
        server = _Server(behaviour)
        servers.append(server)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return int(server.server_address[1])

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def echo(conn: socket.socket) -> None:
    while data := conn.recv(65536):
        conn.sendall(data)


def connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def test_echo_round_trip_costs_twice_the_one_way_delay(serve: Callable[..., int]) -> None:
    port = serve(echo)
    with running_relay("127.0.0.1", port, one_way_ms=ONE_WAY_MS) as relay:
        rtts = []
        for _ in range(3):
            start = time.monotonic()
            with connect(relay.port) as sock:
                sock.sendall(b"ping")
                assert sock.recv(16) == b"ping"
                rtts.append(time.monotonic() - start)
                # A second exchange on the same connection: one more round trip, no connect in it.
                start = time.monotonic()
                sock.sendall(b"pong")
                assert sock.recv(16) == b"pong"
                rtts.append(time.monotonic() - start)
    assert min(rtts) >= RTT * 0.98, rtts
    assert sorted(rtts)[len(rtts) // 2] <= RTT + SLACK, rtts


def test_zero_delay_relay_adds_next_to_nothing(serve: Callable[..., int]) -> None:
    port = serve(echo)
    with running_relay("127.0.0.1", port, one_way_ms=0) as relay, connect(relay.port) as sock:
        start = time.monotonic()
        for _ in range(5):
            sock.sendall(b"x")
            assert sock.recv(16) == b"x"
        assert time.monotonic() - start < 5 * RTT


def test_tls_handshake_through_the_relay(healthy: FaultServer) -> None:
    assert healthy.ca_file is not None
    context = ssl.create_default_context(cafile=str(healthy.ca_file))
    with running_relay(healthy.host, healthy.port, one_way_ms=ONE_WAY_MS) as relay:
        start = time.monotonic()
        with connect(relay.port) as raw, context.wrap_socket(raw, server_hostname=healthy.servername) as tls:
            elapsed = time.monotonic() - start
            assert tls.version() in ("TLSv1.2", "TLSv1.3")
            assert tls.getpeercert() is not None
    # At least one full round trip (TLS 1.3: ClientHello out, ServerHello..Finished back).
    assert elapsed >= RTT * 0.98, elapsed


def test_server_reset_reaches_the_client_as_a_reset(serve: Callable[..., int]) -> None:
    def reset(conn: socket.socket) -> None:
        conn.recv(16)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()

    port = serve(reset)
    with running_relay("127.0.0.1", port, one_way_ms=ONE_WAY_MS) as relay, connect(relay.port) as sock:
        start = time.monotonic()
        sock.sendall(b"hello")
        with pytest.raises(ConnectionResetError):
            while sock.recv(16):
                pass
        assert time.monotonic() - start >= RTT * 0.98


def test_client_reset_reaches_the_server_as_a_reset(serve: Callable[..., int]) -> None:
    seen: list[BaseException | bytes] = []
    done = threading.Event()

    def record(conn: socket.socket) -> None:
        try:
            seen.append(conn.recv(16))
            seen.append(conn.recv(16))
        except OSError as exc:
            seen.append(exc)
        done.set()

    port = serve(record)
    with running_relay("127.0.0.1", port, one_way_ms=ONE_WAY_MS) as relay:
        sock = connect(relay.port)
        sock.sendall(b"hello")
        time.sleep(RTT)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
        assert done.wait(5)
    assert seen[0] == b"hello"
    assert isinstance(seen[1], ConnectionResetError), seen


def test_half_close_travels_both_ways(serve: Callable[..., int]) -> None:
    def answer_after_eof(conn: socket.socket) -> None:
        received = b""
        while data := conn.recv(65536):
            received += data
        conn.sendall(b"got %d bytes" % len(received))
        conn.shutdown(socket.SHUT_WR)

    port = serve(answer_after_eof)
    with running_relay("127.0.0.1", port, one_way_ms=ONE_WAY_MS) as relay, connect(relay.port) as sock:
        sock.sendall(b"a" * 1000)
        sock.shutdown(socket.SHUT_WR)  # the server answers only once it saw our FIN
        reply = b""
        while data := sock.recv(65536):
            reply += data
    assert reply == b"got 1000 bytes"


def test_jitter_never_reorders(serve: Callable[..., int]) -> None:
    port = serve(echo)
    payload = b"".join(b"%05d," % i for i in range(400))
    with (
        running_relay("127.0.0.1", port, one_way_ms=5, jitter_ms=5, seed=1) as relay,
        connect(relay.port) as sock,
    ):
        for i in range(0, len(payload), 60):
            sock.sendall(payload[i : i + 60])
            time.sleep(0.001)
        sock.shutdown(socket.SHUT_WR)
        received = b""
        while data := sock.recv(65536):
            received += data
    assert received == payload


def test_refused_target_comes_back_as_a_reset() -> None:
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))  # bound, never listening: SYN gets RST
    port = holder.getsockname()[1]
    try:
        with running_relay("127.0.0.1", port, one_way_ms=ONE_WAY_MS) as relay, connect(relay.port) as sock:
            start = time.monotonic()
            with pytest.raises(ConnectionResetError):
                sock.recv(16)
            assert time.monotonic() - start >= RTT * 0.98
    finally:
        holder.close()


def test_buffers_are_bounded_when_the_server_does_not_read(serve: Callable[..., int]) -> None:
    stop = threading.Event()
    port = serve(lambda conn: stop.wait(10))
    limit = 64 * 1024 * 1024
    try:
        with (
            running_relay("127.0.0.1", port, one_way_ms=1, max_buffer=65536) as relay,
            connect(relay.port) as sock,
        ):
            sock.setblocking(False)
            sent = 0
            chunk = b"x" * 65536
            deadline = time.monotonic() + 5
            idle_since = time.monotonic()
            while sent < limit and time.monotonic() < deadline and time.monotonic() - idle_since < 0.5:
                try:
                    sent += sock.send(chunk)
                    idle_since = time.monotonic()
                except BlockingIOError:
                    time.sleep(0.01)
    finally:
        stop.set()
    # Kernel buffers on both hops plus the relay's 64 KiB; far below what an unbounded relay would swallow.
    assert 0 < sent < limit // 2, sent


def test_async_context_manager_counts_and_stops(serve: Callable[..., int]) -> None:
    port = serve(echo)

    async def main() -> tuple[int, bytes]:
        async with DelayRelay("127.0.0.1", port, one_way_ms=10) as relay:
            reader, writer = await asyncio.open_connection("127.0.0.1", relay.port)
            writer.write(b"hi")
            data = await reader.readexactly(2)
            writer.close()
            await writer.wait_closed()
            listening_port = relay.port
        # Stopped: nothing listens there any more.
        with pytest.raises(OSError):
            await asyncio.open_connection("127.0.0.1", listening_port)
        return relay.accepted, data

    accepted, data = asyncio.run(main())
    assert (accepted, data) == (1, b"hi")


def test_command_line_prints_its_port_and_relays(serve: Callable[..., int]) -> None:
    port = serve(echo)
    command = [sys.executable, "-m", "tlsdoctor.testing.delay", "--listen", "127.0.0.1:0"]
    command += ["--to", f"127.0.0.1:{port}", "--one-way-ms", str(ONE_WAY_MS)]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout is not None
            relay_port = int(proc.stdout.readline())
            with connect(relay_port) as sock:
                start = time.monotonic()
                sock.sendall(b"ping")
                assert sock.recv(16) == b"ping"
                assert time.monotonic() - start >= RTT * 0.98
            os.kill(proc.pid, signal.SIGTERM)
            assert proc.wait(10) == 0
        finally:
            if proc.poll() is None:
                proc.kill()


@pytest.mark.parametrize(
    "args",
    [["--to", "nowhere", "--one-way-ms", "5"], ["--to", "127.0.0.1:1", "--one-way-ms", "-5"]],
)
def test_command_line_rejects_bad_input(args: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tlsdoctor.testing.delay", *args], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
