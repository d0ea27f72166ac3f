"""Just enough ClientHello parsing for the DPI emulations: the SNI host name and the first record's size.

Private to `tlsdoctor.testing` on purpose: the fault servers must not share code with the `wire/` codec they
are used to test, or a parsing bug would hide itself. Every length is checked against what is left; anything
malformed is reported as `MALFORMED`, never raised.
"""

from __future__ import annotations

from typing import Final

MALFORMED: Final = "<malformed>"
_HANDSHAKE = 0x16  # ContentType.handshake, RFC 8446 5.1
_CLIENT_HELLO = 0x01  # HandshakeType.client_hello, RFC 8446 4
_SERVER_NAME = 0x0000  # ExtensionType.server_name, RFC 6066 3
_HOST_NAME = 0x00  # NameType.host_name, RFC 6066 3


class _Short(Exception):
    """A declared length runs past the data."""


class _Cursor:
    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    def take(self, n: int) -> bytes:
        if n < 0 or self._pos + n > len(self._data):
            raise _Short
        chunk = self._data[self._pos : self._pos + n]
        self._pos += n
        return chunk

    def uint(self, width: int) -> int:
        return int.from_bytes(self.take(width), "big")

    def vector(self, width: int) -> _Cursor:
        """A length-prefixed sub-vector as its own cursor, so it cannot read past its declared end."""
        return _Cursor(self.take(self.uint(width)))

    @property
    def left(self) -> int:
        return len(self._data) - self._pos


def record_length(data: bytes) -> int | None:
    """The length field of the first TLS record header, or None if `data` is not a handshake record."""
    if len(data) < 5 or data[0] != _HANDSHAKE or data[1] != 0x03:
        return None
    return int.from_bytes(data[3:5], "big")


def client_hello_sni(data: bytes) -> str | None:
    """The host_name in the server_name extension of the ClientHello starting `data`.

    None when the hello has no SNI; MALFORMED when `data` is not a well-formed ClientHello in one record (a
    real DPI box in this spot typically fails open or closed; the servers decide which).
    """
    try:
        record = _Cursor(data)
        if record.uint(1) != _HANDSHAKE:
            return MALFORMED
        record.take(2)  # legacy_record_version
        fragment = record.vector(2)
        if fragment.uint(1) != _CLIENT_HELLO:
            return MALFORMED
        hello = fragment.vector(3)
        hello.take(2 + 32)  # legacy_version, random
        hello.vector(1)  # legacy_session_id
        hello.vector(2)  # cipher_suites
        hello.vector(1)  # legacy_compression_methods
        if hello.left == 0:
            return None  # no extensions at all (RFC 5246 7.4.1.2 allows it)
        extensions = hello.vector(2)
        for _ in range(1024):
            if extensions.left == 0:
                return None
            ext_type = extensions.uint(2)
            body = extensions.vector(2)
            if ext_type == _SERVER_NAME:
                return _host_name(body)
        return MALFORMED
    except _Short:
        return MALFORMED


def _host_name(body: _Cursor) -> str:
    names = body.vector(2)
    for _ in range(64):
        if names.left == 0:
            break
        name_type = names.uint(1)
        name = names.take(names.uint(2))
        if name_type == _HOST_NAME:
            return name.decode("ascii", "replace").lower()
    return MALFORMED
