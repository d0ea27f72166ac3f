"""ClientConversation over golden server flights: fed whole, byte by byte, with trailing data."""

from __future__ import annotations

from collections.abc import Iterable

import pytest
from wire_golden import golden, sslv2_server_hello

from tlsdoctor.wire.codepoints import AlertDescription, NamedGroup, ProtocolVersion
from tlsdoctor.wire.conversation import (
    DONE,
    NEED_DATA,
    AlertEvent,
    CertificateRequestEvent,
    CertificatesEvent,
    ClientConversation,
    ClosedEvent,
    EncryptedEvent,
    Event,
    HelloRetryEvent,
    NotTlsEvent,
    ProtocolErrorEvent,
    ServerHelloDoneEvent,
    ServerHelloEvent,
    ServerKeyExchangeEvent,
    SSLv2Event,
)
from tlsdoctor.wire.records import build_records


def run(chunks: Iterable[bytes], eof: bool = True, conv: ClientConversation | None = None) -> list[Event]:
    conv = conv or ClientConversation()
    events: list[Event] = []

    def drain() -> None:
        while True:
            ev = conv.next_event()
            if ev is NEED_DATA or ev is DONE:
                return
            events.append(ev)

    for chunk in chunks:
        conv.receive_data(chunk)
        drain()
    if eof:
        conv.receive_data(b"")
        drain()
    return events


def whole(data: bytes) -> list[bytes]:
    return [data]


def bytewise(data: bytes) -> list[bytes]:
    return [data[i : i + 1] for i in range(len(data))]


def kinds(events: list[Event]) -> list[type]:
    return [type(e) for e in events]


FEEDS = [pytest.param(whole, id="whole"), pytest.param(bytewise, id="byte-by-byte")]
TLS12 = [ServerHelloEvent, CertificatesEvent, ServerKeyExchangeEvent, ServerHelloDoneEvent, ClosedEvent]


@pytest.mark.parametrize("feed", FEEDS)
def test_tls12_flight(feed: object) -> None:
    events = run(feed(golden("server_tls12_ecdhe_rsa")))  # type: ignore[operator]
    assert kinds(events) == TLS12
    sh = events[0]
    assert isinstance(sh, ServerHelloEvent) and sh.hello.cipher_suite == 0xC02F
    assert sh.record_version == ProtocolVersion.TLS1_2
    assert isinstance(events[2], ServerKeyExchangeEvent) and events[2].key_exchange.group == NamedGroup.X25519
    assert isinstance(events[-1], ClosedEvent) and events[-1].pending == 0


@pytest.mark.parametrize("feed", FEEDS)
def test_tls12_certificate_request_flight(feed: object) -> None:
    events = run(feed(golden("server_tls12_certreq")))  # type: ignore[operator]
    assert CertificateRequestEvent in kinds(events) and kinds(events)[-2] == ServerHelloDoneEvent


@pytest.mark.parametrize("feed", FEEDS)
def test_tls13_ends_at_first_encrypted_record(feed: object) -> None:
    events = run(feed(golden("server_tls13")))  # type: ignore[operator]
    assert kinds(events) == [ServerHelloEvent, EncryptedEvent]  # the CCS is skipped (RFC 8446 §D.4)
    assert (
        isinstance(events[0], ServerHelloEvent) and events[0].hello.selected_version == ProtocolVersion.TLS1_3
    )
    assert isinstance(events[1], EncryptedEvent) and events[1].length == 23


@pytest.mark.parametrize("feed", FEEDS)
def test_hello_retry(feed: object) -> None:
    events = run(feed(golden("server_tls13_hrr")), eof=False)  # type: ignore[operator]
    assert kinds(events) == [HelloRetryEvent]
    assert isinstance(events[0], HelloRetryEvent) and events[0].hello.key_share_group == NamedGroup.SECP384R1


@pytest.mark.parametrize("feed", FEEDS)
@pytest.mark.parametrize(
    ("name", "alert"),
    [("server_alert_protocol_version", AlertDescription.PROTOCOL_VERSION),
     ("server_alert_handshake_failure", AlertDescription.HANDSHAKE_FAILURE)],
)  # fmt: skip
def test_alerts(feed: object, name: str, alert: AlertDescription) -> None:
    events = run(feed(golden(name)))  # type: ignore[operator]
    assert kinds(events) == [AlertEvent, ClosedEvent]
    assert isinstance(events[0], AlertEvent) and events[0].alert.description == alert


def test_trailing_garbage_after_flight_is_a_protocol_error() -> None:
    events = run([golden("server_tls12_ecdhe_rsa") + b"GARBAGE!"])
    assert kinds(events) == [*TLS12[:-1], ProtocolErrorEvent]


def test_trailing_data_after_encrypted_is_ignored() -> None:
    data = golden("server_tls13") + bytes(1000)
    assert kinds(run(bytewise(data))) == [ServerHelloEvent, EncryptedEvent]


def test_truncated_flight_reports_pending_bytes() -> None:
    data = golden("server_tls12_ecdhe_rsa")[:200]
    events = run([data])
    assert kinds(events) == [ServerHelloEvent, ClosedEvent]
    assert isinstance(events[-1], ClosedEvent) and events[-1].pending == 200 - 98


@pytest.mark.parametrize(
    "banner", [b"HTTP/1.1 400 Bad Request\r\n\r\n", b"SSH-2.0-OpenSSH_9.6\r\n", b"220 mail ESMTP\r\n"]
)
def test_not_tls(banner: bytes) -> None:
    events = run(bytewise(banner))
    assert kinds(events) == [NotTlsEvent]
    assert isinstance(events[0], NotTlsEvent) and banner.startswith(events[0].first_bytes)


def test_short_non_tls_answer_then_eof() -> None:
    assert kinds(run([b"\x00"])) == [NotTlsEvent]
    assert kinds(run([])) == [ClosedEvent]


def test_sslv2_server_hello() -> None:
    for feed in (whole, bytewise):
        events = run(feed(sslv2_server_hello()))
        assert kinds(events) == [SSLv2Event]
        assert isinstance(events[0], SSLv2Event) and events[0].server_hello is not None


def test_message_before_server_hello_is_an_error() -> None:
    events = run([build_records(22, 0x0303, b"\x0e\x00\x00\x00")])
    assert kinds(events) == [ProtocolErrorEvent]


def test_done_after_terminal_event_and_eof_rules() -> None:
    conv = ClientConversation()
    conv.receive_data(b"HTTP/1.0 200 OK\r\n")
    assert isinstance(conv.next_event(), NotTlsEvent)
    assert conv.next_event() is DONE and conv.done
    conv.receive_data(b"more")  # ignored, not held
    conv.receive_data(b"")
    with pytest.raises(RuntimeError):
        conv.receive_data(b"x")
