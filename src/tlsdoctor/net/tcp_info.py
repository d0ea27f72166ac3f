"""The kernel's own loss counters for one TCP connection (Linux TCP_INFO, linux/tcp.h).

Read just before a probe closes its socket: what they count is evidence about the path that no
timing can give (a retransmission is a lost segment, not a slow server).
"""

from __future__ import annotations

import socket
import struct

from tlsdoctor.observations.path import TcpCounters

# struct tcp_info (linux/tcp.h): 8 bytes of u8 fields, then u32s; rtt is the 16th, total_retrans the 24th;
# tcpi_rcv_ooopack (Linux 5.4+) sits at byte 224, after the u64 counters.
_TCP_INFO_LEN = 232
_RTT_OFFSET, _TOTAL_RETRANS_OFFSET, _RCV_OOOPACK_OFFSET = 8 + 4 * 15, 8 + 4 * 23, 224


def tcp_info(sock: socket.socket) -> tuple[int, float, int]:
    """(segments we retransmitted, smoothed RTT in ms, out-of-order segments received) from TCP_INFO.

    Our own retransmissions only show loss on the way out; a server segment lost on the way in shows
    as the ones behind it arriving out of order. Zeros where the kernel does not say.
    """
    try:
        raw = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, _TCP_INFO_LEN)
    except OSError:
        return 0, 0.0, 0
    if len(raw) < _TOTAL_RETRANS_OFFSET + 4:
        return 0, 0.0, 0
    rtt_us = struct.unpack_from("I", raw, _RTT_OFFSET)[0]
    ooo = struct.unpack_from("I", raw, _RCV_OOOPACK_OFFSET)[0] if len(raw) >= _RCV_OOOPACK_OFFSET + 4 else 0
    return struct.unpack_from("I", raw, _TOTAL_RETRANS_OFFSET)[0], rtt_us / 1000, ooo


def counters(sock: socket.socket, probe: str, address: str, port: int) -> TcpCounters:
    """The TCP_INFO counters of a probe's connection as an observation."""
    retransmits, rtt_ms, reordered = tcp_info(sock)
    return TcpCounters(
        probe=probe, address=address, port=port, retransmits=retransmits, reordered=reordered, rtt_ms=rtt_ms
    )
