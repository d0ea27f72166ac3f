"""Each hostile server (tlsdoctor.testing.hostile) does what its docstring says, seen with a raw socket and
hand-made hellos, byte by byte: no tlsdoctor codec on the client side, so a codec bug cannot hide here."""

from __future__ import annotations

import os
import socket
import ssl
import time
from collections.abc import Iterator

import pytest
from cryptography import x509

from tlsdoctor.testing.base import FaultServer
from tlsdoctor.testing.hostile import GARBAGE, HOSTILE, SlowHandshakeServer, start_hostile

HRR_RANDOM = bytes.fromhex("cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c")
X25519, SECP256R1 = 0x001D, 0x0017


def ext(ext_type: int, body: bytes) -> bytes:
    return ext_type.to_bytes(2, "big") + len(body).to_bytes(2, "big") + body


def u16s(values: tuple[int, ...], prefix: int = 2) -> bytes:
    data = b"".join(v.to_bytes(2, "big") for v in values)
    return len(data).to_bytes(prefix, "big") + data


def client_hello(
    suites: tuple[int, ...],
    *,
    versions: tuple[int, ...] = (),
    groups: tuple[int, ...] = (X25519, SECP256R1),
    shares: tuple[int, ...] = (X25519,),
    legacy: int = 0x0303,
) -> bytes:
    """A ClientHello record by hand (RFC 8446 4.1.2): suites, supported_groups, and when `versions` is given
    supported_versions and key_share (32 bytes per share, enough for these servers)."""
    extensions = ext(0x000A, u16s(groups)) + ext(0x000D, u16s((0x0403, 0x0804)))
    if versions:
        entries = b"".join(g.to_bytes(2, "big") + (32).to_bytes(2, "big") + os.urandom(32) for g in shares)
        extensions += ext(0x002B, u16s(versions, 1)) + ext(0x0033, len(entries).to_bytes(2, "big") + entries)
    body = (
        legacy.to_bytes(2, "big")
        + os.urandom(32)
        + b"\x20"
        + os.urandom(32)
        + u16s(suites)
        + b"\x01\x00"
        + len(extensions).to_bytes(2, "big")
        + extensions
    )
    message = b"\x01" + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x01" + len(message).to_bytes(2, "big") + message


def sslv2_hello(kinds: tuple[int, ...], version: int = 0x0002) -> bytes:
    challenge = os.urandom(16)
    specs = b"".join(k.to_bytes(3, "big") for k in kinds)
    body = b"\x01" + version.to_bytes(2, "big") + len(specs).to_bytes(2, "big") + b"\x00\x00"
    body += len(challenge).to_bytes(2, "big") + specs + challenge
    return (0x8000 | len(body)).to_bytes(2, "big") + body


def recv_exactly(sock: socket.socket, n: int, timeout: float = 3.0) -> bytes:
    data = b""
    deadline = time.monotonic() + timeout
    while len(data) < n:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        chunk = sock.recv(n - len(data))
        if not chunk:
            break
        data += chunk
    return data


def read_record(sock: socket.socket) -> tuple[int, bytes]:
    head = recv_exactly(sock, 5)
    assert len(head) == 5, f"short record header {head.hex()}"
    return head[0], recv_exactly(sock, int.from_bytes(head[3:5], "big"))


def handshake_messages(sock: socket.socket, count: int) -> list[tuple[int, bytes]]:
    """`count` handshake messages, each in its own record here."""
    out = []
    for _ in range(count):
        ctype, fragment = read_record(sock)
        assert ctype == 22, fragment.hex()
        assert int.from_bytes(fragment[1:4], "big") == len(fragment) - 4
        out.append((fragment[0], fragment[4:]))
    return out


def hello_fields(body: bytes) -> tuple[int, bytes, int, bytes]:
    """ServerHello: (legacy_version, random, cipher_suite, extensions block)."""
    sid_len = body[34]
    at = 35 + sid_len
    suite = int.from_bytes(body[at : at + 2], "big")
    return int.from_bytes(body[:2], "big"), body[2:34], suite, body[at + 3 :]


