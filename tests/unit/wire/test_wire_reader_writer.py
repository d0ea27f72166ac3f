from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tlsdoctor.wire.reader import DecodeError, Reader
from tlsdoctor.wire.writer import Writer


def test_integers_and_offsets() -> None:
    r = Reader(bytes.fromhex("01 0203 040506 0708090a ff"), base=100)
    assert (r.u8("a"), r.u16("b"), r.u24("c"), r.u32("d")) == (1, 0x0203, 0x040506, 0x0708090A)
    assert r.offset == 110 and r.remaining() == 1
    with pytest.raises(DecodeError) as exc:
        r.u16("e")
    assert exc.value.offset == 110 and exc.value.field == "e"


def test_vector_bounds() -> None:
    assert Reader(b"\x02ab").vector(1, "v") == b"ab"
    with pytest.raises(DecodeError, match="needs 5 bytes"):
        Reader(b"\x00\x05abc").vector(2, "v")
    with pytest.raises(DecodeError, match="outside"):
        Reader(b"\x01a").vector(1, "v", min_len=2)
    with pytest.raises(DecodeError, match="outside"):
        Reader(b"\x03abc").vector(1, "v", max_len=2)


def test_restrict_to_overrun_and_under_consumption() -> None:
    r = Reader(b"\x00\x01\x02\x03")
    with pytest.raises(DecodeError, match="needs 2 bytes, only 1"), r.restrict_to(1, "outer"):
        r.u16("inner")  # overrun of the declared length, although the data has more
    r = Reader(b"\x00\x01\x02\x03")
    with pytest.raises(DecodeError, match="1 bytes left unread"), r.restrict_to(3, "outer"):
        r.u16("inner")
    with pytest.raises(DecodeError, match="exceeds"), Reader(b"ab").restrict_to(3, "outer"):
        pass


def test_restrict_to_restores_end() -> None:
    r = Reader(b"\x01\x02\x03")
    with r.restrict_to(1, "x"):
        r.u8("a")
    assert r.remaining() == 2


def test_sub_vector() -> None:
    r = Reader(b"\x00\x02\xaa\xbb\xcc")
    with r.sub_vector(2, "v"):
        assert r.u16("x") == 0xAABB
    assert r.u8("tail") == 0xCC


def test_writer_backpatch_nested() -> None:
    w = Writer()
    with w.vector(2):
        w.u8(1)
        with w.vector(1):
            w.bytes(b"abc")
    assert w.getvalue() == bytes.fromhex("0005 01 03") + b"abc"


def test_writer_rejects_our_bugs() -> None:
    with pytest.raises(ValueError):
        Writer().u8(256)
    w = Writer()
    with pytest.raises(ValueError), w.vector(1):
        w.bytes(bytes(256))


@given(st.lists(st.binary(max_size=300), max_size=10), st.sampled_from([1, 2, 3]))
def test_vector_round_trip(items: list[bytes], prefix: int) -> None:
    items = [i[: (1 << (8 * prefix)) - 1] for i in items]
    w = Writer()
    for item in items:
        w.opaque(prefix, item)
    r = Reader(w.getvalue())
    assert [r.vector(prefix, "v") for _ in items] == items
    r.expect_end("end")
