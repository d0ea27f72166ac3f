"""Servers that break TLS itself, the way broken or malicious servers do: unknown alerts, suites nobody
offered, HelloRetryRequest loops, 16 MB length fields, junk certificates, SSLv2 only, silence after the
ServerHello or after the handshake, garbage after an alert, and slow handshakes.

A diagnosis tool is pointed at such servers by design; these make the cases reproducible on loopback.
Messages are built with the `wire/` codec where a well-formed message is wanted (ServerHello, HRR,
Certificate framing, alerts; see hostile_hello.py) and by hand where the point is a message the codec
would refuse to build (a 16 MB length, an SSLv2 SERVER-HELLO). Each server is checked with a raw
socket and hand-made hellos by tests/local/test_hostile_servers.py.
"""

from __future__ import annotations

import os
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass

from tlsdoctor.testing.base import FaultServer, close_gracefully
from tlsdoctor.testing.certs import shared_pki
from tlsdoctor.testing.hostile_hello import (
    FirstHello,
    best_version,
    handshake_records,
    hello_retry,
    offered_suite,
    offered_versions,
    read_first_hello,
    server_hello,
    shares,
    unoffered_suite,
)
from tlsdoctor.testing.tlsservers import TlsServer
from tlsdoctor.wire.codepoints import (
    AlertDescription,
    ContentType,
    HandshakeType,
    NamedGroup,
    ProtocolVersion,
    is_grease,
)
from tlsdoctor.wire.handshake import ClientHello
from tlsdoctor.wire.records import build_alert
from tlsdoctor.wire.server_messages import CertificateMessage, encode_certificate

V = ProtocolVersion
SSL2_SERVER_KINDS = (0x0700C0, 0x010080, 0x020080)  # DES-CBC3-MD5, RC4-128-MD5, RC4-128-EXPORT40-MD5


# -- the servers ----------------------------------------------------------------------------------------


class HostileServer(FaultServer):
    """Reads the first hello, then `answer`s it. A hello that is not TLS (or none) is closed on."""

    def handle(self, conn: socket.socket) -> None:
        first = read_first_hello(conn, self.io_timeout)
        if first.is_sslv2:
            self.answer_sslv2(conn, first)
        elif first.tls is not None:
            self.answer(conn, first.tls)
        else:
            self.note(f"not a ClientHello: {first.raw[:16].hex()}")
            close_gracefully(conn)

    def answer(self, conn: socket.socket, hello: ClientHello) -> None:
        raise NotImplementedError

    def answer_sslv2(self, conn: socket.socket, first: FirstHello) -> None:
        """A TLS server that sees an SSLv2-format hello without TLS versions in it: close, as OpenSSL does."""
        close_gracefully(conn)

    def refuse(self, conn: socket.socket, description: int = AlertDescription.PROTOCOL_VERSION) -> None:
        conn.sendall(build_alert(description))
        close_gracefully(conn)


class UnknownAlertServer(HostileServer):
    """Answers every ClientHello with a fatal alert whose description no RFC assigns (default 0xEE = 238).

    An open enum is needed to even print it; a client that maps alerts through a closed table crashes or
    says "unknown" and blames itself."""

    def __init__(self, *, description: int = 0xEE, servername: str = "localhost") -> None:
        super().__init__(servername=servername)
        self.description = description

    def answer(self, conn: socket.socket, hello: ClientHello) -> None:
        self.refuse(conn, self.description)


class UnofferedSuiteServer(HostileServer):
    """A well-formed ServerHello (the client's highest version) with a suite the client never offered,
    then ServerHelloDone below TLS 1.3, then it waits for the client to give up (RFC 8446 4.1.3 and RFC
    5246 7.4.1.3 oblige the client to abort with illegal_parameter)."""

    def answer(self, conn: socket.socket, hello: ClientHello) -> None:
        version = best_version(hello, (V.SSL3, V.TLS1_0, V.TLS1_1, V.TLS1_2, V.TLS1_3))
        if version is None:
            return self.refuse(conn)
        suite = unoffered_suite(hello, version)
        self.note(f"chose unoffered suite 0x{suite:04x} at {version}")
        flight = server_hello(hello, version, suite)
        if version < V.TLS1_3:
            flight += handshake_records(version, HandshakeType.SERVER_HELLO_DONE, b"")
        conn.sendall(flight)
        self.hold(conn, seconds=30.0)


