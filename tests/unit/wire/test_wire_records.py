from __future__ import annotations

import pytest
from wire_golden import sslv2_server_hello

from tlsdoctor.wire.codepoints import AlertDescription, AlertLevel, ContentType
from tlsdoctor.wire.reader import DecodeError
from tlsdoctor.wire.records import (
    MAX_FRAGMENT,
    Alert,
    RecordBuffer,
    build_alert,
    build_records,
    detect_sslv2,
    parse_alert,
    parse_sslv2_server_hello,
)


def test_records_incremental_byte_by_byte() -> None:
    data = build_records(22, 0x0303, b"hello") + build_alert(AlertDescription.HANDSHAKE_FAILURE)
    buf = RecordBuffer()
    records = []
    for b in data:
        buf.feed(bytes([b]))
        while (rec := buf.next_record()) is not None:
            records.append(rec)
    assert [r.content_type for r in records] == [ContentType.HANDSHAKE, ContentType.ALERT]
    assert records[0].fragment == b"hello" and records[1].offset == 10
    assert parse_alert(records[1].fragment) == Alert(AlertLevel.FATAL, AlertDescription.HANDSHAKE_FAILURE)


def test_oversized_record_fails_on_the_header() -> None:
    buf = RecordBuffer()
    buf.feed(bytes([22, 3, 3]) + (MAX_FRAGMENT + 1).to_bytes(2, "big"))
    with pytest.raises(DecodeError, match="exceeds the cap") as exc:
        buf.next_record()
    assert exc.value.field == "record.length"


def test_cap_boundary_accepted() -> None:
    buf = RecordBuffer()
    buf.feed(bytes([23, 3, 3]) + MAX_FRAGMENT.to_bytes(2, "big") + bytes(MAX_FRAGMENT))
    rec = buf.next_record()
    assert rec is not None and len(rec.fragment) == MAX_FRAGMENT


@pytest.mark.parametrize(
    "head", [b"HTTP/1.1 400", b"SSH-2.0-Open", b"\x16\x02\x00\x00\x00", b"\x63\x03\x03\x00\x01"]
)
def test_non_tls_header_rejected(head: bytes) -> None:
    buf = RecordBuffer()
    buf.feed(head)
    with pytest.raises(DecodeError, match="not a TLS record"):
        buf.next_record()


def test_alert_must_be_two_bytes() -> None:
    with pytest.raises(DecodeError):
        parse_alert(b"\x02")
    with pytest.raises(DecodeError):
        parse_alert(b"\x02\x28\x02\x28")
    alert = parse_alert(b"\x02\xfe")
    assert str(alert.description) == "0xfe"


def test_records_split_at_max_fragment() -> None:
    data = build_records(22, 0x0301, bytes(40000))
    buf = RecordBuffer()
    buf.feed(data)
    sizes = []
    while (rec := buf.next_record()) is not None:
        sizes.append(len(rec.fragment))
    assert sizes == [16384, 16384, 7232]


def test_sslv2_detection_and_parse() -> None:
    data = sslv2_server_hello()
    header = detect_sslv2(data)
    assert header is not None and header.msg_type == 4 and header.length == len(data) - 2
    hello = parse_sslv2_server_hello(data[2:])
    assert hello.version == 2 and hello.cipher_specs == (0x0700C0,) and hello.certificate.startswith(b"\x30")
    assert detect_sslv2(b"\x16\x03\x01") is None
    assert detect_sslv2(b"\x80") is None  # too short to tell
    assert detect_sslv2(b"\x80\x10\x09") is None  # not an SSLv2 message type
