"""tcpdump inside a lab namespace, and a tiny pcap reader for what the tests assert (TTL, IP ID, flags).

The lab uses the standard tool on purpose: it is the independent witness that, e.g., the RST a client got
came from ``mid`` (TTL 64) and not from the server (TTL 63 after one hop), whatever tlsdoctor itself says.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import select
import socket
import struct
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from tlsdoctor.testing.lab.netns import LabError

if TYPE_CHECKING:
    from tlsdoctor.testing.lab.handle import LabHandle

TCP_FLAGS = "FSRPAUEC"


@dataclass(frozen=True, slots=True)
class Packet:
    ts: float
    src: str
    dst: str
    proto: int
    ttl: int
    ip_id: int
    length: int
    sport: int = 0
    dport: int = 0
    flags: str = ""  # e.g. "S", "SA", "R", "RA", "PA"
    payload_len: int = 0
    icmp_type: int = -1
    icmp_code: int = -1


def _tcp_flags(bits: int) -> str:
    return "".join(ch for i, ch in enumerate(TCP_FLAGS) if bits & (1 << i))


def parse_pcap(data: bytes) -> list[Packet]:
    """Parse a little- or big-endian classic pcap of Ethernet (1) or raw IP (101) frames; IPv4 only."""
    if len(data) < 24:
        return []
    magic = data[:4]
    endian = {b"\xd4\xc3\xb2\xa1": "<", b"\xa1\xb2\xc3\xd4": ">"}.get(magic)
    if endian is None:
        raise LabError(f"not a microsecond pcap: magic {magic.hex()}")
    linktype = struct.unpack_from(endian + "I", data, 20)[0]
    l2 = {1: 14, 101: 0, 113: 16, 276: 20}.get(linktype)
    if l2 is None:
        raise LabError(f"unsupported pcap link type {linktype}")
    out, off = [], 24
    while off + 16 <= len(data):
        sec, usec, caplen, _ = struct.unpack_from(endian + "IIII", data, off)
        frame = data[off + 16 : off + 16 + caplen]
        off += 16 + caplen
        ip = frame[l2:]
        if len(ip) < 20 or ip[0] >> 4 != 4:
            continue
        ihl = (ip[0] & 0x0F) * 4
        total, ip_id, ttl, proto = (*struct.unpack_from("!H H", ip, 2), ip[8], ip[9])
        src, dst = socket.inet_ntoa(ip[12:16]), socket.inet_ntoa(ip[16:20])
        pkt = Packet(ts=sec + usec / 1e6, src=src, dst=dst, proto=proto, ttl=ttl, ip_id=ip_id, length=total)
        l4 = ip[ihl:]
        if proto == 6 and len(l4) >= 14:
            sport, dport = struct.unpack_from("!HH", l4)
            doff = (l4[12] >> 4) * 4
            pkt = dataclasses.replace(
                pkt,
                sport=sport,
                dport=dport,
                flags=_tcp_flags(l4[13]),
                payload_len=max(0, total - ihl - doff),
            )
        elif proto == 1 and len(l4) >= 2:
            pkt = dataclasses.replace(pkt, icmp_type=l4[0], icmp_code=l4[1])
        out.append(pkt)
    return out


@dataclass
class Capture:
    """Packets seen by tcpdump; filled when the ``Lab.capture`` block exits."""

    path: Path
    packets: list[Packet] = field(default_factory=list)

    def tcp(self, flags: str) -> list[Packet]:
        """TCP packets whose flags are exactly ``flags`` (letters of FSRPAUEC, any order)."""
        return [p for p in self.packets if p.proto == 6 and sorted(p.flags) == sorted(flags)]

    def first_flow(self) -> Capture:
        """Only the packets (both directions) of the first connection whose SYN was captured.

        Retransmissions from an earlier test's sockets (a dropped hello is retransmitted for a while after
        the client gave up) otherwise end up in a later capture.
        """
        syn = next((p for p in self.packets if p.proto == 6 and p.flags == "S"), None)
        if syn is None:
            return Capture(self.path, [])
        a, b = (syn.src, syn.sport), (syn.dst, syn.dport)
        keep = [p for p in self.packets if p.proto != 6 or {(p.src, p.sport), (p.dst, p.dport)} == {a, b}]
        return Capture(self.path, keep)


@contextlib.contextmanager
def capture(
    lab: LabHandle, role: str, bpf: str, iface: str | None = None, ready_timeout: float = 5.0
) -> Iterator[Capture]:
    """Run tcpdump in ``role`` for the duration of the block; packets are parsed on exit."""
    iface = iface or {"client": "c0", "server": "s0", "mid": "any"}[role]
    path = lab.workdir / f"cap-{role}-{time.monotonic_ns()}.pcap"
    argv = [
        "tcpdump",
        "-i",
        iface,
        "-n",
        "-U",
        "--immediate-mode",
        "-Z",
        "root",
        "-s",
        "256",
        "-w",
        str(path),
        *bpf.split(),
    ]
    proc = lab.spawn_in(role, argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    _wait_listening_line(proc, ready_timeout)
    time.sleep(0.1)  # "listening on" precedes the ring being fully armed; the first SYN was seen missed
    result = Capture(path)
    try:
        yield result
    finally:
        time.sleep(0.2)  # let the last packets of the exchange reach the ring before stopping
        lab.ns.stop(proc)
        if path.exists():
            result.packets = parse_pcap(path.read_bytes())


def _wait_listening_line(proc: subprocess.Popen[bytes], timeout: float) -> None:
    """tcpdump says "listening on <if>" on stderr once its socket is attached: wait for that, bounded."""
    assert proc.stderr is not None
    fd = proc.stderr.fileno()
    buf, deadline = b"", time.monotonic() + timeout
    while b"listening on" not in buf:
        left = deadline - time.monotonic()
        if left <= 0 or proc.poll() is not None:
            raise LabError(f"tcpdump did not start: {buf.decode(errors='replace').strip()}")
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            chunk = os.read(fd, 4096)
            if not chunk:
                raise LabError(f"tcpdump exited: {buf.decode(errors='replace').strip()}")
            buf += chunk
