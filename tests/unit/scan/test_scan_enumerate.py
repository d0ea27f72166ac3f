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


def test_blocks_in_the_servers_order_merge_with_one_check_per_boundary() -> None:
    from tlsdoctor.scan.enumerate import remove_in_blocks

    server = Server([1, 2, 11, 12, 21], prefer=True)  # block order agrees with the server's
    chain = run(remove_in_blocks(server.offer, [range(1, 10), range(10, 20), range(20, 30)], pick))
    assert chain.accepted == [1, 2, 11, 12, 21] and chain.server_order is True
    # 5 accepted + 3 chain ends + 2 boundary checks + 1 order probe; no merge probe
    assert server.calls == 11 and len(chain.probes) == 11


def test_interleaved_blocks_are_merged_into_the_servers_order() -> None:
    from tlsdoctor.scan.enumerate import remove_in_blocks

    order = [11, 1, 21, 12, 2, 22, 3]
    server = Server(order, prefer=True)
    first = run(server.offer(tuple(range(1, 30))))
    chain = run(remove_in_blocks(server.offer, [range(1, 10), range(10, 20), range(20, 30)], pick, first))
    assert chain.accepted == order and chain.server_order is True
    assert len(chain.probes) <= 2 * len(order) + 8  # bounded: a merge probe per value at most


def test_client_preference_in_blocks_is_our_order() -> None:
    from tlsdoctor.scan.enumerate import remove_in_blocks

    server = Server([22, 12, 3, 1], prefer=False)
    chain = run(remove_in_blocks(server.offer, [range(1, 10), range(10, 20), range(20, 30)], pick))
    assert chain.accepted == [1, 3, 12, 22] and chain.server_order is False


def test_every_random_server_order_is_recovered_exactly() -> None:
    import random

    from tlsdoctor.scan.enumerate import remove_in_blocks

    rng = random.Random(3)
    blocks = [range(1, 10), range(10, 20), range(20, 40)]
    for _ in range(200):
        order = rng.sample(range(1, 40), rng.randint(0, 12))
        server = Server(order, prefer=True)
        chain = run(remove_in_blocks(server.offer, blocks, pick))
        assert chain.accepted == order
        assert chain.server_order is (True if len(order) > 1 else None)


class Timed(Server):
    """A Server whose every offer takes one tick: ``waves`` is the depth of the longest chain."""

    def __init__(self, supported: Sequence[int], prefer: bool) -> None:
        super().__init__(supported, prefer)
        self.waves = 0
        self.live = 0

    async def offer(self, offered: tuple[int, ...]) -> ProbeResult:
        from tlsdoctor.scan.waves import Waves

        if not hasattr(self, "counter"):
            self.counter = Waves()
        wave = self.counter.begin()
        await asyncio.sleep(0.002)
        self.counter.end(wave)
        self.waves = self.counter.critical_path
        return await super().offer(offered)


