"""The shape every STARTTLS preamble shares: events, caps, and a script run as a generator.

Sans-IO in h11's manner: ``receive_data(bytes)`` (``b""`` for EOF) and ``next_event()``, which
returns :data:`NEED_DATA` until the script can go on. Each protocol is written as one readable
generator (``_script``) that yields what to send and what the server said, asks for bytes through
the bounded ``_line``/``_exactly`` helpers, and returns its terminal event. Every line, reply and
the whole preamble are capped, so a hostile server costs bounded memory and a bounded number of steps.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Generator
from typing import ClassVar, Final

MAX_PREAMBLE_BYTES = 64 * 1024  # far above any real greeting + capabilities exchange
MAX_REPLY_LINES = 256  # lines in one multi-line reply (SMTP EHLO, IMAP untagged, POP3 CAPA, FTP)
HEAD_BYTES = 256  # first bytes kept for sniffing and evidence
TEXT_CAP = 200  # characters of a server line kept in events and evidence


class _Sentinel(enum.Enum):
    NEED_DATA = "NEED_DATA"


NEED_DATA: Final = _Sentinel.NEED_DATA


@dataclasses.dataclass(frozen=True, slots=True)
class Send:
    """Bytes the client must send now."""

    data: bytes


@dataclasses.dataclass(frozen=True, slots=True)
class Received:
    """A step of the server's side, as readable text (a banner, a capability list, a reply)."""

    text: str


@dataclasses.dataclass(frozen=True, slots=True)
class Ready:
    """The server agreed: the next bytes on the connection are the TLS ClientHello.

    ``trailing`` holds bytes the server sent after its go-ahead and before our ClientHello: a server
    (or a box in the path) that does that is open to plaintext injection (CVE-2011-0411,
    CVE-2021-23214); a careful client discards them, as the driver does.
    """

    trailing: bytes = b""


@dataclasses.dataclass(frozen=True, slots=True)
class Refused:
    """The server speaks the protocol but will not start TLS (or refused the session)."""

    reason: str
    reply: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class NotThisProtocol:
    """The server's first bytes are not this protocol at all (often TLS itself, or another service)."""

    first_bytes: bytes
    reason: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class Malformed:
    """The server started in this protocol, then broke it: a cap exceeded, a garbled reply."""

    reason: str


@dataclasses.dataclass(frozen=True, slots=True)
class Closed:
    """The server closed the connection (EOF) while we waited for ``stage``."""

    stage: str


Terminal = Ready | Refused | NotThisProtocol | Malformed | Closed
Event = Send | Received | Terminal
Script = Generator["Send | Received | _Want", None, Terminal]


class _Want(enum.Enum):
    MORE = "more"  # the script needs more bytes before it can go on


class _End(Exception):
    """Raised inside a script's helpers to end it with ``event`` (caps, EOF, garbage)."""

    def __init__(self, event: Terminal) -> None:
        super().__init__(event)
        self.event = event


def printable(data: bytes, cap: int = TEXT_CAP) -> str:
    """Server text for events and evidence: decoded leniently and capped, otherwise exact (control
    characters are escaped where the text is shown: tlsdoctor.report.escape)."""
    text = data[: cap * 2].decode("utf-8", errors="replace")
    return text if len(text) <= cap else text[: cap - 3] + "..."


class Preamble:
    """Base of the protocol machines. Subclasses set ``protocol``/``label`` and write ``_script``."""

    protocol: ClassVar[str] = ""
    label: ClassVar[str] = ""
    max_line: ClassVar[int] = 4096

    def __init__(self, servername: str | None = None) -> None:
        self.servername = servername
        self.stage = "the server's greeting"  # what the script waits for: the driver's words on a timeout
        self.advertised: bool | None = None  # STARTTLS offered in the capabilities (None: not asked)
        self.head = bytearray()
        self.received = 0
        self._buffer = bytearray()
        self._eof = False
        self._greeted = False  # after the first good reply, garbage is Malformed, not NotThisProtocol
        self._final: Terminal | None = None
        self._script_gen: Script = self._script()

    # -- the sans-IO surface ------------------------------------------------

    def receive_data(self, data: bytes) -> None:
        """Feed bytes from the server; ``b""`` means the server closed (EOF)."""
        if not data:
            self._eof = True
            return
        self.received += len(data)
        if len(self.head) < HEAD_BYTES:
            self.head += data[: HEAD_BYTES - len(self.head)]
        if self.received > MAX_PREAMBLE_BYTES:
            if self._final is None:
                self._final = Malformed(f"more than {MAX_PREAMBLE_BYTES} bytes before TLS could start")
            self._buffer.clear()
            return
        self._buffer += data

    def next_event(self) -> Event | _Sentinel:
        """The next thing to do or know; NEED_DATA until more bytes are fed. Terminal events repeat."""
        if self._final is not None:
            return self._final
        try:
            item = next(self._script_gen)
        except StopIteration as stop:
            final: Terminal = stop.value
            self._final = final
            return final
        except _End as end:
            self._final = end.event
            return end.event
        if item is _Want.MORE:
            return NEED_DATA
        assert not isinstance(item, _Want)
        return item

    # -- helpers for scripts ---------------------------------------------------

    def _script(self) -> Script:
        raise NotImplementedError
        yield  # pragma: no cover - makes this a generator

    def _not_this(self, why: str) -> _End:
        """The end for bytes that do not fit: another protocol before the first good reply, else broken."""
        if self._greeted:
            return _End(Malformed(why))
        return _End(NotThisProtocol(bytes(self.head), why))

    def plausible(self, head: bytes) -> bool:
        """Whether ``head`` (the first bytes, maybe few) can start this protocol's greeting; overridden by the
        server-first protocols so that another protocol is named at once, not after a timeout or EOF."""
        return True

    def _line(self) -> Generator[_Want, None, bytes]:
        """One line without its CRLF (a bare LF is accepted, as most clients do); capped at max_line."""
        while True:
            if not self._greeted and self._buffer and not self.plausible(bytes(self._buffer[:8])):
                raise self._not_this(f"not {self.label} while waiting for {self.stage}")
            end = self._buffer.find(b"\n", 0, self.max_line + 1)
            if end >= 0:
                line = bytes(self._buffer[:end]).rstrip(b"\r")
                del self._buffer[: end + 1]
                return line
            if len(self._buffer) > self.max_line:
                raise self._not_this(f"a line over {self.max_line} bytes while waiting for {self.stage}")
            if self._eof:
                raise _End(Closed(self.stage))
            yield _Want.MORE

    def _exactly(self, n: int) -> Generator[_Want, None, bytes]:
        """Exactly ``n`` bytes (callers check ``n`` against their packet cap first)."""
        while len(self._buffer) < n:
            if self._eof:
                raise _End(Closed(self.stage))
            yield _Want.MORE
        data = bytes(self._buffer[:n])
        del self._buffer[:n]
        return data

    def _too_many(self) -> _End:
        """The end for a reply with more than MAX_REPLY_LINES lines (an endless banner)."""
        return _End(Malformed(f"a reply of more than {MAX_REPLY_LINES} lines while waiting for {self.stage}"))

    def _ready(self) -> Ready:
        """Ready, with whatever the server sent past its go-ahead."""
        trailing = bytes(self._buffer)
        self._buffer.clear()
        return Ready(trailing)
