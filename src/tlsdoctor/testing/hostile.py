"""Servers that break TLS itself, the way broken or malicious servers do: unknown alerts, suites nobody
offered, HelloRetryRequest loops, 16 MB length fields, junk certificates, SSLv2 only, silence after the
ServerHello or after the handshake, garbage after an alert, and slow handshakes.

A diagnosis tool is pointed at such servers by design; these make the cases reproducible on loopback.
Messages are built with the `wire/` codec where a well-formed message is wanted (ServerHello, HRR,
Certificate framing, alerts) and by hand where the point is a message the codec would refuse to build (a
16 MB length, an SSLv2 SERVER-HELLO). The client's hello is read with `wire/` too: what these servers
decide from it (which suites were offered, which version is highest) is checked by their own tests with
hand-made hellos (tests/local/test_hostile_servers.py), so a codec bug cannot hide behind them.
"""

from __future__ import annotations

import itertools
import os
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass

from tlsdoctor.testing.base import FaultServer, close_gracefully
from tlsdoctor.testing.certs import shared_pki
from tlsdoctor.testing.tlsservers import TlsServer
from tlsdoctor.wire.codepoints import (
    AlertDescription,
    CompressionMethod,
    ContentType,
    HandshakeType,
    NamedGroup,
    ProtocolVersion,
    is_grease,
)
from tlsdoctor.wire.extensions import (
    Extension,
    KeyShareClient,
    KeyShareEntry,
    KeyShareHRR,
    KeyShareServer,
    RenegotiationInfo,
    SupportedVersionsServer,
)
from tlsdoctor.wire.handshake import (
    HRR_RANDOM,
    ClientHello,
    HandshakeReassembler,
    ServerHello,
    build_handshake,
    encode_server_hello,
    parse_client_hello,
)
from tlsdoctor.wire.reader import DecodeError
from tlsdoctor.wire.records import RecordBuffer, build_alert, build_records
from tlsdoctor.wire.registry import CipherSuite, suite_info
from tlsdoctor.wire.server_messages import CertificateMessage, encode_certificate

V = ProtocolVersion
_HELLO_CAP = 64 << 10  # a ClientHello with a post-quantum share is ~2 KB; 64 KB is plenty
SSL2_SERVER_KINDS = (0x0700C0, 0x010080, 0x020080)  # DES-CBC3-MD5, RC4-128-MD5, RC4-128-EXPORT40-MD5


@dataclass(frozen=True)
class FirstHello:
    """What the client opened with: a TLS ClientHello (`tls`), an SSLv2-format CLIENT-HELLO (`sslv2_kinds`,
    the 3-byte cipher kinds it lists, and `sslv2_version`), or neither (`raw` holds what came)."""

    raw: bytes
    tls: ClientHello | None = None
    sslv2_kinds: tuple[int, ...] = ()
    sslv2_version: int | None = None

    @property
    def is_sslv2(self) -> bool:
        return self.sslv2_version is not None


def read_first_hello(conn: socket.socket, timeout: float) -> FirstHello:
    """Read one ClientHello (over as many records as it takes) or one SSLv2 CLIENT-HELLO, within `timeout`
    and `_HELLO_CAP` bytes. Anything else comes back as `raw` only."""
    data = b""
    deadline = time.monotonic() + timeout
    while len(data) < _HELLO_CAP:
        hello = _parse_first(data)
        if hello is not None:
            return hello
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        conn.settimeout(remaining)
        try:
            chunk = conn.recv(_HELLO_CAP - len(data))
        except TimeoutError:
            break
        if not chunk:
            break
        data += chunk
    return FirstHello(raw=data)


def _parse_first(data: bytes) -> FirstHello | None:
    """The hello in `data`; None while more bytes are needed; FirstHello(raw) when it is not a hello."""
    if not data:
        return None
    if data[0] & 0x80:
        return _parse_sslv2(data)
    records = RecordBuffer()
    records.feed(data)
    messages = HandshakeReassembler()
    try:
        while (record := records.next_record()) is not None:
            if record.content_type != ContentType.HANDSHAKE:
                return FirstHello(raw=data)
            messages.feed(record.fragment)
            message = messages.next_message()
            if message is not None:
                if message.msg_type != HandshakeType.CLIENT_HELLO:
                    return FirstHello(raw=data)
                return FirstHello(raw=data, tls=parse_client_hello(message.body))
    except DecodeError:
        return FirstHello(raw=data)
    return None


def _parse_sslv2(data: bytes) -> FirstHello | None:
    """SSLv2 CLIENT-HELLO, 2-byte header (draft-hickman-netscape-ssl-00; RFC 5246 E.2): msg_type 1,
    version, cipher_specs_length, session_id_length, challenge_length, then the cipher specs."""
    if len(data) < 2:
        return None
    length = ((data[0] & 0x7F) << 8) | data[1]
    if len(data) < 2 + length:
        return None
    body = data[2 : 2 + length]
    if len(body) < 9 or body[0] != 1:
        return FirstHello(raw=data)
    version = int.from_bytes(body[1:3], "big")
    specs_len = int.from_bytes(body[3:5], "big")
    specs = body[9 : 9 + specs_len]
    if specs_len % 3 or len(specs) != specs_len:
        return FirstHello(raw=data)
    kinds = tuple(int.from_bytes(specs[i : i + 3], "big") for i in range(0, specs_len, 3))
    return FirstHello(raw=data, sslv2_kinds=kinds, sslv2_version=version)


