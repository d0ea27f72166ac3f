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
    ``close``: ``Connection: close`` (RFC 9112 §9.6), so the answer ends with the connection."""
    head = [f"{method} {target} HTTP/{version}", f"Host: {host}", f"User-Agent: {USER_AGENT}"]
    if accept:
        head.append("Accept: */*")
    if close:
        head.append("Connection: close")
    if body is not None:
        head += [f"Content-Type: {content_type}", f"Content-Length: {len(body)}"]
    return ("\r\n".join(head) + "\r\n\r\n").encode("ascii", "replace") + (body or b"")


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


def complete(data: bytes, *, head_only: bool = False) -> bool:
    """Headers and, when its length is given, the body are in (a HEAD answer has no body)."""
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep or head_only:
        return bool(sep)
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length" and value.strip().isdigit():
            return len(body) >= int(value.strip())
    return False
