"""A packet delayer for the lab's ``delay`` fault: netfilter queues the packets, this holds each one for a
set time before letting it go, so every packet (SYN, ACK and retransmission too) crosses a long path and
TCP's own round trips count. The kernels we run on have no ``sch_netem``, which is how this is usually done.

The packets are queued by an iptables ``NFQUEUE`` rule; this process is the queue's listener, speaking
nfnetlink_queue (linux/netfilter/nfnetlink_queue.h) over a raw netlink socket with the standard library
alone: bind the queue, ask for metadata only (the verdict needs the packet's id, not its bytes), and answer
each packet NF_ACCEPT once its time has come. Verdicts may be given in any order; the queue holds at most
``MAX_QUEUED`` packets (the kernel drops beyond it, as a full router queue would). Jitter, when asked, never
reorders packets: each leaves no earlier than the one queued before it.

    python -m tlsdoctor.testing.lab.delayq --queue 7 --delay-ms 50 [--jitter-ms 5] [--seconds 600]
"""

from __future__ import annotations

import argparse
import errno
import heapq
import os
import random
import select
import signal
import socket
import struct
import sys
import time

NETLINK_NETFILTER = 12
NFNL_SUBSYS_QUEUE = 3
NFQNL_MSG_PACKET, NFQNL_MSG_VERDICT, NFQNL_MSG_CONFIG = 0, 1, 2
NFQA_CFG_CMD, NFQA_CFG_PARAMS, NFQA_CFG_QUEUE_MAXLEN = 1, 2, 3
NFQNL_CFG_CMD_BIND = 1
NFQNL_COPY_META = 1
NFQA_PACKET_HDR = 1
NFQA_VERDICT_HDR = 2
NF_ACCEPT = 1
NLM_F_REQUEST, NLM_F_ACK = 1, 4
NLMSG_ERROR = 2
MAX_QUEUED = 4096
MAX_SECONDS = 3600.0  # a delayer left behind by a crashed test ends on its own

_NLMSG = struct.Struct("=IHHII")  # nlmsghdr: length, type, flags, seq, port id (host order)
_NFGEN = struct.Struct("!BBH")  # nfgenmsg: family, version, resource id (the queue number, big-endian)
_ATTR = struct.Struct("=HH")  # nlattr: length, type


def _attr(kind: int, payload: bytes) -> bytes:
    length = _ATTR.size + len(payload)
    return _ATTR.pack(length, kind) + payload + b"\0" * (-length % 4)


def message(msg: int, queue: int, attrs: bytes, *, seq: int = 0, ack: bool = False) -> bytes:
    """One nfnetlink_queue message: netlink header, nfgenmsg, attributes (pure: no I/O)."""
    body = _NFGEN.pack(socket.AF_UNSPEC, 0, queue) + attrs
    flags = NLM_F_REQUEST | (NLM_F_ACK if ack else 0)
    return _NLMSG.pack(_NLMSG.size + len(body), (NFNL_SUBSYS_QUEUE << 8) | msg, flags, seq, 0) + body


def verdict(queue: int, packet_id: int) -> bytes:
    return message(
        NFQNL_MSG_VERDICT, queue, _attr(NFQA_VERDICT_HDR, struct.pack("!II", NF_ACCEPT, packet_id))
    )


def packet_ids(data: bytes) -> tuple[list[int], list[int]]:
    """The packet ids in a batch of netlink messages, and the errors (negative errno) of any acks."""
    ids: list[int] = []
    errors: list[int] = []
    at = 0
    while at + _NLMSG.size <= len(data):
        length, kind, _, _, _ = _NLMSG.unpack_from(data, at)
        if length < _NLMSG.size or at + length > len(data):
            break
        end = at + length
        if kind == NLMSG_ERROR and length >= _NLMSG.size + 4:
            (code,) = struct.unpack_from("=i", data, at + _NLMSG.size)
            if code:
                errors.append(code)
        elif kind == (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET:
            pos = at + _NLMSG.size + _NFGEN.size
            while pos + _ATTR.size <= end:
                alen, atype = _ATTR.unpack_from(data, pos)
                if alen < _ATTR.size:
                    break
                if atype & 0x7FFF == NFQA_PACKET_HDR and alen >= _ATTR.size + 4:
                    ids.append(struct.unpack_from("!I", data, pos + _ATTR.size)[0])
                pos += alen + (-alen % 4)
        at = end + (-length % 4)
    return ids, errors


def bind(queue: int) -> socket.socket:
    """A netlink socket bound to ``queue``, metadata only; OSError when the kernel refuses."""
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    sock.bind((0, 0))
    config = [
        _attr(NFQA_CFG_CMD, struct.pack("!BxH", NFQNL_CFG_CMD_BIND, socket.AF_INET)),
        _attr(NFQA_CFG_PARAMS, struct.pack("!IB", 0, NFQNL_COPY_META)),
        _attr(NFQA_CFG_QUEUE_MAXLEN, struct.pack("!I", MAX_QUEUED)),
    ]
    for seq, attrs in enumerate(config, 1):
        sock.send(message(NFQNL_MSG_CONFIG, queue, attrs, seq=seq, ack=True))
        sock.settimeout(2.0)
        _, errors = packet_ids(sock.recv(65536))
        if errors:
            sock.close()
            raise OSError(-errors[0], f"nfnetlink_queue config refused: {os.strerror(-errors[0])}")
    sock.setblocking(False)
    return sock


def run(queue: int, delay_s: float, jitter_s: float, seconds: float) -> None:
    sock = bind(queue)
    print(f"delayq: queue {queue}, {delay_s * 1000:.0f} ms", flush=True)  # the parent waits for this line
    due: list[tuple[float, int]] = []
    last = 0.0
    stop_at = time.monotonic() + seconds
    while time.monotonic() < stop_at:
        now = time.monotonic()
        while due and due[0][0] <= now:
            _, pid = heapq.heappop(due)
            try:
                sock.send(verdict(queue, pid))
            except OSError as exc:  # the packet is gone already (flushed rule): nothing to release
                if exc.errno not in (errno.ENOENT, errno.EINVAL):
                    raise
        wait = min(due[0][0] - now if due else 0.5, stop_at - now)
        ready, _, _ = select.select([sock], [], [], max(0.0, wait))
        if not ready:
            continue
        for _ in range(256):  # bounded: a flood must not starve the verdicts already due
            try:
                data = sock.recv(1 << 16)
            except BlockingIOError:
                break
            except OSError as exc:
                if exc.errno == errno.ENOBUFS:  # we fell behind; the kernel dropped what did not fit
                    continue
                raise
            ids, _ = packet_ids(data)
            arrived = time.monotonic()
            for pid in ids:
                leave = arrived + delay_s + (random.uniform(-jitter_s, jitter_s) if jitter_s else 0.0)
                last = max(leave, last)  # never reorder
                heapq.heappush(due, (last, pid))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--queue", type=int, required=True)
    parser.add_argument("--delay-ms", type=float, required=True)
    parser.add_argument("--jitter-ms", type=float, default=0.0)
    parser.add_argument("--seconds", type=float, default=MAX_SECONDS)
    args = parser.parse_args(argv)
    if not 0 <= args.queue <= 65535 or not 0 <= args.jitter_ms <= args.delay_ms <= 10_000:
        parser.error("need 0 <= queue <= 65535 and 0 <= jitter-ms <= delay-ms <= 10000")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        run(args.queue, args.delay_ms / 1000, args.jitter_ms / 1000, min(args.seconds, MAX_SECONDS))
    except OSError as exc:
        print(f"delayq: {exc}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
