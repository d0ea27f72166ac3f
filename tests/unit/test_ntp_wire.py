"""SNTP packets (RFC 4330): timestamps, request, reply checks, offset arithmetic."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tlsdoctor.wire import ntp
from tlsdoctor.wire.reader import DecodeError

T = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)


@given(
    st.datetimes(
        min_value=dt.datetime(1970, 1, 1), max_value=dt.datetime(2100, 1, 1), timezones=st.just(dt.UTC)
    )
)
def test_timestamp_round_trip_across_the_2036_era(when: dt.datetime) -> None:
    back = ntp.from_timestamp(ntp.to_timestamp(when))
    assert abs((back - when).total_seconds()) < 1e-6


def test_request_layout() -> None:
    req = ntp.build_request(T)
    assert len(req) == 48 and req[0] == 0x23  # LI 0, VN 4, mode 3
    assert int.from_bytes(req[40:48], "big") == ntp.to_timestamp(T)


def test_offset_and_delay() -> None:
    req = ntp.build_request(T)
    server = T + dt.timedelta(seconds=100)
    reply = ntp.parse_reply(ntp.build_reply(req, server, server + dt.timedelta(milliseconds=2)))
    ntp.check_reply(reply, req)
    offset, delay = ntp.offset_and_delay(T, reply, T + dt.timedelta(milliseconds=40))
    assert offset == pytest.approx(100 - 0.019, abs=1e-3)
    assert delay == pytest.approx(0.038, abs=1e-3)


def test_reply_checks() -> None:
    req = ntp.build_request(T)
    with pytest.raises(ntp.Unusable, match="mode"):
        ntp.check_reply(ntp.parse_reply(req), req)
    with pytest.raises(DecodeError):
        ntp.parse_reply(b"\x24" * 47)
