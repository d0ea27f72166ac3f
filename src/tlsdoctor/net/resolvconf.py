"""The nameservers of /etc/resolv.conf, read the way the C library reads them.

Asking each of the system's nameservers directly is how ``dns.server.*`` tells NXDOMAIN
from NODATA from SERVFAIL, which getaddrinfo cannot. The C library uses at most three
(``MAXNS`` in glibc's resolv.h), so do we: a fourth line would never be asked anyway.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

RESOLV_CONF = Path("/etc/resolv.conf")
MAX_NAMESERVERS = 3  # glibc MAXNS
_MAX_BYTES = 64 * 1024  # a resolv.conf is a few lines; do not read a runaway file whole


def parse_nameservers(text: str) -> list[str]:
    """``nameserver`` addresses in order, invalid ones skipped, at most MAX_NAMESERVERS.

    An IPv6 zone (``fe80::1%eth0``) is kept: a link-local server cannot be reached without it.
    """
    found: list[str] = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].split(";", 1)[0].split()
        if len(line) < 2 or line[0] != "nameserver":
            continue
        address = line[1]
        try:
            ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            continue
        if address not in found:
            found.append(address)
        if len(found) == MAX_NAMESERVERS:
            break
    return found


def parse_server(text: str) -> tuple[str, int]:
    """``ip``, ``ip:port`` or ``[v6]:port`` -> (ip, port). ValueError when not an address."""
    host, port = text, 53
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = int(rest[1:]) if rest.startswith(":") else 53
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
        port = int(port_text)
    ipaddress.ip_address(host.split("%", 1)[0])
    if not 1 <= port <= 65535:
        raise ValueError(f"port {port} out of range")
    return host, port


def system_nameservers(path: Path = RESOLV_CONF) -> list[str]:
    """The configured nameservers; empty when the file is missing or unreadable."""
    try:
        with path.open("rb") as f:
            data = f.read(_MAX_BYTES)
    except OSError:
        return []
    return parse_nameservers(data.decode("utf-8", "replace"))
