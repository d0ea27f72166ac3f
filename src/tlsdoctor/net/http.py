"""The one bounded HTTP answer reader, and the plain-HTTP client built on it.

:func:`read_answer` reads one response from any channel of plaintext (a :class:`~tlsdoctor.net.stream.Stream`
for http://, a TLS session over one for the request after a handshake, net/tls.py's ``TlsChannel``) until
wire/http.py says it is complete (its head, then the body its framing gives), the peer ends the connection,
a byte cap or a deadline; a peer that drips, never stops or is not HTTP costs at most that deadline and the
cap. Every HTTP answer the tool waits for is read here: AIA and OCSP fetches, the request after a handshake
(net/tls.http_answer), the idle check's keep-alive HEAD and the clock's Date probe.

:func:`get` fetches AIA caIssuers and OCSP (RFC 5280 §4.2.2.1, RFC 6960 appendix A), always over http://
(fetching over HTTPS would need the very chain being repaired). A redirect or an https URL is reported, not
chased; the body is capped (64 KiB by default: an issuer is ~1-2 KiB) and the whole exchange, name lookup
included, runs under one deadline.
"""

from __future__ import annotations

import dataclasses
import enum
import time
import urllib.parse
from typing import Protocol

from tlsdoctor.net.dns import ask_system
from tlsdoctor.net.stream import ReadEnd, Stream
from tlsdoctor.net.tcp import open_tcp
from tlsdoctor.observations.cert import FetchOutcome
from tlsdoctor.wire.http import ResponseHead, ResponseReader, build_request, parse_head

MAX_BODY = 64 * 1024
MAX_HEAD = 8 * 1024


class Channel(Protocol):
    """Plaintext in from a peer: a Stream, or a TLS session over one. ``error`` says why a read failed."""

    error: str

    async def recv(self, limit: float | None = None) -> tuple[ReadEnd, bytes]: ...


class AnswerEnd(enum.StrEnum):
    """Why :func:`read_answer` stopped reading."""

    COMPLETE = "complete"  # the head, and the body its framing gives (RFC 9112 §6.3), are in
    CLOSED = "closed"  # the peer ended the connection (FIN, close_notify): the answer is what came before
    RESET = "reset"
    TIMEOUT = "timeout"
    CAP = "cap"  # the byte cap: the answer is cut there
    ERROR = "error"  # an OS error or a TLS alert: the channel's error says which


@dataclasses.dataclass(frozen=True, slots=True)
class Answer:
    """One response as it arrived: its bytes (at most the cap), its head when whole and HTTP, why reading
    stopped, and the channel's error when that was a failure."""

    end: AnswerEnd
    data: bytes
    head: ResponseHead | None
    error: str = ""

    @property
    def status_line(self) -> str | None:
        """The status line, even of a head cut short; None when the answer does not start as HTTP."""
        if self.head is not None:
            return self.head.status_line
        first = self.data.split(b"\r\n", 1)[0]
        return first.decode("latin-1") if first.startswith(b"HTTP/") else None


_ENDS = {ReadEnd.EOF: AnswerEnd.CLOSED, ReadEnd.RESET: AnswerEnd.RESET, ReadEnd.TIMEOUT: AnswerEnd.TIMEOUT}


async def read_answer(channel: Channel, *, within: float, cap: int, head_only: bool = False) -> Answer:
    """Read one response from ``channel`` for at most ``within`` seconds and ``cap`` bytes, until it is
    complete (``head_only``: the answer to a HEAD, whose head is all of it, RFC 9110 §9.3.2)."""
    deadline = time.monotonic() + within
    reader = ResponseReader(head_only=head_only)
    while True:
        if reader.complete:
            end = AnswerEnd.COMPLETE
            break
        if len(reader.data) >= cap:
            end = AnswerEnd.CAP
            break
        left = deadline - time.monotonic()
        if left <= 0:
            end = AnswerEnd.TIMEOUT
            break
        got, chunk = await channel.recv(limit=left)
        if got is ReadEnd.DATA:
            reader.feed(chunk)
            continue
        end = _ENDS.get(got, AnswerEnd.CAP if got is ReadEnd.CAP else AnswerEnd.ERROR)
        break
    kept = bytes(reader.data[:cap])
    failed = end in (AnswerEnd.RESET, AnswerEnd.ERROR)
    head = reader.head if reader.head is not None and reader.head.length <= cap else parse_head(kept)
    return Answer(end, kept, head, channel.error if failed else "")


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
    found = await ask_system(parts.hostname, timeout)
    if not found.addresses:
        return HttpResult(
            FetchOutcome.CONNECT_FAILED, detail=f"cannot resolve {parts.hostname}: {found.detail}"
        )
    address = found.addresses[0]
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
    answer = await read_answer(stream, within=stream.remaining(), cap=max_body + MAX_HEAD + 1)
    if answer.end is AnswerEnd.TIMEOUT:
        return HttpResult(FetchOutcome.TIMEOUT, detail=f"{len(answer.data)} bytes before the deadline")
    if answer.end is AnswerEnd.CAP:
        return HttpResult(FetchOutcome.TOO_LARGE, detail=f"more than {max_body} bytes")
    if answer.end in (AnswerEnd.RESET, AnswerEnd.ERROR):
        return HttpResult(FetchOutcome.ERROR, detail=answer.error or answer.end.value)
    return parse_response(answer.data, max_body)


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
