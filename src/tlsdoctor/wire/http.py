"""HTTP/1.x as bytes: the one request writer and the one response-head reader (RFC 9112), no I/O.

Every HTTP request the tool sends is built here (the AIA and OCSP fetches, the request after a
handshake, the idle check's keep-alive HEAD, the hello matrix's plain-HTTP probe), and every answer's
head is judged here: whether it is complete, its status line and its fields. The CONNECT exchange
with a proxy has its own state machine (wire/connect_proxy.py).
"""

from __future__ import annotations

from typing import NamedTuple

USER_AGENT = "tlsdoctor"


def build_request(
    method: str,
    target: str,
    host: str,
    *,
    version: str = "1.1",
    accept: bool = False,
    close: bool = True,
    body: bytes | None = None,
    content_type: str = "",
) -> bytes:
    """A request line and fields (RFC 9112 §3; Host is mandatory in HTTP/1.1, §3.2), then ``body``.
    ``host``: a name, an address or ``host:port`` (an IPv6 literal is bracketed here, :func:`host_field`).
    ``close``: ``Connection: close`` (RFC 9112 §9.6), so the answer ends with the connection."""
    head = [f"{method} {target} HTTP/{version}", f"Host: {host_field(host)}", f"User-Agent: {USER_AGENT}"]
    if accept:
        head.append("Accept: */*")
    if close:
        head.append("Connection: close")
    if body is not None:
        head += [f"Content-Type: {content_type}", f"Content-Length: {len(body)}"]
    return ("\r\n".join(head) + "\r\n\r\n").encode("ascii", "replace") + (body or b"")


def host_field(host: str) -> str:
    """``host`` as the Host field carries it (RFC 9110 §7.2, RFC 3986 §3.2.2): an IPv6 literal in
    brackets. Two colons or more can only be an IPv6 address; ``name:port`` has one, ``[v6]`` has its own."""
    return f"[{host}]" if host.count(":") >= 2 and not host.startswith("[") else host


class ResponseHead(NamedTuple):
    """A response's status line and fields, as sent (names and values are bytes: peer data)."""

    status: int
    status_line: str
    fields: tuple[tuple[bytes, bytes], ...]
    length: int  # bytes of the head, with its blank line

    def field(self, name: bytes) -> bytes | None:
        """The first field named ``name`` (case-insensitive, RFC 9110 §5.1), stripped; None without one."""
        wanted = name.lower()
        return next((value for key, value in self.fields if key.lower() == wanted), None)


def status_code(text: str) -> bool:
    """Three ASCII digits (RFC 9110 §15): "²".isdigit() is true and int("²") raises."""
    return len(text) == 3 and text.isascii() and text.isdigit()


def parse_head(data: bytes) -> ResponseHead | None:
    """The response head at the start of ``data`` when it is whole and an HTTP/1.x status line starts
    it; None otherwise (more is needed, or it is not HTTP: :func:`head_ended` tells which)."""
    head, sep, _ = data.partition(b"\r\n\r\n")
    if not sep:
        return None
    lines = head.split(b"\r\n")
    status_line = lines[0].decode("latin-1", "replace")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not status_code(parts[1]):
        return None
    split = (line.partition(b":") for line in lines[1:])
    fields = tuple((name.strip(), value.strip()) for name, colon, value in split if colon)
    return ResponseHead(int(parts[1]), status_line, fields, len(head) + len(sep))


def head_ended(data: bytes) -> bool:
    """The blank line that ends a response head has arrived (RFC 9112 §2.1)."""
    return b"\r\n\r\n" in data


# Statuses whose answer has no body whatever its fields say (RFC 9112 §6.3 item 1).
_NO_BODY = frozenset({204, 304})
MAX_CHUNK_LINE = 1024  # a chunk-size line with its extensions; longer is not a sane peer
_HEX = frozenset(b"0123456789abcdefABCDEF")