class HrrLoopServer(HostileServer):
    """TLS 1.3 only; answers every ClientHello with a HelloRetryRequest, the second one too (RFC 8446 4.1.4:
    a client MUST abort on a second HRR), up to `rounds` per connection. It asks for a group the client
    listed in supported_groups without a share if there is one (so a client does retry), else the first
    listed group. Clients that offer no TLS 1.3 get a protocol_version alert."""

    rounds = 8

    def answer(self, conn: socket.socket, hello: ClientHello) -> None:
        for turn in range(self.rounds):
            if V.TLS1_3 not in offered_versions(hello):
                return self.refuse(conn)
            shared = {e.group for e in shares(hello)}
            groups = [g for g in hello.supported_groups if not is_grease(g)] or [NamedGroup.X25519]
            group = next((g for g in groups if g not in shared), groups[0])
            suite = offered_suite(hello, V.TLS1_3) or 0x1301
            conn.sendall(hello_retry(hello, group, suite))
            self.note(f"HRR {turn + 1} for group 0x{int(group):04x}")
            again = read_first_hello(conn, self.io_timeout)
            if again.tls is None:
                return close_gracefully(conn)
            hello = again.tls
        close_gracefully(conn)


class HugeServerHelloServer(HostileServer):
    """Reads the ClientHello, then sends a ServerHello whose handshake header claims 16 MiB - 1 (uint24,
    RFC 8446 4) in a 16 KB record (or, `record_length`, a record header claiming up to 64 KB: the 16-bit
    field allows no more), starts a plausible body, and trickles `trickle` zero bytes every `interval`
    seconds for up to `seconds`: a client that trusts the length waits forever or allocates 16 MB."""

    seconds = 600.0
    trickle = 16
    interval = 0.2

    def __init__(self, *, record_length: int = 0x4000, servername: str = "localhost") -> None:
        super().__init__(servername=servername)
        self.record_length = record_length

    def answer(self, conn: socket.socket, hello: ClientHello) -> None:
        head = bytes([ContentType.HANDSHAKE, 3, 3]) + self.record_length.to_bytes(2, "big")
        body_start = b"\x02\xff\xff\xff" + V.TLS1_2.to_bytes(2, "big") + os.urandom(32)
        conn.sendall(head + body_start)
        deadline = time.monotonic() + self.seconds
        while time.monotonic() < deadline and self.sleep(self.interval):
            conn.sendall(bytes(self.trickle))


class JunkCertificateServer(HostileServer):
    """TLS 1.2: a valid ServerHello with an offered certificate-authenticated suite, then a Certificate
    message that is well framed (RFC 5246 7.4.2) but holds `junk` instead of DER, then ServerHelloDone.
    Clients that offer no TLS 1.2 get a protocol_version alert."""

    def __init__(
        self, *, junk: bytes = b"\x30\x82\x01\x00this is not a certificate", servername: str = "localhost"
    ) -> None:
        super().__init__(servername=servername)
        self.junk = junk

    def answer(self, conn: socket.socket, hello: ClientHello) -> None:
        suite = offered_suite(hello, V.TLS1_2, certificate=True)
        if V.TLS1_2 not in offered_versions(hello):
            return self.refuse(conn)
        if suite is None:
            return self.refuse(conn, AlertDescription.HANDSHAKE_FAILURE)
        certificate = encode_certificate(CertificateMessage((self.junk,)))
        conn.sendall(
            server_hello(hello, V.TLS1_2, suite)
            + handshake_records(V.TLS1_2, HandshakeType.CERTIFICATE, certificate)
            + handshake_records(V.TLS1_2, HandshakeType.SERVER_HELLO_DONE, b"")
        )
        self.hold(conn, seconds=30.0)


class SSLv2OnlyServer(HostileServer):
    """Speaks SSL 2.0 only (RFC 6176 prohibits it): an SSLv2-format CLIENT-HELLO, whatever version it
    names (a v2-compatible TLS hello too), gets an SSLv2 SERVER-HELLO with a real certificate and the
    cipher kinds both sides list, or an SSLv2 NO-CIPHER error; a TLS ClientHello gets a close (FIN) and no
    alert, as a server that cannot parse it does."""

    def setup(self) -> None:
        pki = shared_pki()
        files = pki.issue(f"{self.name}-{self.port}")
        from cryptography.hazmat.primitives.serialization import Encoding

        self.ca_file = pki.ca_file
        self.certificate = files.leaf.public_bytes(Encoding.DER)

    def answer(self, conn: socket.socket, hello: ClientHello) -> None:
        self.note(f"TLS ClientHello {hello.legacy_version}: closed")
        close_gracefully(conn)

    def answer_sslv2(self, conn: socket.socket, first: FirstHello) -> None:
        kinds = [k for k in first.sslv2_kinds if k in SSL2_SERVER_KINDS]
        if not kinds:
            conn.sendall(b"\x80\x03\x00\x00\x01")  # ERROR, SSL_PE_NO_CIPHER
            return close_gracefully(conn)
        specs = b"".join(k.to_bytes(3, "big") for k in kinds)
        connection_id = os.urandom(16)
        body = (
            bytes([4, 0, 1])  # SERVER-HELLO, session-id-hit 0, certificate-type X.509
            + (2).to_bytes(2, "big")  # server-version: SSL 2.0
            + len(self.certificate).to_bytes(2, "big")
            + len(specs).to_bytes(2, "big")
            + len(connection_id).to_bytes(2, "big")
            + self.certificate
            + specs
            + connection_id
        )
        conn.sendall((0x8000 | len(body)).to_bytes(2, "big") + body)
        self.hold(conn, seconds=30.0)


