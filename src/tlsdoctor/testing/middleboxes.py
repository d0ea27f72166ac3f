"""Emulated middleboxes and an overloaded server: endpoints whose answer depends on what the ClientHello looks
like or on how many connections are open, in front of (or around) a healthy TLS server."""

from __future__ import annotations

import selectors
import socket
import time

from tlsdoctor.testing.base import FaultServer, abort, recv_first_record
from tlsdoctor.testing.certs import LeafSpec, Pki
from tlsdoctor.testing.clienthello import client_hello_sni, record_length
from tlsdoctor.testing.tcpfaults import INJECTED_TTL
from tlsdoctor.testing.tlsservers import TlsServer


class RelayServer(FaultServer):
    """Inspects the first record of each connection, then resets it or relays it to an inner healthy TLS
    server (which lives and dies with this one). Subclasses decide in `verdict()`."""

    def __init__(self, *, servername: str = "localhost", sans: tuple[str, ...] = (), pki: Pki | None = None):
        super().__init__(servername=servername)
        leaf = LeafSpec(sans=(*sans, "localhost", "127.0.0.1"))
        self.inner = TlsServer(leaf=leaf, pki=pki)

    def setup(self) -> None:
        self.inner.name = f"{self.name}-inner"
        self.inner.start()
        self.ca_file = self.inner.ca_file

    def teardown(self) -> None:
        self.inner.stop()

    def verdict(self, first: bytes, reads: int) -> str | None:
        """Why to reset this connection, or None to let it through."""
        raise NotImplementedError

    def handle(self, conn: socket.socket) -> None:
        first, reads = self.read_first(conn)
        reason = self.verdict(first, reads)
        if reason is not None:
            self.note(f"reset: {reason}")
            abort(conn, ttl=INJECTED_TTL)
            return
        self.relay(conn, first)

    def read_first(self, conn: socket.socket) -> tuple[bytes, int]:
        return recv_first_record(conn, self.io_timeout)

    def relay(self, conn: socket.socket, first: bytes, idle: float = 10.0) -> None:
        """Copy bytes both ways until both sides are done, `idle` seconds pass quietly, or stop()."""
        upstream = socket.create_connection(self.inner.address, timeout=self.io_timeout)
        self.track(upstream)
        upstream.sendall(first)
        peers = {conn: upstream, upstream: conn}
        with selectors.DefaultSelector() as selector:
            for sock in peers:
                selector.register(sock, selectors.EVENT_READ)
            quiet_since = time.monotonic()
            for _ in range(1 << 16):
                if not peers or self.stopping.is_set() or time.monotonic() - quiet_since > idle:
                    return
                for key, _events in selector.select(timeout=0.2):
                    source: socket.socket = key.fileobj  # type: ignore[assignment]
                    data = source.recv(65536)
                    quiet_since = time.monotonic()
                    if data:
                        peers[source].sendall(data)
                        continue
                    selector.unregister(source)  # EOF: pass the half-close on
                    peers[source].shutdown(socket.SHUT_WR)
                    del peers[source]


class SniFilterServer(RelayServer):
    """A DPI box: resets ClientHellos whose SNI is in `blocked`, relays the rest to a healthy server whose
    certificate is valid for the blocked names too (so only the filter is at fault)."""

    blocked = frozenset({"blocked.test"})

    def __init__(self, *, pki: Pki | None = None) -> None:
        super().__init__(servername="blocked.test", sans=("blocked.test", "allowed.test"), pki=pki)

    def verdict(self, first: bytes, reads: int) -> str | None:
        sni = client_hello_sni(first)
        return f"SNI {sni!r} is blocked" if sni in self.blocked else None


class LargeHelloResetServer(RelayServer):
    """A middlebox that cannot cope with big ClientHellos: resets when the first record's body is over
    `limit` bytes or did not arrive in one read within the first second; small hellos pass.

    Python's default hello is padded (RFC 7685) to exactly 512 bytes of body, so it passes; a post-quantum
    key share (~1.2 KB) does not.
    """

    limit = 512
    window = 1.0

    def read_first(self, conn: socket.socket) -> tuple[bytes, int]:
        """One read only: a box that inspects the first segment and cannot reassemble."""
        conn.settimeout(self.window)
        try:
            return conn.recv(65536), 1
        except TimeoutError:
            return b"", 0

    def verdict(self, first: bytes, reads: int) -> str | None:
        length = record_length(first)
        if length is None:
            return None  # not a TLS handshake record: not this box's business
        if length > self.limit:
            return f"first record of {length} bytes > {self.limit}"
        if len(first) < 5 + length:
            return f"first record of {length} bytes did not arrive in one read"
        return None


class OverloadedServer(TlsServer):
    """Accepts TCP at once but starts the TLS handshake `step` seconds late per open connection; with more
    than `capacity` open it never answers (holds the connection until the client gives up)."""

    max_connections = 64
    step = 0.25
    capacity = 3

    def handle(self, conn: socket.socket) -> None:
        active = self.active
        if active > self.capacity:
            self.note(f"overloaded: {active} connections")
            self.hold(conn, seconds=60.0)
            return
        if self.sleep(self.step * active):
            super().handle(conn)