class _Chunks:
    """Where a walk through a chunked body (RFC 9112 §7.1) stands, so that each arrival resumes it:
    a peer that sends a body in thousands of tiny pieces costs one pass, not one pass per piece."""

    def __init__(self, at: int) -> None:
        self.at = at  # the next chunk-size line, or (in the trailers) where the blank-line search resumes
        self.data_end: int | None = None  # the end of the chunk being received, with its CRLF
        self.trailers = False

    def advance(self, data: bytes | bytearray) -> bool | None:
        """True: the last chunk and the trailer section are in. False: more is needed. None: not chunked
        framing (a size that is not hex, or a size line without end)."""
        while True:
            if self.trailers:  # fields, then a blank line (§7.1.2); the search never looks back twice
                found = data.find(b"\r\n\r\n", self.at)
                if found >= 0:
                    return True
                self.at = max(self.at, len(data) - 3)
                return False
            if self.data_end is not None:
                if len(data) < self.data_end:
                    return False
                self.at, self.data_end = self.data_end, None
            line_end = data.find(b"\r\n", self.at, self.at + MAX_CHUNK_LINE)
            if line_end < 0:
                return None if len(data) - self.at >= MAX_CHUNK_LINE else False
            size_text = bytes(data[self.at : line_end]).split(b";", 1)[0].strip()
            if not size_text or len(size_text) > 16 or not _HEX.issuperset(size_text):
                return None
            size = int(size_text, 16)
            if size == 0:
                self.trailers, self.at = True, line_end  # "\r\n" + "\r\n" when there are no trailers
                continue
            self.data_end = line_end + 2 + size + 2  # the data and its CRLF


class ResponseReader:
    """One response as it arrives (sans-IO): :meth:`feed` says whether it is complete: the head, then
    the body its framing says (RFC 9112 §6.3): none for a HEAD (``head_only``), a 1xx, 204 or 304; up to
    the last chunk when chunked; ``Content-Length`` bytes. An answer framed by nothing but the end of
    the connection is never complete here. Every byte is looked at a bounded number of times however
    it is split, so a slow drip costs its deadline, not our CPU."""

    def __init__(self, *, head_only: bool = False) -> None:
        self.data = bytearray()
        self.head: ResponseHead | None = None
        self.complete = False
        self._head_only = head_only
        self._searched = 0  # where the search for the head's blank line resumes
        self._length: int | None = None  # Content-Length, once the head is in
        self._chunks: _Chunks | None = None
        self._body_at = -1

    def feed(self, chunk: bytes) -> bool:
        self.data += chunk
        if not self.complete:
            self.complete = self._judge()
        return self.complete

    def _judge(self) -> bool:
        if self._body_at < 0:
            end = self.data.find(b"\r\n\r\n", max(0, self._searched - 3))
            if end < 0:
                self._searched = len(self.data)
                return False
            self._body_at = end + 4
            self.head = parse_head(bytes(self.data[: self._body_at]))
            if self._head_only or self.head is None:  # not HTTP: ends at its first blank line, or never
                return self._head_only
            if self.head.status < 200 or self.head.status in _NO_BODY:
                return True
            coding = (self.head.field(b"transfer-encoding") or b"").lower()
            length = self.head.field(b"content-length") or b""
            # chunked must be the last coding (RFC 9112 §6.1); any other: the body ends with the connection
            if coding.rsplit(b",", 1)[-1].strip() == b"chunked":
                self._chunks = _Chunks(self._body_at)
            elif not coding and length.isdigit():
                self._length = int(length)
        if self._chunks is not None:
            return self._chunks.advance(self.data) is True
        return self._length is not None and len(self.data) - self._body_at >= self._length


def complete(data: bytes, *, head_only: bool = False) -> bool:
    """The whole answer is in ``data`` (:class:`ResponseReader`'s judgement, in one piece)."""
    return ResponseReader(head_only=head_only).feed(data)


def chunked_end(body: bytes) -> bool | None:
    """Whether a chunked body (RFC 9112 §7.1) has ended: its last chunk (size 0) and the trailer
    section's blank line are in. False: more is needed. None: not chunked framing (a malformed size)."""
    return _Chunks(0).advance(body)