class ChooseThenSilentServer(HostileServer):
    """A valid ServerHello (the client's highest version, its first suite for that version), then nothing:
    the connection stays open, silent, until the client leaves. A client that waits per suite for the rest
    of the flight waits one timeout per suite."""

    def answer(self, conn: socket.socket, hello: ClientHello) -> None:
        version = best_version(hello, (V.TLS1_0, V.TLS1_1, V.TLS1_2, V.TLS1_3))
        suite = offered_suite(hello, version) if version is not None else None
        if version is None or suite is None:
            return self.refuse(conn, AlertDescription.HANDSHAKE_FAILURE)
        conn.sendall(server_hello(hello, version, suite))
        self.hold(conn)


GARBAGE = b"\x00\xff\x1b[2Jgarbage after the alert\r\n" * 16


class AlertThenGarbageServer(HostileServer):
    """A fatal handshake_failure alert, then `garbage` (not TLS, with a terminal escape in it), then FIN.
    What follows a fatal alert must be ignored (RFC 8446 6.2); a reader that goes on parsing chokes."""

    def __init__(
        self,
        *,
        garbage: bytes = b"\x00\xff\x1b[2Jgarbage after the alert\r\n" * 16,
        servername: str = "localhost",
    ) -> None:
        super().__init__(servername=servername)
        self.garbage = garbage

    def answer(self, conn: socket.socket, hello: ClientHello) -> None:
        conn.sendall(build_alert(AlertDescription.HANDSHAKE_FAILURE) + self.garbage)
        close_gracefully(conn)


class HandshakeThenSilentServer(TlsServer):
    """Completes a real TLS handshake (stdlib `ssl`, a valid chain from the shared PKI), then never sends
    a byte: requests are read and ignored until the client leaves."""

    def after_handshake(self, tls: ssl.SSLSocket) -> None:
        self.hold(tls)


class SlowHandshakeServer(TlsServer):
    """A healthy TLS server that waits `delay` seconds after the ClientHello arrives before answering it,
    on every connection: a handshake just under a client's timeout (1.9 s against 2 s)."""

    def __init__(self, *, delay: float = 1.9, servername: str = "localhost") -> None:
        super().__init__(servername=servername)
        self.delay = delay

    def handle(self, conn: socket.socket) -> None:
        if not conn.recv(1, socket.MSG_PEEK) or not self.sleep(self.delay):
            return
        super().handle(conn)


@dataclass(frozen=True)
class HostileSpec:
    factory: Callable[[], FaultServer]
    description: str


HOSTILE: dict[str, HostileSpec] = {
    "unknown-alert": HostileSpec(UnknownAlertServer, "fatal alert 238 (unassigned) to every ClientHello"),
    "unoffered-suite": HostileSpec(UnofferedSuiteServer, "ServerHello with a suite the client never offered"),
    "hrr-loop": HostileSpec(HrrLoopServer, "TLS 1.3 HelloRetryRequest, answered again by HelloRetryRequest"),
    "huge-server-hello": HostileSpec(
        HugeServerHelloServer, "after the ClientHello: a ServerHello claiming 16 MiB, then a trickle"
    ),
    "junk-certificate": HostileSpec(
        JunkCertificateServer, "TLS 1.2 ServerHello, then a Certificate holding junk instead of DER"
    ),
    "sslv2-only": HostileSpec(SSLv2OnlyServer, "SSL 2.0 only: SSLv2 SERVER-HELLO, FIN to TLS hellos"),
    "choose-then-silent": HostileSpec(ChooseThenSilentServer, "a valid ServerHello, then silence"),
    "alert-then-garbage": HostileSpec(AlertThenGarbageServer, "fatal alert, then non-TLS bytes with ESC[2J"),
    "handshake-then-silent": HostileSpec(HandshakeThenSilentServer, "a full TLS handshake, then silence"),
    "slow-handshake": HostileSpec(SlowHandshakeServer, "healthy, but every handshake waits 1.9 s"),
}


def start_hostile(name: str) -> FaultServer:
    """Make and start the hostile server `name` (a key of HOSTILE); the caller must stop() it."""
    server = HOSTILE[name].factory()
    server.name = name
    return server.start()
