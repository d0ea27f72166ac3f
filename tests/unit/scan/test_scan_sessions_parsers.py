"""The pure parts of scan/sessions.py and wire/tickets.py: HSTS (RFC 6797 §6.1), the HTTP answer's
headers, the TLS 1.3 NewSessionTicket (RFC 8446 §4.6.1), each with near misses and hostile input."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tlsdoctor.scan.sessions import parse_hsts, parse_http_answer
from tlsdoctor.wire.reader import DecodeError
from tlsdoctor.wire.tickets import parse_new_session_ticket


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("max-age=63072000; includeSubDomains; preload", (63072000, True, True)),
        ('MAX-AGE="31536000"', (31536000, False, False)),  # names case-insensitive, quoted value
        ("includeSubDomains; max-age=0", (0, True, False)),  # max-age=0: the UA forgets the host
        ("includeSubDomains", (None, True, False)),  # near miss: no max-age -> invalid
        ("max-age=1; max-age=2", (None, False, False)),  # repeated directive -> invalid (§6.1 rule 2)
        ("max-age=abc", (None, False, False)),
        ("max-age=-5", (None, False, False)),
    ],
)
def test_hsts_directives(value: str, expected: tuple[int | None, bool, bool]) -> None:
    assert parse_hsts(value) == expected


def test_http_answer_keeps_security_and_banner_headers_and_the_first_hsts() -> None:
    head = (
        b"HTTP/1.1 301 Moved Permanently\r\nServer: nginx/1.22.1\r\nContent-Type: text/html\r\n"
        b"strict-transport-security: max-age=600\r\nStrict-Transport-Security: max-age=63072000\r\n"
        b"X-Frame-Options: DENY\r\nX-Powered-By: PHP/8.1\r\nSet-Cookie: a=b\r\n\r\n<html>"
    )
    answer = parse_http_answer(head)
    assert (answer.status, answer.server) == (301, "nginx/1.22.1")
    assert answer.hsts_max_age == 600  # RFC 6797 §8.1: only the first header counts
    assert set(answer.headers) == {"server", "strict-transport-security", "x-frame-options", "x-powered-by"}
    assert answer.headers["strict-transport-security"] == "max-age=600, max-age=63072000"
    assert "set-cookie" not in answer.headers and "content-type" not in answer.headers


def test_a_non_http_answer_is_said() -> None:
    answer = parse_http_answer(b"* OK IMAP4rev1 ready\r\n")
    assert answer.status is None and answer.error and answer.hsts_max_age is None


def ticket(lifetime: int = 7200, extensions: bytes = b"", ticket: bytes = b"T" * 32) -> bytes:
    return (
        struct.pack("!II", lifetime, 0x01020304)
        + bytes([8])
        + b"N" * 8
        + struct.pack("!H", len(ticket))
        + ticket
        + struct.pack("!H", len(extensions))
        + extensions
    )


def test_new_session_ticket_with_and_without_early_data() -> None:
    early = struct.pack("!HHI", 42, 4, 16384)  # early_data: max_early_data_size
    grease = struct.pack("!HH", 0x0A0A, 0)
    parsed = parse_new_session_ticket(ticket(extensions=grease + early))
    assert (parsed.lifetime, parsed.ticket_length, parsed.max_early_data) == (7200, 32, 16384)
    assert parse_new_session_ticket(ticket()).max_early_data is None  # near miss: no extension


@pytest.mark.parametrize(
    "body",
    [
        ticket()[:-1],  # truncated
        ticket() + b"\x00",  # trailing byte
        ticket(ticket=b""),  # ticket<1..2^16-1>: empty is invalid
        ticket(extensions=struct.pack("!HHI", 42, 5, 1) + b"\x00"),  # early_data with a wrong length
    ],
)
def test_malformed_tickets_raise_decode_error(body: bytes) -> None:
    with pytest.raises(DecodeError):
        parse_new_session_ticket(body)


@given(st.binary(max_size=300))
def test_arbitrary_bytes_parse_or_raise_decode_error(data: bytes) -> None:
    try:
        parsed = parse_new_session_ticket(data)
    except DecodeError as exc:
        assert exc.field  # says where it broke
        return
    assert 1 <= parsed.ticket_length <= len(data) and parsed.lifetime < 1 << 32
