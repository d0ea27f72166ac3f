"""HTTP CONNECT (RFC 9110 §9.3.6) as pure functions: build the request, parse the answer."""

from __future__ import annotations

import base64
import dataclasses

MAX_RESPONSE_HEAD = 16 * 1024  # a proxy's answer head larger than this is hostile or broken


@dataclasses.dataclass(frozen=True, slots=True)
class ConnectResponse:
    """The proxy's status line and headers.

    The first ``head_length`` bytes belong to the proxy, the rest to the tunnel.
    """

    status: int
    reason: str
    headers: tuple[tuple[str, str], ...]
    head_length: int


@dataclasses.dataclass(frozen=True, slots=True)
class NotHttp:
    """The proxy answered with something that is not HTTP (e.g. TLS from an https-only proxy)."""

    first_bytes: bytes


class NeedData:
    """More bytes are needed to see the end of the answer head."""


NEED_DATA = NeedData()


def authority(host: str, port: int) -> str:
    """host:port for the request target, with brackets around IPv6 literals."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def build_connect(host: str, port: int, credentials: tuple[str, str] | None = None) -> bytes:
    """The CONNECT request; Basic proxy authorization when credentials are given."""
    target = authority(host, port)
    lines = [f"CONNECT {target} HTTP/1.1", f"Host: {target}", "User-Agent: tlsdoctor"]
    if credentials is not None:
        token = base64.b64encode(f"{credentials[0]}:{credentials[1]}".encode()).decode("ascii")
        lines.append(f"Proxy-Authorization: Basic {token}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def parse_connect_response(buffer: bytes) -> ConnectResponse | NotHttp | NeedData:
    """Parse the proxy's answer head from the start of ``buffer``."""
    if not (buffer.startswith(b"HTTP/") or b"HTTP/".startswith(buffer)):
        return NotHttp(buffer[:64])
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        if len(buffer) > MAX_RESPONSE_HEAD:
            return NotHttp(buffer[:64])
        return NEED_DATA
    lines = buffer[:end].decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not (len(parts[1]) == 3 and parts[1].isascii() and parts[1].isdigit()):
        # three ASCII digits (RFC 9110 section 15): "²".isdigit() is true and int("²") raises
        return NotHttp(buffer[:64])
    headers = tuple(
        (k.strip().lower(), v.strip()) for k, _, v in (line.partition(":") for line in lines[1:]) if k
    )
    return ConnectResponse(int(parts[1]), parts[2] if len(parts) > 2 else "", headers, end + 4)
