"""Removal chains against simulated servers: exact sets, the server's order, hard bounds."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from tlsdoctor.scan.enumerate import remove_chosen, server_order
from tlsdoctor.scan.probe import ProbeResult
from tlsdoctor.wire.codepoints import CompressionMethod, ProtocolVersion
from tlsdoctor.wire.handshake import ServerHello
from tlsdoctor.wire.registry import CipherSuite


def hello(suite: int) -> ProbeResult:
    sh = ServerHello(ProtocolVersion.TLS1_2, bytes(32), b"", CipherSuite(suite), CompressionMethod.NULL, ())
    return ProbeResult(end="hello", server_hello=sh)


def pick(r: ProbeResult) -> int | None:
    return int(r.server_hello.cipher_suite) if r.server_hello is not None else None


class Server:
    """Accepts ``supported``; picks by its own order (``prefer``) or by the client's."""

    def __init__(self, supported: Sequence[int], prefer: bool, ends: str = "alert") -> None:
        self.supported, self.prefer, self.ends, self.calls = list(supported), prefer, ends, 0

    async def offer(self, offered: tuple[int, ...]) -> ProbeResult:
        self.calls += 1
        order = self.supported if self.prefer else offered
        other = offered if self.prefer else self.supported
        chosen = next((s for s in order if s in other), None)
        return hello(chosen) if chosen is not None else ProbeResult(end=self.ends)


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


def test_server_preference_is_the_removal_order() -> None:
    server = Server([9, 3, 7], prefer=True)
    chain = run(remove_chosen(server.offer, range(1, 20), pick))
    assert chain.accepted == [9, 3, 7] and server.calls == 4  # one per accepted suite, one more
    assert run(server_order(server.offer, chain.accepted, pick)) is True


def test_client_preference_is_detected() -> None:
    server = Server([9, 3, 7], prefer=False)
    chain = run(remove_chosen(server.offer, range(1, 20), pick))
    assert sorted(chain.accepted) == [3, 7, 9]
    assert run(server_order(server.offer, chain.accepted, pick)) is False


def test_one_suite_has_no_order() -> None:
    server = Server([5], prefer=True)
    chain = run(remove_chosen(server.offer, range(1, 20), pick))
    assert chain.accepted == [5]
    assert run(server_order(server.offer, chain.accepted, pick)) is None


def test_a_value_not_offered_ends_the_chain() -> None:
    calls = 0

    async def stubborn(offered: tuple[int, ...]) -> ProbeResult:
        nonlocal calls
        calls += 1
        return hello(1)  # always the same, offered or not (an HRR loop looks like this)

    chain = run(remove_chosen(stubborn, range(1, 50), pick))
    assert chain.accepted == [1] and calls == 2


def test_the_chain_is_bounded_whatever_the_server_does() -> None:
    calls = 0

    async def chaos(offered: tuple[int, ...]) -> ProbeResult:
        nonlocal calls
        calls += 1
        return hello(offered[-1])

    candidates = list(range(1, 30))
    chain = run(remove_chosen(chaos, candidates, pick))
    assert sorted(chain.accepted) == candidates and calls <= len(candidates) + 2


def test_an_ambiguous_end_is_retried_once() -> None:
    answers = [hello(4), ProbeResult(end="reset"), hello(6), ProbeResult(end="alert")]

    async def flaky(offered: tuple[int, ...]) -> ProbeResult:
        return answers.pop(0)

    chain = run(remove_chosen(flaky, range(1, 10), pick))
    assert chain.accepted == [4, 6] and not answers
