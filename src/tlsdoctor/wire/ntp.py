"""SNTP client packets (RFC 4330): build a request, parse and judge a reply. Pure: no socket, no clock.

The caller supplies the wall-clock instants (T1 when the request left, T4 when the
reply arrived); the offset and delay arithmetic of RFC 4330 section 5 is here so it
can be tested with made-up timestamps.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import struct

from tlsdoctor.wire.reader import DecodeError

PACKET_SIZE = 48  # RFC 4330 section 4: the header without authenticator
NTP_EPOCH = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
ERA = 1 << 32  # seconds per NTP era (section 3: era 1 starts in 2036)
VERSION = 4
MODE_CLIENT = 3
MODE_SERVER = 4
MODE_BROADCAST = 5
LI_ALARM = 3  # leap indicator "clock not synchronized"
_PACKET = struct.Struct("!BBbb4s4s4sQQQQ")


def to_timestamp(when: dt.datetime) -> int:
    """A datetime as a 64-bit NTP timestamp (32.32 fixed point seconds since 1900, modulo the era)."""
    seconds = (when - NTP_EPOCH).total_seconds()
    whole = int(seconds // 1)
    fraction = int((seconds - whole) * (1 << 32)) & 0xFFFFFFFF
    return ((whole % ERA) << 32) | fraction


def from_timestamp(value: int) -> dt.datetime:
    """An NTP timestamp as a datetime; seconds with the top bit clear are era 1 (RFC 4330 section 3)."""
    seconds = value >> 32
    if not seconds & 0x80000000:
        seconds += ERA
    return NTP_EPOCH + dt.timedelta(seconds=seconds + (value & 0xFFFFFFFF) / (1 << 32))


def build_request(transmit: dt.datetime) -> bytes:
    """A client request (RFC 4330 section 5): LI 0, VN 4, mode 3, only the transmit timestamp set.

    The transmit timestamp doubles as a nonce: a genuine reply echoes it as its originate timestamp.
    """
    return _PACKET.pack(
        (VERSION << 3) | MODE_CLIENT,
        0,
        0,
        0,
        b"\0" * 4,
        b"\0" * 4,
        b"\0" * 4,
        0,
        0,
        0,
        to_timestamp(transmit),
    )


@dataclasses.dataclass(frozen=True, slots=True)
class Reply:
    """A server's reply, fields as RFC 4330 section 4 names them."""

    leap: int
    version: int
    mode: int
    stratum: int
    reference_id: bytes
    originate: int
    receive: int
    transmit: int

    @property
    def kiss_code(self) -> str | None:
        """The kiss-o'-death code (stratum 0, section 8), e.g. "RATE", "DENY"."""
        if self.stratum != 0:
            return None
        return self.reference_id.decode("ascii", "replace").strip("\0 ")


def parse_reply(data: bytes) -> Reply:
    """Decode a reply header; anything shorter than 48 bytes is a DecodeError (extensions are ignored)."""
    if len(data) < PACKET_SIZE:
        raise DecodeError(len(data), "ntp.header", f"{len(data)} bytes, need {PACKET_SIZE}")
    first, stratum, _poll, _precision, _delay, _disp, ref_id, _ref, orig, recv, xmit = _PACKET.unpack_from(
        data
    )
    return Reply(
        leap=first >> 6,
        version=(first >> 3) & 7,
        mode=first & 7,
        stratum=stratum,
        reference_id=ref_id,
        originate=orig,
        receive=recv,
        transmit=xmit,
    )


class Unusable(ValueError):
    """A well-formed reply that gives no usable time; ``outcome`` says why."""

    def __init__(self, outcome: str, detail: str) -> None:
        super().__init__(detail)
        self.outcome = outcome
        self.detail = detail


def check_reply(reply: Reply, request: bytes) -> None:
    """The sanity checks of RFC 4330 section 5: mode, echo of our timestamp, kiss-o'-death, LI alarm."""
    if reply.mode not in (MODE_SERVER, MODE_BROADCAST):
        raise Unusable("bad-reply", f"mode {reply.mode}, not a server reply")
    if reply.originate != _PACKET.unpack(request)[-1]:
        raise Unusable("bad-reply", "the reply does not echo our transmit timestamp")
    if reply.kiss_code is not None:
        raise Unusable("kiss-of-death", f"kiss-o'-death {reply.kiss_code!r}")
    if reply.leap == LI_ALARM or reply.stratum > 15:
        raise Unusable(
            "unsynchronized", f"the server is not synchronized (LI {reply.leap}, stratum {reply.stratum})"
        )
    if reply.transmit == 0:
        raise Unusable("bad-reply", "transmit timestamp is zero")


def offset_and_delay(t1: dt.datetime, reply: Reply, t4: dt.datetime) -> tuple[float, float]:
    """(offset, round-trip delay) in seconds, RFC 4330 section 5.

    offset = ((T2 - T1) + (T3 - T4)) / 2, positive when the local clock is behind;
    delay = (T4 - T1) - (T3 - T2).
    """
    t2 = from_timestamp(reply.receive)
    t3 = from_timestamp(reply.transmit)
    offset = ((t2 - t1).total_seconds() + (t3 - t4).total_seconds()) / 2
    delay = (t4 - t1).total_seconds() - (t3 - t2).total_seconds()
    return offset, max(0.0, delay)


def build_reply(
    request: bytes,
    receive: dt.datetime,
    transmit: dt.datetime,
    *,
    stratum: int = 2,
    leap: int = 0,
    reference_id: bytes = b"LOCL",
) -> bytes:
    """A server reply to ``request`` (for test servers and ``demo``): echoes its transmit timestamp."""
    originate = _PACKET.unpack(request[:PACKET_SIZE])[-1]
    return _PACKET.pack(
        (leap << 6) | (VERSION << 3) | MODE_SERVER,
        stratum,
        6,
        -20,
        b"\0" * 4,
        b"\0" * 4,
        reference_id[:4].ljust(4, b"\0"),
        to_timestamp(receive),
        originate,
        to_timestamp(receive),
        to_timestamp(transmit),
    )