def at_eof(sock: socket.socket, timeout: float = 3.0) -> bool:
    sock.settimeout(timeout)
    data = b""
    while chunk := sock.recv(4096):
        data += chunk
        assert len(data) < 1 << 20
    return True


def stays_silent(sock: socket.socket, seconds: float) -> bool:
    sock.settimeout(seconds)
    try:
        return sock.recv(1) == b"x"  # neither data nor EOF may come
    except TimeoutError:
        return True


@pytest.fixture
def server(request: pytest.FixtureRequest) -> Iterator[FaultServer]:
    with start_hostile(request.param) as srv:
        yield srv
    assert srv.unexpected == []


def at(name: str) -> pytest.MarkDecorator:
    return pytest.mark.parametrize("server", [name], indirect=True)


def connect(server: FaultServer) -> socket.socket:
    return socket.create_connection(server.address, timeout=3.0)


@at("unknown-alert")
def test_unknown_alert(server: FaultServer) -> None:
    with connect(server) as sock:
        sock.sendall(client_hello((0xC02F,)))
        assert read_record(sock) == (21, b"\x02\xee")
        assert at_eof(sock)


@at("unoffered-suite")
def test_unoffered_suite_tls12(server: FaultServer) -> None:
    offered = (0xC02F, 0xC030, 0x009C)
    with connect(server) as sock:
        sock.sendall(client_hello(offered))
        (t1, sh), (t2, done) = handshake_messages(sock, 2)
        version, _, suite, _ = hello_fields(sh)
        assert (t1, version, t2, done) == (2, 0x0303, 14, b"")
        assert suite not in offered


@at("unoffered-suite")
def test_unoffered_suite_tls13(server: FaultServer) -> None:
    offered = (0x1301, 0x1303)
    with connect(server) as sock:
        sock.sendall(client_hello(offered, versions=(0x0304,)))
        ((msg_type, sh),) = handshake_messages(sock, 1)
        _, random, suite, extensions = hello_fields(sh)
        assert msg_type == 2 and random != HRR_RANDOM
        assert ext(0x002B, b"\x03\x04") in extensions  # it claims TLS 1.3
        assert suite not in offered and suite >> 8 == 0x13


@at("hrr-loop")
def test_hrr_answered_by_hrr(server: FaultServer) -> None:
    with connect(server) as sock:
        sock.sendall(client_hello((0x1301,), versions=(0x0304,), shares=(X25519,)))
        ((_, hrr),) = handshake_messages(sock, 1)
        _, random, suite, extensions = hello_fields(hrr)
        assert (random, suite) == (HRR_RANDOM, 0x1301)
        assert ext(0x0033, SECP256R1.to_bytes(2, "big")) in extensions  # asks for the group without a share
        sock.sendall(client_hello((0x1301,), versions=(0x0304,), shares=(SECP256R1,)))
        ((_, again),) = handshake_messages(sock, 1)
        assert hello_fields(again)[1] == HRR_RANDOM


@at("hrr-loop")
def test_hrr_loop_refuses_tls12(server: FaultServer) -> None:
    with connect(server) as sock:
        sock.sendall(client_hello((0xC02F,)))
        assert read_record(sock) == (21, b"\x02\x46")


@at("huge-server-hello")
def test_huge_server_hello_trickles(server: FaultServer) -> None:
    with connect(server) as sock:
        sock.sendall(client_hello((0xC02F,)))
        head = recv_exactly(sock, 9)
        assert head == bytes.fromhex("160303400002ffffff")
        sock.settimeout(1.0)
        got = b""
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            try:
                got += sock.recv(65536)
            except TimeoutError:
                break
        assert 0 < len(got) < 1024  # the claimed 16 MB never come, only a trickle