def test_family_forks_cut_a_dense_block_to_its_families_depth() -> None:
    """Nine accepted values in three families of one block: one chain is ten offers deep; forking
    by family it is about one per family plus the family's own length, same answer."""
    from tlsdoctor.scan.enumerate import remove_in_blocks

    order = [10, 11, 12, 20, 21, 22, 30, 31, 32]
    block = [range(1, 40)]
    plain = Timed(order, prefer=True)
    chain = run(remove_in_blocks(plain.offer, block, pick))
    forked = Timed(order, prefer=True)
    chain2 = run(remove_in_blocks(forked.offer, block, pick, family=lambda c: c // 10))
    assert chain.accepted == chain2.accepted == order
    assert chain.server_order is chain2.server_order is True
    assert plain.waves == 11  # ten removal offers, then the order probe
    # the rest chain finds a family head per offer (3, then its "none"), each family's chain
    # follows one offer behind (3 deep), then one wave proves the family boundaries
    assert forked.waves <= 7


def test_no_fork_while_connections_are_busy() -> None:
    from tlsdoctor.scan.enumerate import remove_in_blocks

    order = [10, 11, 12, 20, 21, 22]
    busy = Server(order, prefer=True)
    chain = run(
        remove_in_blocks(busy.offer, [range(1, 40)], pick, family=lambda c: c // 10, idle=lambda: False)
    )
    assert chain.accepted == order and busy.calls == len(order) + 2  # the plain chain + order probe


def test_without_the_order_probe_a_client_order_server_gets_our_order() -> None:
    from tlsdoctor.scan.enumerate import remove_in_blocks

    server = Server([22, 12, 3, 1], prefer=False)
    blocks = [range(1, 10), range(10, 20), range(20, 30)]
    chain = run(remove_in_blocks(server.offer, blocks, pick, order_probe=False))
    assert chain.accepted == [1, 3, 12, 22] and chain.server_order is None


def test_every_random_order_with_families_is_recovered_exactly() -> None:
    import random

    from tlsdoctor.scan.enumerate import remove_in_blocks

    rng = random.Random(5)
    blocks = [range(1, 20), range(20, 45), range(45, 60)]
    for _ in range(200):
        order = rng.sample(range(1, 60), rng.randint(0, 16))
        prefer = rng.random() < 0.6
        server = Server(order, prefer=prefer)
        first = run(server.offer(tuple(range(1, 60))))
        chain = run(remove_in_blocks(server.offer, blocks, pick, first, family=lambda c: c % 4))
        assert chain.accepted == (order if prefer else sorted(order))
        assert chain.server_order is (None if len(order) < 2 else prefer)


def test_blocks_retry_one_lost_connection_after_a_find() -> None:
    """A reset after the chain found a value is asked again (one lost connection must not cut
    the list); a block whose first answer is a reset ends (nothing says it holds anything)."""
    from tlsdoctor.scan.enumerate import remove_in_blocks

    server = Server([4, 6, 15], prefer=True)
    lost: list[tuple[int, ...]] = []

    async def flaky(offered: tuple[int, ...]) -> ProbeResult:
        if len(offered) == 8 and not lost:  # the second offer of block 1..9: lost once
            lost.append(offered)
            return ProbeResult(end="reset")
        if offered and offered[0] >= 20 and len(offered) == 10:  # block 20..29 only ever resets
            return ProbeResult(end="reset")
        return await server.offer(offered)

    chain = run(remove_in_blocks(flaky, [range(1, 10), range(10, 20), range(20, 30)], pick))
    assert lost and chain.accepted == [4, 6, 15]


def test_serial_blocks_are_one_chain_a_handshake_per_value_and_one_more() -> None:
    """The blocks a server interleaves, run serially: the same answers as side by side, with
    one handshake per accepted value, one ending the chain and the order probe; nothing to prove."""
    import random

    from tlsdoctor.scan.enumerate import remove_in_blocks

    rng = random.Random(8)
    blocks = [range(1, 20), range(20, 45), range(45, 60)]
    for _ in range(100):
        order = rng.sample(range(1, 60), rng.randint(0, 16))
        prefer = rng.random() < 0.6
        side, serial = Server(order, prefer=prefer), Server(order, prefer=prefer)
        first = run(serial.offer(tuple(range(1, 60))))
        chain = run(remove_in_blocks(side.offer, blocks, pick, family=lambda c: c % 4))
        one = run(remove_in_blocks(serial.offer, blocks, pick, first, family=lambda c: c % 4, serial=True))
        assert one.accepted == chain.accepted and one.server_order is chain.server_order
        asked = len(order) + 1 + (len(order) > 1)  # ``first`` stands for the chain's first offer...
        assert serial.calls == asked + (not order)  # ...when it chose a value


def test_a_serial_chain_keeps_a_retry_per_block_it_stands_for() -> None:
    from tlsdoctor.scan.enumerate import remove_in_blocks

    server = Server([4, 6, 15, 25], prefer=True)
    lost = 0

    async def flaky(offered: tuple[int, ...]) -> ProbeResult:
        nonlocal lost
        if len(offered) in (27, 25) and lost < 2:  # two connections lost, after finds
            lost += 1
            return ProbeResult(end="reset")
        return await server.offer(offered)

    blocks = [range(1, 10), range(10, 20), range(20, 30)]
    assert run(remove_in_blocks(flaky, blocks, pick, serial=True)).accepted == [4, 6, 15, 25]
    assert lost == 2
