"""wire/http.py: the one request writer and response-head reader, byte for byte."""

from __future__ import annotations

from tlsdoctor.wire.http import build_request, complete, head_ended, parse_head


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