@at("junk-certificate")
def test_junk_certificate(server: FaultServer) -> None:
    offered = (0x1301, 0xC02F, 0x009C)
    with connect(server) as sock:
        sock.sendall(client_hello(offered, versions=(0x0304, 0x0303)))
        (t1, sh), (t2, cert), (t3, done) = handshake_messages(sock, 3)
        version, _, suite, _ = hello_fields(sh)
        assert (t1, t2, t3, done, version, suite) == (2, 11, 14, b"", 0x0303, 0xC02F)
        junk = b"\x30\x82\x01\x00this is not a certificate"
        assert cert == (len(junk) + 3).to_bytes(3, "big") + len(junk).to_bytes(3, "big") + junk
        with pytest.raises(ValueError):
            x509.load_der_x509_certificate(junk)


@at("sslv2-only")
@pytest.mark.parametrize("version", [0x0002, 0x0301])
def test_sslv2_server_hello(server: FaultServer, version: int) -> None:
    with connect(server) as sock:
        sock.sendall(sslv2_hello((0x0700C0, 0x030080), version))
        head = recv_exactly(sock, 2)
        assert head[0] & 0x80
        body = recv_exactly(sock, ((head[0] & 0x7F) << 8) | head[1])
        assert body[:5] == b"\x04\x00\x01\x00\x02"  # SERVER-HELLO, no hit, X.509, SSL 2.0
        cert_len, specs_len = int.from_bytes(body[5:7], "big"), int.from_bytes(body[7:9], "big")
        cert = x509.load_der_x509_certificate(body[11 : 11 + cert_len])
        assert "CN=localhost" in cert.subject.rfc4514_string()
        assert body[11 + cert_len : 11 + cert_len + specs_len] == b"\x07\x00\xc0"  # the one kind in common


@at("sslv2-only")
def test_sslv2_only_closes_on_tls(server: FaultServer) -> None:
    with connect(server) as sock:
        sock.sendall(client_hello((0xC02F,)))
        sock.settimeout(3.0)
        assert sock.recv(100) == b""


@at("sslv2-only")
def test_sslv2_no_common_kind(server: FaultServer) -> None:
    with connect(server) as sock:
        sock.sendall(sslv2_hello((0x060040,)))
        assert recv_exactly(sock, 5) == b"\x80\x03\x00\x00\x01"


@at("choose-then-silent")
def test_choose_then_silent(server: FaultServer) -> None:
    with connect(server) as sock:
        sock.sendall(client_hello((0xC02F, 0xC030)))
        ((msg_type, sh),) = handshake_messages(sock, 1)
        assert msg_type == 2 and hello_fields(sh)[2] == 0xC02F
        assert stays_silent(sock, 1.0)


@at("alert-then-garbage")
def test_alert_then_garbage(server: FaultServer) -> None:
    with connect(server) as sock:
        sock.sendall(client_hello((0xC02F,)))
        assert read_record(sock) == (21, b"\x02\x28")
        assert recv_exactly(sock, len(GARBAGE)) == GARBAGE
        assert at_eof(sock)


@at("handshake-then-silent")
def test_handshake_then_silent(server: FaultServer) -> None:
    ctx = ssl.create_default_context(cafile=str(server.ca_file))
    with connect(server) as sock, ctx.wrap_socket(sock, server_hostname="localhost") as tls:
        assert tls.version() in ("TLSv1.2", "TLSv1.3")
        tls.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        assert stays_silent(tls, 1.0)


def test_slow_handshake_waits_then_works() -> None:
    with SlowHandshakeServer(delay=0.6) as srv:
        ctx = ssl.create_default_context(cafile=str(srv.ca_file))
        start = time.monotonic()
        with connect(srv) as sock, ctx.wrap_socket(sock, server_hostname="localhost") as tls:
            elapsed = time.monotonic() - start
            assert tls.version() is not None
        assert 0.6 <= elapsed < 3.0
    assert srv.unexpected == []


def test_every_hostile_server_is_tested() -> None:
    tested = {"unknown-alert", "unoffered-suite", "hrr-loop", "huge-server-hello", "junk-certificate"}
    tested |= {"sslv2-only", "choose-then-silent", "alert-then-garbage", "handshake-then-silent"}
    assert set(HOSTILE) == tested | {"slow-handshake"}
