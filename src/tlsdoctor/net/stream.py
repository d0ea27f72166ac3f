"""Bounded reads and writes on a connected non-blocking socket, failures as values.

Every read has a deadline and every connection a byte cap, so a peer that drips one
byte a second or never stops sending costs at most the deadline and the cap.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import socket
import time


class ReadEnd(enum.StrEnum):
    """Why a read returned no data."""

    DATA = "data"
    EOF = "eof"
    RESET = "reset"
    TIMEOUT = "timeout"
    CAP = "cap"
    ERROR = "error"


class Stream:
    """A connected socket with a deadline, a byte cap, and a record of what came in."""

    def __init__(self, sock: socket.socket, deadline: float, cap: int = 256 * 1024) -> None:
        self.sock = sock
        self.deadline = deadline  # time.monotonic() value
        self.cap = cap
        self.received = 0
        self.sent = 0
        self.head = bytearray()  # the first bytes received, for sniffing and evidence
        self.error: str = ""
        self.errno: int | None = None  # the OS errno of the last failed send or read
        self.pending = b""  # bytes already read past a proxy's answer, handed out first
        # Timing of the conversation, for telling a retransmission from distance without trusting
        # the TCP connect (which a local proxy, tunnel or relay answers at once): each wait from our
        # last send to the peer's next bytes is at least one round trip of the whole path.
        self.turns_ms: list[float] = []
        self.gap_ms = 0.0  # the longest wait between two chunks of one flight (nothing sent between)
        self._sent_at: float | None = None
        self._data_at: float | None = None

    def remaining(self) -> float:
        """Seconds left before the deadline (never negative)."""
        return max(0.0, self.deadline - time.monotonic())

    async def send(self, data: bytes) -> ReadEnd:
        """Send all of ``data``; RESET/ERROR if the peer is gone."""
        if not data:
            return ReadEnd.DATA
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.remaining()):
                await loop.sock_sendall(self.sock, data)
        except TimeoutError:
            return ReadEnd.TIMEOUT
        except (ConnectionResetError, BrokenPipeError) as exc:
            self.error, self.errno = f"{type(exc).__name__}: {exc}", exc.errno
            return ReadEnd.RESET
        except OSError as exc:
            self.error, self.errno = f"{type(exc).__name__}: {exc}", exc.errno
            return ReadEnd.ERROR
        self.sent += len(data)
        self._sent_at = time.monotonic()
        return ReadEnd.DATA

    async def recv(self, limit: float | None = None) -> tuple[ReadEnd, bytes]:
        """Read what is available, waiting at most until the deadline (or ``limit`` seconds)."""
        if self.pending:
            data, self.pending = self.pending, b""
            return ReadEnd.DATA, data
        if self.received >= self.cap:
            return ReadEnd.CAP, b""
        end, data = await self._read(limit, min(65536, self.cap - self.received))
        if end is not ReadEnd.DATA:
            return end, b""
        self.received += len(data)
        self._timed(time.monotonic())
        if len(self.head) < 256:
            self.head += data[: 256 - len(self.head)]
        return ReadEnd.DATA, data

    def timing_mark(self) -> int:
        """Start timing a new conversation on this stream (a proxy's CONNECT or a STARTTLS exchange
        came before it): its turns are those after the returned index, its gap starts at zero."""
        self.gap_ms, self._data_at = 0.0, None
        return len(self.turns_ms)

    def _timed(self, now: float) -> None:
        if self._sent_at is not None:
            self.turns_ms.append((now - self._sent_at) * 1000)
            self._sent_at = None
        elif self._data_at is not None:
            self.gap_ms = max(self.gap_ms, (now - self._data_at) * 1000)
        self._data_at = now

    async def _read(self, limit: float | None, size: int) -> tuple[ReadEnd, bytes]:
        """One read of at most ``size`` bytes from the socket; the transport end when none came."""
        wait = self.remaining() if limit is None else min(limit, self.remaining())
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(wait):
                data = await loop.sock_recv(self.sock, size)
        except TimeoutError:
            return ReadEnd.TIMEOUT, b""
        except ConnectionResetError as exc:
            self.error, self.errno = f"{type(exc).__name__}: {exc}", exc.errno
            return ReadEnd.RESET, b""
        except OSError as exc:
            self.error, self.errno = f"{type(exc).__name__}: {exc}", exc.errno
            return ReadEnd.ERROR, b""
        return (ReadEnd.DATA, data) if data else (ReadEnd.EOF, b"")

    def close(self) -> None:
        """Close the socket; safe to call twice."""
        with contextlib.suppress(OSError):
            self.sock.close()
