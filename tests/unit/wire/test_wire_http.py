"""wire/http.py: the one request writer and response-head reader, byte for byte."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tlsdoctor.wire.http import (
    ResponseReader,
    build_request,
    chunked_end,
    complete,
    head_ended,
    host_field,
    parse_head,
)


def test_requests_as_each_prober_sends_them() -> None:
    # AIA fetch: HTTP/1.0, the connection closes after the answer (RFC 9112 §9.6)
    assert build_request("GET", "/ca.der", "ca.example:8080", version="1.0") == (
        b"GET /ca.der HTTP/1.0\r\nHost: ca.example:8080\r\nUser-Agent: tlsdoctor\r\nConnection: close\r\n\r\n"
    )
    # OCSP-style POST: the body follows its length
    assert build_request(
        "POST", "/", "ocsp.example", version="1.0", body=b"\x30\x03", content_type="x/y"
    ) == (
        b"POST / HTTP/1.0\r\nHost: ocsp.example\r\nUser-Agent: tlsdoctor\r\nConnection: close\r\n"
        b"Content-Type: x/y\r\nContent-Length: 2\r\n\r\n\x30\x03"
    )
    # the idle check's keep-alive HEAD: no Connection: close
    assert build_request("HEAD", "/", "[::1]", accept=True, close=False) == (
        b"HEAD / HTTP/1.1\r\nHost: [::1]\r\nUser-Agent: tlsdoctor\r\nAccept: */*\r\n\r\n"
    )
    # a name that is not ASCII never raises
    assert b"Host: ?.example" in build_request("GET", "/", "\u00e9.example")


def test_head_parsed_and_fields_found_case_insensitively() -> None:
    answer = b"HTTP/1.1 301 Moved\r\nLocation: /x\r\ncontent-LENGTH: 3\r\n\r\nabc"
    head = parse_head(answer)
    assert head is not None
    assert (head.status, head.status_line) == (301, "HTTP/1.1 301 Moved")
    assert head.field(b"Content-Length") == b"3" and head.field(b"date") is None
    assert answer[head.length :] == b"abc"
    assert complete(answer) and not complete(answer[:-1]) and complete(answer[:-3], head_only=True)


def test_not_a_head() -> None:
    assert parse_head(b"HTTP/1.1 200 OK\r\nDate: x\r\n") is None  # not ended yet
    assert not head_ended(b"HTTP/1.1 200 OK\r\nDate: x\r\n")
    assert parse_head(b"SSH-2.0-OpenSSH\r\n\r\n") is None
    assert parse_head(b"HTTP/1.1 \xb2 x\r\n\r\n") is None  # '²'.isdigit() is true, int('²') raises
    assert parse_head(b"HTTP/1.1 2000 x\r\n\r\n") is None


def test_an_ipv6_literal_is_bracketed_in_host() -> None:
    """RFC 9110 §7.2 / RFC 3986 §3.2.2: Host: [::1]; a name, name:port and an already bracketed
    literal stay as they are."""
    assert b"\r\nHost: [2001:db8::1]\r\n" in build_request("GET", "/", "2001:db8::1")
    assert host_field("[::1]:8443") == "[::1]:8443" and host_field("ca.example:8080") == "ca.example:8080"
    assert host_field("198.18.0.1") == "198.18.0.1"


CHUNKED_HEAD = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"


def test_a_chunked_body_is_complete_at_its_last_chunk_and_trailers() -> None:
    body = b"5\r\nhello\r\n7;name=v\r\n, world\r\n0\r\nX-T: 1\r\n\r\n"
    whole = CHUNKED_HEAD + body
    assert complete(whole)
    for cut in range(len(CHUNKED_HEAD), len(whole)):  # byte by byte: never complete early
        assert not complete(whole[:cut]), whole[:cut]
    assert complete(CHUNKED_HEAD + b"0\r\n\r\n")
    assert chunked_end(b"A\r\n0123456789\r\n0\r\n\r\n") is True  # sizes are hex


def test_chunked_near_misses() -> None:
    # a size that is not hex, or a size line without end: not chunked framing, the close ends it
    assert chunked_end(b"zz\r\nabc\r\n0\r\n\r\n") is None
    assert chunked_end(b"1" * 2000) is None
    assert not complete(CHUNKED_HEAD + b"zz\r\nabc\r\n0\r\n\r\n")
    # chunked not last: the body ends with the connection (RFC 9112 §6.1)
    assert not complete(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n")
    # Transfer-Encoding overrides Content-Length (RFC 9112 §6.3 item 3)
    assert not complete(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n")


def test_answers_without_a_body() -> None:
    """RFC 9112 §6.3 item 1: 1xx, 204 and 304 end with their head, whatever the fields say."""
    for status in (b"204 No Content", b"304 Not Modified", b"101 Switching"):
        assert complete(b"HTTP/1.1 " + status + b"\r\nContent-Length: 10\r\n\r\n")
    assert not complete(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n")
    assert not complete(b"HTTP/1.0 200 OK\r\n\r\nbody until the close")


@given(
    sizes=st.lists(st.integers(1, 40), max_size=6),
    trailers=st.lists(st.sampled_from([b"X-A: 1", b"Y: two"]), max_size=2),
    cuts=st.lists(st.integers(1, 12), min_size=1, max_size=60),
)
def test_the_reader_completes_exactly_at_the_end_however_the_bytes_arrive(
    sizes: list[int], trailers: list[bytes], cuts: list[int]
) -> None:
    """Fed in arbitrary pieces (a peer's segments), the reader says complete at the answer's last byte,
    never before, and agrees with the one-piece judgement at every prefix."""
    body = b"".join(b"%x\r\n%s\r\n" % (n, b"z" * n) for n in sizes)
    whole = CHUNKED_HEAD + body + b"0\r\n" + b"".join(t + b"\r\n" for t in trailers) + b"\r\n"
    reader = ResponseReader()
    at, turn = 0, 0
    while at < len(whole):
        step = cuts[turn % len(cuts)]
        turn += 1
        piece = whole[at : at + step]
        at += len(piece)
        assert reader.feed(piece) == (at == len(whole)) == complete(whole[:at]), (at, whole)


def test_a_dripped_answer_is_judged_once_per_byte_not_once_per_piece() -> None:
    """12,000 chunks of one byte (a hostile drip of the AIA fetch's whole cap) stay incomplete and are
    walked in one pass: the judgement of each piece resumes where the last stopped."""
    reader = ResponseReader()
    reader.feed(CHUNKED_HEAD)
    for _ in range(12_000):
        assert not reader.feed(b"1\r\na\r\n")
    chunks = reader._chunks
    assert chunks is not None and chunks.data_end is None and chunks.at == len(reader.data)
    assert not reader.feed(b"0\r\n") and reader.feed(b"\r\n")
