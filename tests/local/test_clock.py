"""The clock check against a tiny NTP server on 127.0.0.1 that answers with a chosen offset."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import cast

import pytest

from tlsdoctor.checks.clock import ClockCheck, configured_servers, split_host_port
from tlsdoctor.clock import FixedClock
from tlsdoctor.context import Context, Options
from tlsdoctor.model import Status
from tlsdoctor.observations.cert import ClockOffset, NtpFailure
from tlsdoctor.wire import ntp

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
Answer = Callable[[bytes], bytes | None]


class _Server(asyncio.DatagramProtocol):
    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        reply = self.answer(data)
        if reply is not None and self.transport is not None:
            self.transport.sendto(reply, addr)


@asynccontextmanager
async def ntp_server(answer: Answer) -> AsyncIterator[str]:
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(lambda: _Server(answer), local_addr=("127.0.0.1", 0))
    try:
        yield f"127.0.0.1:{transport.get_extra_info('sockname')[1]}"
    finally:
        transport.close()


def offset_by(seconds: float, **kw: object) -> Answer:
    """A server whose clock is NOW + seconds (the client uses a FixedClock at NOW)."""

    def answer(request: bytes) -> bytes:
        t = NOW + dt.timedelta(seconds=seconds)
        return ntp.build_reply(request, t, t, **kw)  # type: ignore[arg-type]

    return answer


def context(ntp_server_addr: str | None, timeout: float = 2.0) -> Context:
    return Context(
        options=Options(host="example.test", ntp=ntp_server_addr, timeout=timeout), clock=FixedClock(NOW)
    )


@pytest.mark.parametrize(
    ("seconds", "status"),
    [(3600.0, Status.FAIL), (-86400.0 * 400, Status.FAIL), (10.0, Status.WARN), (0.2, Status.PASS)],
)
def test_offset_measured(seconds: float, status: Status) -> None:
    async def main() -> None:
        async with ntp_server(offset_by(seconds)) as addr:
            result = await ClockCheck(config_paths=()).run(context(addr))
        assert result.status is status
        (obs,) = result.observations
        assert isinstance(obs, ClockOffset)
        assert obs.offset_s == pytest.approx(seconds, abs=0.5)
        assert obs.stratum == 2 and obs.rtt_ms >= 0

    asyncio.run(main())


def test_silent_server_times_out() -> None:
    async def main() -> None:
        async with ntp_server(lambda _: None) as addr:
            result = await ClockCheck(config_paths=()).run(context(addr, timeout=0.3))
        assert result.status is Status.WARN
        (obs,) = result.observations
        assert isinstance(obs, NtpFailure) and obs.outcome == "timeout"

    asyncio.run(main())


def test_kiss_of_death_and_unsynchronized() -> None:
    async def main() -> None:
        async with ntp_server(offset_by(0, stratum=0, reference_id=b"RATE")) as addr:
            (obs,) = (await ClockCheck(config_paths=()).run(context(addr))).observations
        assert isinstance(obs, NtpFailure) and obs.outcome == "kiss-of-death" and "RATE" in obs.detail
        async with ntp_server(offset_by(0, leap=3)) as addr:
            (obs,) = (await ClockCheck(config_paths=()).run(context(addr))).observations
        assert isinstance(obs, NtpFailure) and obs.outcome == "unsynchronized"

    asyncio.run(main())


def test_spoofed_reply_is_refused() -> None:
    def answer(request: bytes) -> bytes:
        other = ntp.build_request(NOW - dt.timedelta(days=1))
        return ntp.build_reply(other, NOW, NOW)

    async def main() -> None:
        async with ntp_server(answer) as addr:
            (obs,) = (await ClockCheck(config_paths=()).run(context(addr))).observations
        assert isinstance(obs, NtpFailure) and obs.outcome == "bad-reply"

    asyncio.run(main())


def test_short_reply_is_bad() -> None:
    async def main() -> None:
        async with ntp_server(lambda _: b"\x24" * 10) as addr:
            (obs,) = (await ClockCheck(config_paths=()).run(context(addr))).observations
        assert isinstance(obs, NtpFailure) and obs.outcome == "bad-reply"

    asyncio.run(main())


def test_nothing_configured_is_skipped(tmp_path: Path) -> None:
    result = asyncio.run(ClockCheck(config_paths=(tmp_path / "none.conf",)).run(context(None)))
    assert result.status is Status.SKIP and "--ntp" in result.summary


def test_configured_servers_from_files(tmp_path: Path) -> None:
    chrony = tmp_path / "chrony.conf"
    chrony.write_text(
        "# comment\npool 2.debian.pool.ntp.org iburst\nserver ntp1.example maxpoll 6\nserver ntp2.example\n"
    )
    timesyncd = tmp_path / "timesyncd.conf"
    timesyncd.write_text("[Time]\n#NTP=\nFallbackNTP=time1.example time2.example\n")
    assert configured_servers([chrony]) == ["2.debian.pool.ntp.org", "ntp1.example"]
    assert configured_servers([timesyncd]) == ["time1.example", "time2.example"]
    timesyncd.write_text("[Time]\nNTP=a.example\nFallbackNTP=b.example\n")
    assert configured_servers([tmp_path / "missing", timesyncd]) == ["a.example"]


def test_split_host_port() -> None:
    assert split_host_port("ntp.example") == ("ntp.example", 123)
    assert split_host_port("127.0.0.1:1234") == ("127.0.0.1", 1234)
    assert split_host_port("[::1]:1234") == ("::1", 1234)
    assert split_host_port("2001:db8::1") == ("2001:db8::1", 123)
