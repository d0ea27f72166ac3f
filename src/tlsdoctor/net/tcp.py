"""open_tcp(): one TCP connect under a deadline, the single errno -> outcome table, and the
kernel's own loss counters of a connection (Linux TCP_INFO, linux/tcp.h).

OS errors become observations here, once (style rule 5); nothing above net/ sees OSError
from a connect. The counters are read just before a probe closes its socket: what they count
is evidence about the path that no timing can give (a retransmission is a lost segment, not a
slow server).
"""

from __future__ import annotations

import asyncio
import errno
import socket
import struct
import time
from typing import TYPE_CHECKING

from tlsdoctor.net import icmp as icmp_errors
from tlsdoctor.observations.tcp import ConnectOutcome, TcpConnect

if TYPE_CHECKING:
    from tlsdoctor.observations.path import TcpCounters

# The one table from errno to outcome. EADDRNOTAVAIL and EMFILE/ENFILE are the client's own
# exhaustion, not the network's: they name client-port-exhaustion / client-fd-exhaustion.
ERRNO_OUTCOME: dict[int, ConnectOutcome] = {
    errno.ECONNREFUSED: ConnectOutcome.REFUSED,
    errno.ETIMEDOUT: ConnectOutcome.TIMEOUT,
    errno.EHOSTUNREACH: ConnectOutcome.HOST_UNREACHABLE,
    errno.EHOSTDOWN: ConnectOutcome.HOST_UNREACHABLE,
    errno.ENETUNREACH: ConnectOutcome.NET_UNREACHABLE,
    errno.ENETDOWN: ConnectOutcome.NET_UNREACHABLE,
    errno.EADDRNOTAVAIL: ConnectOutcome.PORT_EXHAUSTED,
    errno.EMFILE: ConnectOutcome.FD_EXHAUSTED,
    errno.ENFILE: ConnectOutcome.FD_EXHAUSTED,
    errno.ENOBUFS: ConnectOutcome.FD_EXHAUSTED,
    errno.ECONNRESET: ConnectOutcome.RESET,
    errno.EACCES: ConnectOutcome.NET_UNREACHABLE,  # a local firewall (iptables OUTPUT REJECT) or policy
    errno.EPERM: ConnectOutcome.NET_UNREACHABLE,
}


def family_of(address: str) -> socket.AddressFamily:
    """AF_INET6 for an address with a colon, else AF_INET."""
    return socket.AF_INET6 if ":" in address else socket.AF_INET


def outcome_for(err: OSError) -> tuple[ConnectOutcome, int | None, str | None]:
    """Map an OSError from socket()/connect() to an outcome with its errno and name."""
    code = err.errno
    if isinstance(err, TimeoutError) and code is None:
        return ConnectOutcome.TIMEOUT, None, "timeout"
    if code is None:
        return ConnectOutcome.ERROR, None, type(err).__name__
    return ERRNO_OUTCOME.get(code, ConnectOutcome.ERROR), code, errno.errorcode.get(code, str(code))


async def open_tcp(
    address: str,
    port: int,
    timeout: float,
    *,
    mss: int | None = None,
    role: str = "target",
    ttl: int | None = None,
) -> tuple[TcpConnect, socket.socket | None]:
    """Connect to address:port within ``timeout`` seconds.

    Returns the observation and, when connected, a non-blocking socket the caller owns.
    ``mss`` sets TCP_MAXSEG before connecting (path-MTU probing); ``role`` says whether this is
    the target or the proxy; ``ttl`` limits the SYN's hops (a TCP traceroute, net/trace.py).
    A connect refused by a router's ICMP error names that router (``icmp_from``).
    """
    fam = family_of(address)
    name = "ipv6" if fam == socket.AF_INET6 else "ipv4"
    start = time.monotonic()

    def observe(
        outcome: ConnectOutcome,
        code: int | None = None,
        code_name: str | None = None,
        icmp: icmp_errors.IcmpError | None = None,
    ) -> TcpConnect:
        return TcpConnect(
            address=address,
            port=port,
            family=name,
            outcome=outcome,
            errno=code,
            errno_name=code_name,
            elapsed_ms=(time.monotonic() - start) * 1000,
            role=role,
            icmp=icmp.what if icmp else "",
            icmp_from=icmp.offender if icmp else None,
        )

    try:
        sock = socket.socket(fam, socket.SOCK_STREAM)
    except OSError as exc:
        return observe(*outcome_for(exc)), None
    try:
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if mss:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, mss)
        if ttl:
            v6 = fam == socket.AF_INET6
            sock.setsockopt(
                socket.IPPROTO_IPV6 if v6 else socket.IPPROTO_IP,
                socket.IPV6_UNICAST_HOPS if v6 else socket.IP_TTL,
                ttl,
            )
        # Which router refused us, if one did: its ICMP error is queued with its address (net/icmp.py).
        recverr = icmp_errors.enable_recverr(sock)
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(timeout):
            await loop.sock_connect(sock, (address, port))
    except TimeoutError:
        sock.close()
        return observe(ConnectOutcome.TIMEOUT, errno.ETIMEDOUT, "ETIMEDOUT"), None
    except OSError as exc:
        said = next((e for e in icmp_errors.drain(sock) if e.from_icmp), None)
        sock.close()
        return observe(*outcome_for(exc), icmp=said), None
    except BaseException:
        sock.close()
        raise
    if recverr:
        icmp_errors.disable_recverr(sock)
    return observe(ConnectOutcome.CONNECTED), sock


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
    from tlsdoctor.observations.path import TcpCounters  # diagnose's path evidence: a scan never loads it

    retransmits, rtt_ms, reordered = tcp_info(sock)
    return TcpCounters(
        probe=probe, address=address, port=port, retransmits=retransmits, reordered=reordered, rtt_ms=rtt_ms
    )
