"""ICMP errors as the kernel hands them to an unprivileged socket: IP_RECVERR and the error queue.

With ``IP_RECVERR`` (``IPV6_RECVERR``) set, an ICMP error about one of our packets is queued on our own
socket with the address of the router that sent it (``SO_EE_OFFENDER``), so a client can say *which*
hop answered "host unreachable", "time exceeded" or "fragmentation needed, MTU 1280" without raw
sockets. See ip(7) IP_RECVERR and <linux/errqueue.h>. Python 3.11 names none of these constants.
"""

from __future__ import annotations

import dataclasses
import socket
import struct

IP_RECVERR, IPV6_RECVERR = 11, 25
IP_MTU_DISCOVER, IP_PMTUDISC_DO, IP_MTU = 10, 2, 14
ORIGIN_LOCAL, ORIGIN_ICMP, ORIGIN_ICMP6 = 1, 2, 3
_EXTENDED_ERR = struct.Struct("=IBBBBII")  # ee_errno, origin, type, code, pad, info, data

_ICMP4 = {
    (3, 0): "network unreachable",
    (3, 1): "host unreachable",
    (3, 2): "protocol unreachable",
    (3, 3): "port unreachable",
    (3, 4): "fragmentation needed",
    (3, 9): "network prohibited",
    (3, 10): "host prohibited",
    (3, 13): "administratively prohibited",
    (11, 0): "time exceeded",
}
_ICMP6 = {
    (1, 0): "no route",
    (1, 1): "administratively prohibited",
    (1, 3): "address unreachable",
    (1, 4): "port unreachable",
    (2, 0): "packet too big",
    (3, 0): "hop limit exceeded",
}


@dataclasses.dataclass(frozen=True, slots=True)
class IcmpError:
    """One queued error: who sent it (None for a local one), what it says, and its errno."""

    errno: int
    origin: int
    type: int
    code: int
    info: int  # the next-hop MTU for "fragmentation needed" / "packet too big"
    offender: str | None

    @property
    def from_icmp(self) -> bool:
        return self.origin in (ORIGIN_ICMP, ORIGIN_ICMP6)

    @property
    def what(self) -> str:
        """The message by name ("host unreachable"), or type/code numbers for the others."""
        if self.origin == ORIGIN_LOCAL:
            return f"local error (MTU {self.info})" if self.info else "local error"
        table = _ICMP6 if self.origin == ORIGIN_ICMP6 else _ICMP4
        return table.get((self.type, self.code), f"ICMP type {self.type} code {self.code}")

    @property
    def time_exceeded(self) -> bool:
        return (self.origin, self.type) in ((ORIGIN_ICMP, 11), (ORIGIN_ICMP6, 3))

    @property
    def too_big(self) -> bool:
        return (self.origin, self.type, self.code) in ((ORIGIN_ICMP, 3, 4), (ORIGIN_ICMP6, 2, 0))


def _recverr(sock: socket.socket, on: int) -> bool:
    level, name = (socket.IPPROTO_IPV6, IPV6_RECVERR) if sock.family == socket.AF_INET6 else (0, IP_RECVERR)
    try:
        sock.setsockopt(level, name, on)
    except OSError:
        return False
    return True


def enable_recverr(sock: socket.socket) -> bool:
    """Ask for ICMP errors on the error queue; False where the platform refuses."""
    return _recverr(sock, 1)


def disable_recverr(sock: socket.socket) -> None:
    """Back to the default once connected: with IP_RECVERR, TCP turns any ICMP error on an established
    connection into a hard error (tcp_v4_err), which a normal client would only note."""
    _recverr(sock, 0)


def parse(data: bytes) -> IcmpError | None:
    """A ``struct sock_extended_err`` followed by the offender's sockaddr, as the cmsg carries it."""
    if len(data) < _EXTENDED_ERR.size:
        return None
    err, origin, typ, code, _pad, info, _data = _EXTENDED_ERR.unpack_from(data)
    offender = None
    addr = data[_EXTENDED_ERR.size :]
    if len(addr) >= 8:
        family = struct.unpack_from("=H", addr)[0]
        if family == socket.AF_INET:
            offender = socket.inet_ntop(socket.AF_INET, addr[4:8])
        elif family == socket.AF_INET6 and len(addr) >= 24:
            offender = socket.inet_ntop(socket.AF_INET6, addr[8:24])
    if offender in ("0.0.0.0", "::"):
        offender = None
    return IcmpError(err, origin, typ, code, info, offender)


def drain(sock: socket.socket, limit: int = 8) -> list[IcmpError]:
    """Every error queued on ``sock`` (non-blocking; at most ``limit``)."""
    found: list[IcmpError] = []
    for _ in range(limit):
        try:
            _data, ancdata, _flags, _addr = sock.recvmsg(512, 1024, socket.MSG_ERRQUEUE | socket.MSG_DONTWAIT)
        except (BlockingIOError, InterruptedError):
            break
        except OSError:
            break
        for level, kind, cdata in ancdata:
            if (level, kind) in ((socket.IPPROTO_IP, IP_RECVERR), (socket.IPPROTO_IPV6, IPV6_RECVERR)):
                e = parse(cdata)
                if e is not None:
                    found.append(e)
    return found
