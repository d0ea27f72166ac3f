"""One UDP request, one reply, under a deadline (for NTP). Failures are values, not exceptions."""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import socket
import time

from tlsdoctor.net.dns import ask_system


class UdpOutcome(enum.StrEnum):
    """How a UDP exchange ended."""

    REPLY = "reply"
    TIMEOUT = "timeout"
    REFUSED = "refused"  # ICMP port unreachable came back
    RESOLVE_FAILED = "resolve-failed"
    ERROR = "error"


@dataclasses.dataclass(frozen=True, slots=True)
class UdpResult:
    """The reply (truncated to ``max_bytes``) and where from, or why there is none."""

    outcome: UdpOutcome
    data: bytes = b""
    peer: str = ""
    elapsed_ms: float = 0.0
    detail: str = ""


class _Once(asyncio.DatagramProtocol):
    """Keeps the first datagram, or the first error (ICMP unreachable surfaces as ConnectionRefusedError)."""

    def __init__(self, done: asyncio.Future[tuple[bytes, str] | Exception]) -> None:
        self.done = done

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        if not self.done.done():
            self.done.set_result((data, str(addr[0])))

    def error_received(self, exc: Exception) -> None:
        if not self.done.done():
            self.done.set_result(exc)


async def exchange(
    host: str, port: int, payload: bytes, timeout: float, *, max_bytes: int = 2048
) -> UdpResult:
    """Send ``payload`` to host:port and wait for one datagram back, all within ``timeout`` seconds.

    The socket is connected, so only the addressed peer's datagrams are accepted and the
    kernel reports ICMP port-unreachable as a refusal.
    """
    loop = asyncio.get_running_loop()
    start = time.monotonic()

    def elapsed() -> float:
        return (time.monotonic() - start) * 1000

    found = await ask_system(host, timeout)
    if not found.addresses:
        return UdpResult(UdpOutcome.RESOLVE_FAILED, elapsed_ms=elapsed(), detail=found.detail)
    address = found.addresses[0]
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    remote = (address, port)
    done: asyncio.Future[tuple[bytes, str] | Exception] = loop.create_future()
    try:
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _Once(done), remote_addr=remote, family=family
        )
    except OSError as exc:
        return UdpResult(UdpOutcome.ERROR, elapsed_ms=elapsed(), detail=str(exc))
    try:
        transport.sendto(payload)
        async with asyncio.timeout(max(0.0, timeout - (time.monotonic() - start))):
            got = await done
    except TimeoutError:
        return UdpResult(UdpOutcome.TIMEOUT, peer=str(address[0]), elapsed_ms=elapsed())
    finally:
        transport.close()
    if isinstance(got, ConnectionRefusedError):
        return UdpResult(UdpOutcome.REFUSED, peer=str(address[0]), elapsed_ms=elapsed(), detail=str(got))
    if isinstance(got, Exception):
        return UdpResult(UdpOutcome.ERROR, peer=str(address[0]), elapsed_ms=elapsed(), detail=str(got))
    data, peer = got
    return UdpResult(UdpOutcome.REPLY, data=data[:max_bytes], peer=peer, elapsed_ms=elapsed())
