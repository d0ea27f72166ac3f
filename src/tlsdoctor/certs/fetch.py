"""Fetch a missing issuer from its AIA caIssuers URL (RFC 5280 section 4.2.2.1), over plain HTTP only.

Only ``http://`` is followed: caIssuers and OCSP are served over HTTP by design (fetching
over HTTPS would need the very chain being repaired), and a redirect or an https URL is
reported, not chased. The body is capped (64 KiB by default: an issuer is ~1-2 KiB) and
the whole exchange runs under one deadline. Sockets stay in ``net/``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import time
import urllib.parse
import warnings

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.utils import CryptographyDeprecationWarning

from tlsdoctor.certs.info import UNDECODABLE, decode_fields, load_der
from tlsdoctor.net.stream import ReadEnd, Stream
from tlsdoctor.net.tcp import open_tcp
from tlsdoctor.observations.cert import FetchOutcome

MAX_BODY = 64 * 1024
MAX_HEAD = 8 * 1024


@dataclasses.dataclass(frozen=True, slots=True)
class HttpResult:
    """What one HTTP exchange gave: an outcome, and the status and body when there was an answer."""

    outcome: FetchOutcome
    status: int | None = None
    body: bytes = b""
    detail: str = ""


async def http_request(
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
    head = [
        f"{method} {target} HTTP/1.0",
        f"Host: {parts.netloc}",
        "User-Agent: tlsdoctor",
        "Connection: close",
    ]
    if body is not None:
        head += [f"Content-Type: {content_type}", f"Content-Length: {len(body)}"]
    request = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + (body or b"")
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
    return _parse_response(bytes(data), max_body)


def _parse_response(data: bytes, max_body: int) -> HttpResult:
    head, sep, payload = data.partition(b"\r\n\r\n")
    status_line = head.split(b"\r\n", 1)[0].decode("latin-1", "replace")
    fields = status_line.split(" ", 2)
    if not sep or len(fields) < 2 or not fields[0].startswith("HTTP/") or not _status_code(fields[1]):
        return HttpResult(FetchOutcome.ERROR, detail=f"not an HTTP answer: {status_line[:60]!r}")
    status = int(fields[1])
    if len(payload) > max_body:
        return HttpResult(FetchOutcome.TOO_LARGE, status, detail=f"more than {max_body} bytes")
    if status != 200:
        return HttpResult(FetchOutcome.HTTP_ERROR, status, detail=status_line)
    return HttpResult(FetchOutcome.OK, status, payload)


def _status_code(text: str) -> bool:
    """Three ASCII digits (RFC 9110 section 15): "²".isdigit() is true and int("²") raises."""
    return len(text) == 3 and text.isascii() and text.isdigit()


def certificates_in(body: bytes) -> list[x509.Certificate]:
    """An issuer as AIA serves it: DER, PEM, or a certs-only PKCS#7 bundle (RFC 5280 section 4.2.2.1)."""
    loaders = (
        lambda b: [load_der(b)],
        x509.load_pem_x509_certificates,
        pkcs7.load_der_pkcs7_certificates,
        pkcs7.load_pem_pkcs7_certificates,
    )
    for load in loaders:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", CryptographyDeprecationWarning)
                found = list(load(body))
        except UNDECODABLE:
            continue
        if found:
            return [c for c in found if _decodes(c)]
    return []


def _decodes(cert: x509.Certificate) -> bool:
    try:
        decode_fields(cert)
    except ValueError:
        return False
    return True


def der_of(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)
