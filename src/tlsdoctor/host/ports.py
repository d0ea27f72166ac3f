"""Ephemeral ports and TCP socket states, from /proc/net/tcp and /proc/net/tcp6.

connect() picks a local port from net.ipv4.ip_local_port_range (shared by IPv4 and IPv6). Linux
lets connections to *different* destinations share a local port, so the range runs out per
destination: when every port of the range already has a socket (often in TIME_WAIT, held 60 s
after an active close) to the same address and port, connect() fails with EADDRNOTAVAIL.
Both files are read from this process's network namespace, as the kernel shows them.
"""

from __future__ import annotations

import collections
import dataclasses
import ipaddress

from tlsdoctor.host.base import Collected, FactCheck, read_text
from tlsdoctor.model import Status
from tlsdoctor.observations.host import PortUsage, SocketStates

RANGE_FILE = "/proc/sys/net/ipv4/ip_local_port_range"
TCP_FILES = ("/proc/net/tcp", "/proc/net/tcp6")
MAX_TABLE = 64 << 20  # ~150 bytes a socket: room for ~400 000 sockets, bounded
NEAR = 0.9
# include/net/tcp_states.h
STATES = {
    1: "ESTABLISHED",
    2: "SYN_SENT",
    3: "SYN_RECV",
    4: "FIN_WAIT1",
    5: "FIN_WAIT2",
    6: "TIME_WAIT",
    7: "CLOSE",
    8: "CLOSE_WAIT",
    9: "LAST_ACK",
    10: "LISTEN",
    11: "CLOSING",
    12: "NEW_SYN_RECV",
}
TELLING = ("TIME_WAIT", "CLOSE_WAIT", "SYN_SENT")  # per remote port: churn, leaks, unanswered SYNs
TOP = 5


@dataclasses.dataclass(frozen=True, slots=True)
class Socket:
    local_port: int
    remote: str
    remote_port: int
    state: str


def _address(hexa: str) -> str:
    """/proc/net/tcp prints addresses as 32-bit words in host (little-endian) order."""
    raw = bytes.fromhex(hexa)
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    addr = ipaddress.ip_address(words)
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return str(addr.ipv4_mapped)
    return str(addr)


def parse_tcp_table(text: str) -> list[Socket]:
    """Rows of /proc/net/tcp{,6}: ``sl local rem st ...``; malformed rows are skipped."""
    out: list[Socket] = []
    for line in text.splitlines()[1:]:
        words = line.split()
        if len(words) < 4:
            continue
        try:
            local, remote, state = words[1], words[2], int(words[3], 16)
            raddr, _, rport = remote.partition(":")
            out.append(
                Socket(
                    local_port=int(local.rpartition(":")[2], 16),
                    remote=_address(raddr),
                    remote_port=int(rport, 16),
                    state=STATES.get(state, str(state)),
                )
            )
        except ValueError:
            continue
    return out


def parse_range(text: str | None) -> tuple[int, int] | None:
    words = (text or "").split()
    if len(words) != 2 or not all(w.isdigit() for w in words):
        return None
    return int(words[0]), int(words[1])


def endpoint(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def port_usage(low: int, high: int, sockets: list[Socket]) -> PortUsage:
    """How much of the range the sockets hold, overall and toward the busiest destination."""
    ranged = [s for s in sockets if low <= s.local_port <= high]
    per_destination = collections.Counter(
        endpoint(s.remote, s.remote_port) for s in ranged if s.state != "LISTEN"
    )
    busiest, count = per_destination.most_common(1)[0] if per_destination else (None, 0)
    return PortUsage(
        low=low,
        high=high,
        in_use=len({s.local_port for s in ranged}),
        busiest=busiest,
        busiest_count=count,
        time_wait=sum(s.state == "TIME_WAIT" for s in ranged),
    )


def socket_states(sockets: list[Socket]) -> SocketStates:
    counts = collections.Counter(s.state for s in sockets)
    telling = collections.Counter((s.state, s.remote_port) for s in sockets if s.state in TELLING)
    top = tuple((state, port, n) for (state, port), n in telling.most_common(TOP))
    return SocketStates(counts=dict(counts), top=top)


class PortCheck(FactCheck):
    """The ephemeral range, its use per destination, and the socket states."""

    id = "host.ports"

    def collect(self) -> Collected:
        sockets: list[Socket] = []
        for path in TCP_FILES:
            sockets += parse_tcp_table(read_text(path, MAX_TABLE) or "")
        states = socket_states(sockets)
        bounds = parse_range(read_text(RANGE_FILE))
        if bounds is None:
            return Status.WARN, f"cannot read {RANGE_FILE}; {states.describe()}", [states]
        usage = port_usage(*bounds, sockets)
        near = usage.fraction >= NEAR
        summary = f"{usage.describe()}; {states.describe()}"
        return (Status.WARN if near else Status.PASS), summary, [usage, states]
