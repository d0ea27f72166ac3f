"""FaultServer: a loopback TCP server in a daemon thread that calls one `handle(conn)` per connection.

The shape is dnspython's `tests/nanonameserver.py`: bind port 0, serve in a thread, be a context manager,
override one method. What is added is the discipline a diagnosis tool's test suite needs: every connection
gets a socket timeout, concurrency is bounded, `stop()` wakes every blocked handler by shutting its sockets
down and returns within about a second, and every socket is closed (tests run with warnings as errors, so a
leaked socket is a failure). Handler errors are expected (the peer is a probe that gives up): they are kept in
`log`; anything that is not an OSError is a bug in the server and kept in `unexpected`.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from collections import deque
from pathlib import Path
from typing import Self

HOST = "127.0.0.1"
TICK = 0.05  # how often the accept loop looks at the stop flag
STOP_BUDGET = 1.0  # seconds stop() waits for all threads


class FaultServer:
    """Base of every built-in endpoint. Subclasses override `handle`, and `setup`/`teardown` when they need
    per-port state (certificates naming the port, inner servers).

    What a client needs: `host` (always 127.0.0.1), `port`, `address`, `servername` (the name to send as SNI
    and to check the certificate against; an IP address means "send no SNI"), `ca_file` (PEM to trust, or
    None), `client_cert_file`/`client_key_file` (mTLS endpoints only). What a test needs: `expected` (cause
    id), `name`, `active` (open connections), `log` (what handlers saw), `unexpected` (server bugs; should
    stay empty).
    """

    # More than a diagnosis probes in parallel; beyond it, new connections wait in the listen backlog.
    max_connections = 32
    io_timeout = 5.0  # default timeout of every socket operation of a handler

    def __init__(self, *, servername: str = "localhost") -> None:
        self.host = HOST
        self.servername = servername  # the name a client should use for SNI and certificate checks
        self.name = type(self).__name__  # the registry name, set by start_endpoint()
        self.expected: str | None = None  # the cause id (contract/causes.md) this endpoint should produce
        self.ca_file: Path | None = None  # PEM a client should trust, None if nothing needs trusting
        self.client_cert_file: Path | None = None  # for mTLS endpoints: a certificate the server accepts
        self.client_key_file: Path | None = None
        self.stopping = threading.Event()
        self.log: deque[str] = deque(maxlen=200)
        self.unexpected: list[BaseException] = []
        self._port = 0
        self._listener: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._handlers: set[threading.Thread] = set()
        self._live: set[socket.socket] = set()
        self._local = threading.local()
        self._slots = threading.BoundedSemaphore(self.max_connections)

    # -- life cycle ------------------------------------------------------------

    @property
    def port(self) -> int:
        return self._port

    @property
    def address(self) -> tuple[str, int]:
        return (self.host, self._port)

    @property
    def active(self) -> int:
        """Connections being handled right now (the overloaded endpoint slows down with it)."""
        with self._lock:
            return len(self._handlers)

    def bind(self) -> socket.socket:
        """Make the listening socket. Overridden by the refused endpoint, which binds but never listens."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            # Accepted sockets inherit SO_REUSEADDR, so the port can be bound again right after stop() even
            # while closed connections linger in FIN_WAIT/TIME_WAIT.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, 0))
            sock.listen(64)
        except OSError:
            sock.close()
            raise
        return sock

    def setup(self) -> None:
        """Hook: runs after bind (the port is known), before the first accept."""

    def teardown(self) -> None:
        """Hook: runs at the end of stop(), after the handlers are gone."""

    def serves(self) -> bool:
        """Whether to run an accept loop at all."""
        return True

    def start(self) -> Self:
        if self._listener is not None:
            raise RuntimeError(f"{self.name} already started")
        self._listener = self.bind()
        self._port = self._listener.getsockname()[1]
        try:
            self.setup()
        except BaseException:
            self._listener.close()
            raise
        if self.serves():
            self._listener.settimeout(TICK)
            self._thread = threading.Thread(target=self._serve, name=f"{self.name}:{self._port}", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Close everything; return within about STOP_BUDGET seconds. Idempotent."""
        self.stopping.set()
        if self._listener is not None:
            _shutdown(self._listener)  # wakes accept() at once instead of at the next TICK
        with self._lock:
            live = list(self._live)
        for sock in live:
            _shutdown(sock)
        deadline = time.monotonic() + STOP_BUDGET
        if self._thread is not None:
            self._thread.join(max(0.0, deadline - time.monotonic()))
        with self._lock:
            handlers = list(self._handlers)
        for thread in handlers:
            thread.join(max(0.0, deadline - time.monotonic()))
        if self._listener is not None:
            self._listener.close()
        self.teardown()

    def __enter__(self) -> Self:
        """Starts the server unless it already runs, so `with start_endpoint(name) as server:` works."""
        return self if self._listener is not None else self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} {self.host}:{self._port} expected={self.expected}>"

    # -- serving ------------------------------------------------------------

    def _serve(self) -> None:
        listener = self._listener
        assert listener is not None
        while not self.stopping.is_set():
            if not self._slots.acquire(timeout=TICK):
                continue  # at capacity: leave new connections in the backlog
            try:
                conn, _ = listener.accept()
            except OSError:  # TimeoutError every TICK, or the listener closed
                self._slots.release()
                continue
            thread = threading.Thread(target=self._run_handler, args=(conn,), daemon=True)
            with self._lock:
                self._handlers.add(thread)
            thread.start()

    def _run_handler(self, conn: socket.socket) -> None:
        self._local.socks = []
        try:
            self.track(conn)
            conn.settimeout(self.io_timeout)
            self.handle(conn)
        except (OSError, EOFError) as exc:  # the peer went away, timed out or failed its handshake: expected
            self.note(f"{type(exc).__name__}: {exc}")
        except Exception as exc:
            self.unexpected.append(exc)
            self.note(f"BUG {type(exc).__name__}: {exc}")
        finally:
            for sock in self._local.socks:
                self.untrack(sock)
                sock.close()
            self._slots.release()
            with self._lock:
                self._handlers.discard(threading.current_thread())

    def handle(self, conn: socket.socket) -> None:
        """Serve one accepted connection. The socket has `io_timeout` set and is closed afterwards."""
        raise NotImplementedError

    # -- helpers for handlers ------------------------------------------------------------

    def track(self, sock: socket.socket) -> None:
        """Make stop() able to wake `sock`, and close it when the handler returns."""
        with self._lock:
            if self.stopping.is_set():
                _shutdown(sock)
            self._live.add(sock)
        self._local.socks.append(sock)

    def untrack(self, sock: socket.socket) -> None:
        with self._lock:
            self._live.discard(sock)

    def note(self, message: str) -> None:
        self.log.append(message)

    def sleep(self, seconds: float) -> bool:
        """Wait, but wake at stop(). Returns False if the server is stopping."""
        return not self.stopping.wait(seconds)

    def hold(self, conn: socket.socket, seconds: float = 300.0, cap: int = 1 << 20) -> None:
        """Read and discard, never answer, until the peer closes, stop(), `seconds` pass or `cap` bytes."""
        deadline = time.monotonic() + seconds
        seen = 0
        while seen < cap and not self.stopping.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            conn.settimeout(min(remaining, 1.0))
            try:
                data = conn.recv(65536)
            except TimeoutError:
                continue
            if not data:
                return
            seen += len(data)
        self.sleep(max(0.0, deadline - time.monotonic()))


def _shutdown(sock: socket.socket) -> None:
    """Wake any thread blocked on `sock`. The base-class call avoids SSLSocket.shutdown, which drops the TLS
    state under a thread that may still be using it."""
    with contextlib.suppress(OSError, ValueError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


def abort(sock: socket.socket, ttl: int | None = None) -> None:
    """Close with RST instead of FIN (SO_LINGER on, timeout 0). `ttl` sets the IP TTL of that RST, so a
    capture can see it came from "elsewhere", as an injected RST does."""
    if ttl is not None:
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, ttl)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def close_gracefully(sock: socket.socket, wait: float = 0.5) -> None:
    """FIN, then read what the peer still sends until its FIN or `wait` seconds, then close.

    Closing with unread bytes in the receive buffer makes the kernel send RST instead of FIN; this avoids it.
    """
    try:
        socket.socket.shutdown(sock, socket.SHUT_WR)
        deadline = time.monotonic() + wait
        for _ in range(64):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            sock.settimeout(remaining)
            if not socket.socket.recv(sock, 65536):
                break
    except OSError:
        pass
    finally:
        sock.close()


def recv_first_record(conn: socket.socket, timeout: float, cap: int = 1 << 16) -> tuple[bytes, int]:
    """Read until one whole TLS record (5-byte header + length, RFC 8446 5.1) is in, the peer closes, or
    `timeout` passes. Returns the bytes and how many recv() calls it took."""
    data = b""
    reads = 0
    deadline = time.monotonic() + timeout
    while len(data) < cap:
        if len(data) >= 5 and len(data) >= 5 + int.from_bytes(data[3:5], "big"):
            break
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        conn.settimeout(remaining)
        try:
            chunk = conn.recv(cap - len(data))
        except TimeoutError:
            break
        reads += 1
        if not chunk:
            break
        data += chunk
    return data, reads