# -- choosing from the client's offer ------------------------------------------------------------


def offered_versions(hello: ClientHello) -> tuple[ProtocolVersion, ...]:
    """The versions the client can speak: its supported_versions (RFC 8446 4.2.1) without GREASE, else
    everything from SSL 3.0 up to legacy_version (RFC 5246 E.1)."""
    if hello.supported_versions:
        return tuple(v for v in hello.supported_versions if not is_grease(v))
    return tuple(v for v in (V.SSL3, V.TLS1_0, V.TLS1_1, V.TLS1_2) if v <= hello.legacy_version)


def best_version(hello: ClientHello, allowed: tuple[ProtocolVersion, ...]) -> ProtocolVersion | None:
    common = set(offered_versions(hello)) & set(allowed)
    return max(common) if common else None


def offered_suite(hello: ClientHello, version: ProtocolVersion, *, certificate: bool = False) -> int | None:
    """The client's first real suite usable at `version` (with certificate authentication if asked)."""
    for suite in hello.cipher_suites:
        info = suite_info(suite)
        if info is None or is_grease(suite) or info.kx == "SCSV":
            continue
        tls13 = info.kx == "ANY"
        if tls13 != (version == V.TLS1_3) or not info.min_version <= version <= info.max_version:
            continue
        if certificate and info.auth not in ("RSA", "ECDSA"):
            continue
        return int(suite)
    return None


# Real, assigned suites a server might pick; the first the client did not offer is the one "chosen".
_UNOFFERED_CANDIDATES = (0x002F, 0x0035, 0x000A, 0xC013, 0xC02F, 0x009C, 0x0005, 0x1301, 0x1302)


def unoffered_suite(hello: ClientHello, version: ProtocolVersion) -> int:
    """A suite the client did not offer: a real one of the right kind for `version` when possible."""
    offered = {int(s) for s in hello.cipher_suites}
    wanted = [c for c in _UNOFFERED_CANDIDATES if (c >> 8 == 0x13) == (version == V.TLS1_3)]
    for code in itertools.chain(wanted, _UNOFFERED_CANDIDATES, range(0x0001, 0x10000)):
        if code not in offered:
            return code
    return 0x0000  # every code was offered: only a fuzzer sends that


def _server_share(hello: ClientHello) -> KeyShareEntry:
    """A key share for the ServerHello: the client's own bytes echoed back under its first group (right
    length for x25519 and the NIST curves; nobody will finish this handshake anyway)."""
    ext = hello.extension(0x0033)
    entries = ext.entries if isinstance(ext, KeyShareClient) else ()
    for entry in entries:
        if entry.group in (NamedGroup.X25519, NamedGroup.SECP256R1) and not is_grease(entry.group):
            return entry
    real = [e for e in entries if not is_grease(e.group)]
    return real[0] if real else KeyShareEntry(NamedGroup.X25519, os.urandom(32))


def server_hello(hello: ClientHello, version: ProtocolVersion, suite: int) -> bytes:
    """A ServerHello record answering `hello` with `version` and `suite` (RFC 8446 4.1.3, RFC 5246 7.4.1.3);
    well-formed whatever the suite."""
    extensions: tuple[Extension, ...]
    if version == V.TLS1_3:
        extensions = (SupportedVersionsServer(V.TLS1_3), KeyShareServer(_server_share(hello)))
        legacy, session_id = V.TLS1_2, hello.session_id
    else:
        extensions = (RenegotiationInfo(),)
        legacy, session_id = version, os.urandom(32)
    body = ServerHello(
        legacy, os.urandom(32), session_id, CipherSuite(suite), CompressionMethod.NULL, extensions
    )
    return handshake_records(version, HandshakeType.SERVER_HELLO, encode_server_hello(body))


def hello_retry(hello: ClientHello, group: int, suite: int) -> bytes:
    """A HelloRetryRequest (RFC 8446 4.1.4): a ServerHello with the special random, asking for `group`."""
    extensions: tuple[Extension, ...] = (SupportedVersionsServer(V.TLS1_3), KeyShareHRR(NamedGroup(group)))
    body = ServerHello(
        V.TLS1_2, HRR_RANDOM, hello.session_id, CipherSuite(suite), CompressionMethod.NULL, extensions
    )
    return handshake_records(V.TLS1_3, HandshakeType.SERVER_HELLO, encode_server_hello(body))


def handshake_records(version: ProtocolVersion, msg_type: int, body: bytes) -> bytes:
    record_version = V.TLS1_2 if version == V.TLS1_3 else version
    return build_records(ContentType.HANDSHAKE, record_version, build_handshake(msg_type, body))


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
            shares = {e.group for e in _shares(hello)}
            groups = [g for g in hello.supported_groups if not is_grease(g)] or [NamedGroup.X25519]
            group = next((g for g in groups if g not in shares), groups[0])
            suite = offered_suite(hello, V.TLS1_3) or 0x1301
            conn.sendall(hello_retry(hello, group, suite))
            self.note(f"HRR {turn + 1} for group 0x{int(group):04x}")
            again = read_first_hello(conn, self.io_timeout)
            if again.tls is None:
                return close_gracefully(conn)
            hello = again.tls
        close_gracefully(conn)


def _shares(hello: ClientHello) -> tuple[KeyShareEntry, ...]:
    ext = hello.extension(0x0033)
    return ext.entries if isinstance(ext, KeyShareClient) else ()


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
