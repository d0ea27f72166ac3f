"""The one bounded HTTP client of plain-HTTP fetches: AIA caIssuers and OCSP (RFC 5280 §4.2.2.1, RFC 6960
appendix A), always over http:// (fetching over HTTPS would need the very chain being repaired).

A redirect or an https URL is reported, not chased. The request is wire/http.py's, the body is capped
(64 KiB by default: an issuer is ~1-2 KiB) and the whole exchange, name lookup included, runs under one
deadline; a peer that drips, never stops or is not HTTP costs at most that deadline and the cap.
"""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import time
import urllib.parse

from tlsdoctor.net.stream import ReadEnd, Stream
from tlsdoctor.net.tcp import open_tcp
from tlsdoctor.observations.cert import FetchOutcome
from tlsdoctor.wire.http import build_request, parse_head

MAX_BODY = 64 * 1024
MAX_HEAD = 8 * 1024


@dataclasses.dataclass(frozen=True, slots=True)
class HttpResult:
    """What one HTTP exchange gave: an outcome, and the status and body when there was an answer."""

    outcome: FetchOutcome
    status: int | None = None
    body: bytes = b""
    detail: str = ""


async def get(
    url: str, timeout: float, *, body: bytes | None = None, content_type: str = "", max_body: int = MAX_BODY
) -> HttpResult:
    """GET (or POST ``body``) an http:// URL with HTTP/1.0, within ``timeout`` seconds in all."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        return HttpResult(FetchOutcome.UNSUPPORTED, detail=f"only http:// is fetched, not {parts.scheme}://")
    deadline = time.monotonic() + timeout
    port = parts.port or 80
    try:
        async with asyncio.timeout(timeout):
            loop = asyncio.get_running_loop()
            infos = await loop.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (OSError, TimeoutError) as exc:
        return HttpResult(FetchOutcome.CONNECT_FAILED, detail=f"cannot resolve {parts.hostname}: {exc}")
    address = str(infos[0][4][0])
    connect, sock = await open_tcp(address, port, max(0.0, deadline - time.monotonic()), role="aia")
    if sock is None:
        return HttpResult(FetchOutcome.CONNECT_FAILED, detail=connect.describe())
    stream = Stream(sock, deadline, cap=max_body + MAX_HEAD + 1)
    try:
        return await _exchange(stream, parts, body, content_type, max_body)
    finally:
        stream.close()


async def _exchange(
    stream: Stream, parts: urllib.parse.SplitResult, body: bytes | None, content_type: str, max_body: int
) -> HttpResult:
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    method = "POST" if body is not None else "GET"
    request = build_request(method, target, parts.netloc, version="1.0", body=body, content_type=content_type)
    if await stream.send(request) is not ReadEnd.DATA:
        return HttpResult(FetchOutcome.ERROR, detail=stream.error or "send failed")
    data = bytearray()
    while True:
        end, chunk = await stream.recv()
        data += chunk
        if end is ReadEnd.EOF:
            break
        if end is ReadEnd.TIMEOUT:
            return HttpResult(FetchOutcome.TIMEOUT, detail=f"{len(data)} bytes before the deadline")
        if end is ReadEnd.CAP or len(data) > max_body + MAX_HEAD:
            return HttpResult(FetchOutcome.TOO_LARGE, detail=f"more than {max_body} bytes")
        if end is not ReadEnd.DATA:
            return HttpResult(FetchOutcome.ERROR, detail=stream.error or end.value)
    return parse_response(bytes(data), max_body)


def parse_response(data: bytes, max_body: int) -> HttpResult:
    """A whole answer (the connection closed after it) as a fetch's result."""
    head = parse_head(data)
    if head is None:
        status_line = data.split(b"\r\n", 1)[0].decode("latin-1", "replace")
        return HttpResult(FetchOutcome.ERROR, detail=f"not an HTTP answer: {status_line[:60]!r}")
    status, status_line, payload = head.status, head.status_line, data[head.length :]
    if len(payload) > max_body:
        return HttpResult(FetchOutcome.TOO_LARGE, status, detail=f"more than {max_body} bytes")
    if status != 200:
        return HttpResult(FetchOutcome.HTTP_ERROR, status, detail=status_line)
    return HttpResult(FetchOutcome.OK, status, payload)
