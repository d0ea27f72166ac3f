"""Bounded cursor over peer bytes.

Every length a peer sends is checked here, once (STYLE rule 2, after dnspython's
``dns/wirebase.py`` ``Parser.restrict_to``). A declared length that runs past the
data is an *overrun*; a declared length whose contents are not fully consumed is an
*under-consumption*. Both are :class:`DecodeError`, the only exception ``wire/``
raises on peer data, so callers catch exactly one thing.
"""

from __future__ import annotations

import builtins
from types import TracebackType

__all__ = ["DecodeError", "Reader"]


class DecodeError(Exception):
    """Peer bytes that do not parse.

    ``offset`` is the absolute byte offset where decoding failed, ``field`` names the
    protocol field being read (e.g. ``"ServerHello.cipher_suite"``), so a report can say
    precisely what the peer got wrong.
    """

    def __init__(self, offset: int, field: str, message: str) -> None:
        super().__init__(f"{field} at offset {offset}: {message}")
        self.offset = offset
        self.field = field
        self.message = message


class Reader:
    """A cursor that never reads past ``end`` and can be narrowed with :meth:`restrict_to`.

    ``base`` is added to reported offsets so that a reader over a record fragment reports
    offsets relative to the whole stream when the caller knows it.
    """

    __slots__ = ("_base", "_data", "_end", "_pos")

    def __init__(self, data: builtins.bytes | bytearray | memoryview, base: int = 0) -> None:
        self._data = bytes(data)
        self._pos = 0
        self._end = len(self._data)
        self._base = base

    # -- position -------------------------------------------------------------
    @property
    def offset(self) -> int:
        """Absolute offset of the next byte (``base`` + position)."""
        return self._base + self._pos

    def remaining(self) -> int:
        """Bytes left before the current restriction ends."""
        return self._end - self._pos

    def at_end(self) -> bool:
        return self._pos >= self._end

    def fail(self, field: str, message: str) -> DecodeError:
        """Build a DecodeError at the current offset (callers ``raise r.fail(...)``)."""
        return DecodeError(self.offset, field, message)

    def _take(self, n: int, field: str) -> builtins.bytes:
        if n < 0:
            raise self.fail(field, f"negative length {n}")
        if n > self._end - self._pos:
            raise self.fail(field, f"needs {n} bytes, only {self._end - self._pos} left")
        start = self._pos
        self._pos += n
        return self._data[start : self._pos]

    # -- integers (network byte order, RFC 8446 §3.3) ---------------------------
    def u8(self, field: str) -> int:
        return self._take(1, field)[0]

    def u16(self, field: str) -> int:
        return int.from_bytes(self._take(2, field), "big")

    def u24(self, field: str) -> int:
        return int.from_bytes(self._take(3, field), "big")

    def u32(self, field: str) -> int:
        return int.from_bytes(self._take(4, field), "big")

    def bytes(self, n: int, field: str) -> builtins.bytes:
        return self._take(n, field)

    def rest(self, field: str = "rest") -> builtins.bytes:
        """All bytes up to the current restriction's end."""
        return self._take(self.remaining(), field)

    # -- vectors (RFC 8446 §3.4) ---------------------------------------------
    def _length(self, prefix: int, field: str) -> int:
        if prefix == 1:
            return self.u8(field + ".length")
        if prefix == 2:
            return self.u16(field + ".length")
        if prefix == 3:
            return self.u24(field + ".length")
        raise ValueError(f"unsupported length prefix {prefix}")  # our bug, not peer data

    def vector(
        self, prefix: int, field: str, *, min_len: int = 0, max_len: int | None = None
    ) -> builtins.bytes:
        """Read ``opaque field<min_len..max_len>`` with a ``prefix``-byte length (1, 2 or 3)."""
        n = self._length(prefix, field)
        if n < min_len or (max_len is not None and n > max_len):
            raise self.fail(field, f"length {n} outside {min_len}..{max_len}")
        return self._take(n, field)

    def restrict_to(self, n: int, field: str) -> _Restriction:
        """Narrow the cursor to the next ``n`` bytes, for a ``with`` block.

        Reading past them raises (overrun); leaving the block with bytes unread raises
        (under-consumption: the peer's inner lengths disagree with the outer one).
        An exception raised inside the block propagates unchanged.
        """
        if n < 0 or n > self.remaining():
            raise self.fail(field, f"declared length {n} exceeds the {self.remaining()} bytes available")
        saved_end = self._end
        self._end = self._pos + n
        return _Restriction(self, n, field, saved_end)

    def sub_vector(self, prefix: int, field: str, *, min_len: int = 0) -> _Restriction:
        """Read a length prefix and :meth:`restrict_to` it: ``with r.sub_vector(2, "exts"):``."""
        n = self._length(prefix, field)
        if n < min_len:
            raise self.fail(field, f"length {n} below minimum {min_len}")
        return self.restrict_to(n, field)

    def expect_end(self, field: str) -> None:
        """Fail unless the cursor is exactly at the end of the current restriction."""
        if not self.at_end():
            raise self.fail(field, f"{self.remaining()} trailing bytes")


class _Restriction:
    """The ``with`` block of :meth:`Reader.restrict_to`: on the way out, the under-consumption
    check (unless the block raised) and the outer end back. A class rather than a generator
    context manager: every extension, vector and message of every probe enters one, and a
    generator's set-up costs several times as much."""

    __slots__ = ("_field", "_n", "_reader", "_saved_end")

    def __init__(self, reader: Reader, n: int, field: str, saved_end: int) -> None:
        self._reader, self._n, self._field, self._saved_end = reader, n, field, saved_end

    def __enter__(self) -> Reader:
        return self._reader

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        r = self._reader
        try:
            if exc_type is None and r._pos != r._end:
                raise r.fail(
                    self._field, f"{r._end - r._pos} bytes left unread inside declared length {self._n}"
                )
        finally:
            r._end = self._saved_end
