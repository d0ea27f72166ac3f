"""testing/lab/delayq.py's netlink messages, byte for byte (linux/netfilter/nfnetlink_queue.h), and its
reading of what the kernel sends: packet ids out of a batch, acks' errors, truncated input bounded."""

from __future__ import annotations

import struct

from tlsdoctor.testing.lab.delayq import message, packet_ids, verdict

PACKET = (3 << 8) | 0  # NFNL_SUBSYS_QUEUE << 8 | NFQNL_MSG_PACKET


def packet_message(packet_id: int) -> bytes:
    """A queued-packet notice as the kernel sends it: nlmsghdr, nfgenmsg, NFQA_PACKET_HDR (id, proto,
    hook)."""
    attr = struct.pack("=HH", 4 + 7, 1) + struct.pack("!IHB", packet_id, 0x0800, 2) + b"\0"
    body = struct.pack("!BBH", 2, 0, 7) + attr
    return struct.pack("=IHHII", 16 + len(body), PACKET, 0, 0, 0) + body


def test_verdict_accepts_one_packet_of_one_queue() -> None:
    got = verdict(7, 0x01020304)
    length, kind, flags, _, _ = struct.unpack_from("=IHHII", got)
    assert (length, kind, flags) == (len(got), (3 << 8) | 1, 1) and length % 4 == 0
    assert got[16:20] == bytes([0, 0, 0, 7])  # AF_UNSPEC, version 0, queue 7 big-endian
    assert got[20:24] == struct.pack("=HH", 12, 2)  # NFQA_VERDICT_HDR
    assert got[24:] == struct.pack("!II", 1, 0x01020304)  # NF_ACCEPT, the packet id


def test_config_asks_for_an_ack() -> None:
    got = message(2, 7, b"", seq=3, ack=True)
    assert struct.unpack_from("=IHHII", got) == (20, (3 << 8) | 2, 1 | 4, 3, 0)


def test_packet_ids_of_a_batch_and_acks() -> None:
    error = struct.pack("=IHHII", 36, 2, 0, 1, 0) + struct.pack("=i", -1) + bytes(16)
    ok = struct.pack("=IHHII", 36, 2, 0, 2, 0) + struct.pack("=i", 0) + bytes(16)
    batch = packet_message(5) + error + packet_message(6) + ok
    assert packet_ids(batch) == ([5, 6], [-1])


def test_truncated_or_lying_input_is_bounded() -> None:
    whole = packet_message(9)
    for cut in range(len(whole)):
        assert packet_ids(whole[:cut]) == ([], [])  # a message cut short is not read at all
    assert packet_ids(whole) == ([9], [])
    liar = struct.pack("=IHHII", 0xFFFF, PACKET, 0, 0, 0) + bytes(8)
    assert packet_ids(liar) == ([], [])
    zero_attr = struct.pack("=IHHII", 24, PACKET, 0, 0, 0) + bytes(4) + struct.pack("=HH", 0, 1)
    assert packet_ids(zero_attr) == ([], [])
