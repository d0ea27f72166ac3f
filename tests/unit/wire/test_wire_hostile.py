"""Hostile and arbitrary input: only events or DecodeError, bounded memory and time."""

from __future__ import annotations

import contextlib
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tlsdoctor.wire.conversation import DONE, NEED_DATA, ClientConversation, ClosedEvent, ProtocolErrorEvent
from tlsdoctor.wire.handshake import parse_client_hello, parse_server_hello
from tlsdoctor.wire.reader import DecodeError
from tlsdoctor.wire.records import build_records
from tlsdoctor.wire.server_messages import (
    parse_certificate,
    parse_certificate_request,
    parse_server_key_exchange,
)


def drain(conv: ClientConversation) -> list[object]:
    out: list[object] = []
    for _ in range(100_000):
        ev = conv.next_event()
        if ev is NEED_DATA or ev is DONE:
            return out
        out.append(ev)
    raise AssertionError("next_event never asked for data")


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.binary(min_size=1, max_size=200), max_size=8))
def test_arbitrary_bytes_give_events_only(chunks: list[bytes]) -> None:
    conv = ClientConversation()
    for chunk in chunks:
        conv.receive_data(chunk)
        drain(conv)
    conv.receive_data(b"")
    drain(conv)
    assert conv.done


TLS_PREFIX = st.builds(lambda t, body: bytes([t, 3, 3]) + len(body).to_bytes(2, "big") + body,
                       st.sampled_from([20, 21, 22, 23]), st.binary(max_size=300))  # fmt: skip


@settings(max_examples=300)
@given(st.lists(TLS_PREFIX, max_size=6))
def test_well_framed_random_records_give_events_only(records: list[bytes]) -> None:
    conv = ClientConversation()
    conv.receive_data(b"".join(records))
    drain(conv)


@settings(max_examples=300)
@given(st.binary(max_size=400), st.integers(0x0300, 0x0304), st.integers(0, 0xFFFF))
def test_parsers_raise_only_decode_error(body: bytes, version: int, suite: int) -> None:
    from tlsdoctor.wire.codepoints import ProtocolVersion

    v = ProtocolVersion(version)
    for parse in (
        lambda: parse_server_hello(body),
        lambda: parse_client_hello(body),
        lambda: parse_certificate(body, tls13=False),
        lambda: parse_certificate(body, tls13=True),
        lambda: parse_certificate_request(body, v),
        lambda: parse_server_key_exchange(body, suite, v),
    ):
        with contextlib.suppress(DecodeError):
            parse()


def test_16mb_handshake_claim_fails_fast() -> None:
    conv = ClientConversation()
    conv.receive_data(build_records(22, 0x0303, b"\x02\xff\xff\xff" + bytes(100)))
    events = drain(conv)
    assert len(events) == 1 and isinstance(events[0], ProtocolErrorEvent)
    assert events[0].error.field == "handshake.length"


def test_record_length_over_cap_fails_on_header() -> None:
    conv = ClientConversation()
    conv.receive_data(b"\x16\x03\x03\xff\xff")
    events = drain(conv)
    assert isinstance(events[0], ProtocolErrorEvent) and events[0].error.field == "record.length"


def test_buffer_cap() -> None:
    conv = ClientConversation(max_buffer=64 * 1024)
    # a 100 KB certificate message (under the message cap) dribbled in 16 KB records
    body = b"\x0b" + (100_000).to_bytes(3, "big") + bytes(100_000)
    events: list[object] = []
    for i in range(0, len(body), 16384):
        conv.receive_data(build_records(22, 0x0303, body[i : i + 16384]))
        events += drain(conv)
    assert events == [] or isinstance(events[-1], ProtocolErrorEvent)
    assert events and isinstance(events[0], ProtocolErrorEvent) and events[0].error.field == "buffer"


def test_endless_empty_handshake_records_are_bounded() -> None:
    conv = ClientConversation()
    start = time.monotonic()
    record = build_records(22, 0x0303, b"")
    events: list[object] = []
    for _ in range(5000):
        conv.receive_data(record)
        events += drain(conv)
        if conv.done:
            break
    assert isinstance(events[-1], ProtocolErrorEvent) and "records" in events[-1].error.field
    assert time.monotonic() - start < 5


def test_endless_warning_alerts_are_bounded() -> None:
    conv = ClientConversation()
    conv.receive_data(build_records(21, 0x0303, b"\x01\x00") * 5000)
    events = drain(conv)
    assert isinstance(events[-1], ProtocolErrorEvent) and len(events) == 4097


@pytest.mark.parametrize("cut", [1, 4, 5, 6, 50])
def test_eof_mid_record(cut: int) -> None:
    conv = ClientConversation()
    conv.receive_data(build_records(22, 0x0303, b"\x02\x00\x00\x30" + bytes(48))[:cut])
    conv.receive_data(b"")
    events = drain(conv)
    assert isinstance(events[-1], ClosedEvent | ProtocolErrorEvent)


def test_many_skippable_records_in_one_feed_do_not_recurse() -> None:
    conv = ClientConversation()
    conv.receive_data(build_records(22, 0x0303, b"") * 3000 + build_records(22, 0x0303, b"\x0e\x00\x00\x00"))
    events = drain(conv)
    assert isinstance(events[0], ProtocolErrorEvent) and "before ServerHello" in str(events[0].error)
