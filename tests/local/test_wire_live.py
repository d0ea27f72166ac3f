"""A hello from build_client_hello(MODERN) over a real socket to Python's ssl server on
127.0.0.1, answered by a ServerHello that ClientConversation parses."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import replace

import pytest
import trustme

from tlsdoctor.wire.codepoints import ProtocolVersion
from tlsdoctor.wire.conversation import (
    DONE,
    NEED_DATA,
    ClientConversation,
    EncryptedEvent,
    Event,
    ServerHelloEvent,
)
from tlsdoctor.wire.hello import HelloSpec, build_client_hello
from tlsdoctor.wire.variants import MODERN, PQ_LARGE, TLS12


@pytest.fixture(scope="module")
def tls_server() -> Iterator[int]:
    ca = trustme.CA()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("localhost").configure_cert(ctx)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(5)
                with contextlib.suppress(ssl.SSLError, OSError):  # our probe never finishes
                    ctx.wrap_socket(conn, server_side=True).close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join(timeout=5)
    listener.close()


def converse(port: int, spec: HelloSpec) -> list[Event]:
    events: list[Event] = []
    conv = ClientConversation()
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(build_client_hello(replace(spec, sni="localhost")))
        while not conv.done and len(events) < 10:
            ev = conv.next_event()
            if ev is NEED_DATA:
                conv.receive_data(sock.recv(65536))
            elif ev is not DONE:
                events.append(ev)
                if type(ev).__name__ == "ServerHelloDoneEvent":
                    break
    return events


def test_modern_hello_gets_a_tls13_server_hello(tls_server: int) -> None:
    events = converse(tls_server, MODERN)
    assert isinstance(events[0], ServerHelloEvent)
    hello = events[0].hello
    assert hello.selected_version == ProtocolVersion.TLS1_3 and hello.key_share_group is not None
    assert (
        hello.cipher_suite.info is not None and hello.cipher_suite.info.min_version == ProtocolVersion.TLS1_3
    )
    assert isinstance(events[-1], EncryptedEvent)


def test_pq_large_hello_is_accepted(tls_server: int) -> None:
    events = converse(tls_server, PQ_LARGE)
    assert isinstance(events[0], ServerHelloEvent)
    assert events[0].hello.selected_version == ProtocolVersion.TLS1_3


def test_tls12_hello_gets_the_full_flight(tls_server: int) -> None:
    names = [type(e).__name__ for e in converse(tls_server, TLS12)]
    assert names == [
        "ServerHelloEvent",
        "CertificatesEvent",
        "ServerKeyExchangeEvent",
        "ServerHelloDoneEvent",
    ]
