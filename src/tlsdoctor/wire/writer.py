"""Byte builder with length-prefix back-patching.

``with w.vector(2): ...`` writes a placeholder length, lets the body append, then
patches the real length in, so nested TLS vectors (RFC 8446 §3.4) are built in one
pass without computing sizes by hand. Values come from our own code, so a value out of
range is our bug and raises :class:`ValueError`, never :class:`DecodeError`.
"""

from __future__ import annotations

import builtins
import struct
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

__all__ = ["Writer"]


class Writer:
    __slots__ = ("_buf",)

    def __init__(self) -> None:
        self._buf = bytearray()

    def __len__(self) -> int:
        return len(self._buf)

    def getvalue(self) -> builtins.bytes:
        return bytes(self._buf)

    def _int(self, value: int, size: int) -> Writer:
        if not 0 <= value < 1 << (8 * size):
            raise ValueError(f"{value} does not fit in {size} bytes")
        self._buf += value.to_bytes(size, "big")
        return self

    def u8(self, value: int) -> Writer:
        return self._int(value, 1)

    def u16(self, value: int) -> Writer:
        return self._int(value, 2)

    def u24(self, value: int) -> Writer:
        return self._int(value, 3)

    def u32(self, value: int) -> Writer:
        return self._int(value, 4)

    def u16s(self, values: Iterable[int]) -> Writer:
        """Each value as a u16, in one pack (a ClientHello's suites are hundreds of them; struct
        checks every value's range and raises struct.error, re-raised as ValueError)."""
        vs = tuple(values)
        try:
            self._buf += struct.pack(f">{len(vs)}H", *vs)
        except struct.error:
            bad = next((v for v in vs if not 0 <= v < 1 << 16), None)
            raise ValueError(f"{bad} does not fit in 2 bytes") from None
        return self

    def bytes(self, data: builtins.bytes | bytearray) -> Writer:
        self._buf += data
        return self

    def opaque(self, prefix: int, data: builtins.bytes | bytearray) -> Writer:
        """``opaque<..2^(8*prefix)-1>``: length then data."""
        self._int(len(data), prefix)
        self._buf += data
        return self

    @contextmanager
    def vector(self, prefix: int) -> Iterator[Writer]:
        """Reserve a ``prefix``-byte length, run the body, patch the length in."""
        if prefix not in (1, 2, 3):
            raise ValueError(f"unsupported length prefix {prefix}")
        at = len(self._buf)
        self._buf += bytes(prefix)
        yield self
        n = len(self._buf) - at - prefix
        if n >= 1 << (8 * prefix):
            raise ValueError(f"vector of {n} bytes overflows a {prefix}-byte length")
        self._buf[at : at + prefix] = n.to_bytes(prefix, "big")
