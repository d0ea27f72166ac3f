"""Which answer addresses are special: the categories of RFC 6890 and its successors.

A DNS answer in a special range is a clue, not a verdict: private, CGNAT and link-local
addresses are normal inside corporate and lab networks, so checks only *note* them
(``AddressNote``) and the rules decide, with other evidence, whether they explain a
failure. What is never normal for a public name is a sinkhole: ``0.0.0.0``, ``::`` or a
loopback address handed out by a DNS filter or an ``/etc/hosts`` entry.

Pure code (no sockets), so the rules may use it too. The table is explicit rather than
``ipaddress.is_global`` because that property changed between Python releases (3.11 vs
3.13) and lumps categories together that a person needs told apart.
"""

from __future__ import annotations

import ipaddress
from typing import Final

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

UNSPECIFIED: Final = "unspecified"
LOOPBACK: Final = "loopback"
PRIVATE: Final = "private"
CGNAT: Final = "cgnat"
LINK_LOCAL: Final = "link-local"
DOCUMENTATION: Final = "documentation"
BENCHMARKING: Final = "benchmarking"
MULTICAST: Final = "multicast"
RESERVED: Final = "reserved"
SINKHOLE: Final = "sinkhole"

# Categories that are never a real destination for a public name.
NEVER_ROUTED: Final = frozenset({UNSPECIFIED, DOCUMENTATION, BENCHMARKING, MULTICAST, RESERVED})

# (network, category or None for "ordinary", reference). First match wins, so the specific
# entries (single sinkhole addresses, NAT64) come before the ranges that contain them.
_TABLE: Final[tuple[tuple[str, str | None, str], ...]] = (
    # Well-known sinkholes: answers that mean "a filter blocked this name".
    ("127.0.53.53/32", SINKHOLE, "ICANN name-collision controlled interruption"),
    ("146.112.61.104/31", SINKHOLE, "Cisco Umbrella / OpenDNS block page"),
    ("146.112.61.106/31", SINKHOLE, "Cisco Umbrella / OpenDNS block page"),
    ("146.112.61.108/31", SINKHOLE, "Cisco Umbrella / OpenDNS block page"),
    ("146.112.61.110/32", SINKHOLE, "Cisco Umbrella / OpenDNS block page"),
    # IPv4, RFC 6890 section 2.2.2 and later updates.
    ("0.0.0.0/32", UNSPECIFIED, "RFC 1122 3.2.1.3"),
    ("0.0.0.0/8", RESERVED, "RFC 791 'this network', RFC 6890"),
    ("10.0.0.0/8", PRIVATE, "RFC 1918"),
    ("100.64.0.0/10", CGNAT, "RFC 6598 shared address space"),
    ("127.0.0.0/8", LOOPBACK, "RFC 1122 3.2.1.3"),
    ("169.254.0.0/16", LINK_LOCAL, "RFC 3927"),
    ("172.16.0.0/12", PRIVATE, "RFC 1918"),
    ("192.0.0.9/32", None, "RFC 7723 PCP anycast, globally reachable"),
    ("192.0.0.10/32", None, "RFC 8155 TURN anycast, globally reachable"),
    ("192.0.0.0/24", RESERVED, "RFC 6890 IETF protocol assignments"),
    ("192.0.2.0/24", DOCUMENTATION, "RFC 5737 TEST-NET-1"),
    ("192.88.99.0/24", RESERVED, "RFC 7526 deprecated 6to4 relay anycast"),
    ("192.168.0.0/16", PRIVATE, "RFC 1918"),
    ("198.18.0.0/15", BENCHMARKING, "RFC 2544"),
    ("198.51.100.0/24", DOCUMENTATION, "RFC 5737 TEST-NET-2"),
    ("203.0.113.0/24", DOCUMENTATION, "RFC 5737 TEST-NET-3"),
    ("224.0.0.0/4", MULTICAST, "RFC 5771"),
    ("255.255.255.255/32", RESERVED, "RFC 919 limited broadcast"),
    ("240.0.0.0/4", RESERVED, "RFC 1112 section 4, future use"),
    # IPv6, RFC 6890 section 2.2.3 and later updates.
    ("::/128", UNSPECIFIED, "RFC 4291 2.5.2"),
    ("::1/128", LOOPBACK, "RFC 4291 2.5.3"),
    ("64:ff9b::/96", None, "RFC 6052 NAT64 well-known prefix: normal on IPv6-only networks"),
    ("64:ff9b:1::/48", None, "RFC 8215 local-use NAT64 prefix"),
    ("::/8", RESERVED, "RFC 4291 deprecated IPv4-compatible and other reserved"),
    ("100::/64", RESERVED, "RFC 6666 discard-only"),
    ("2001:2::/48", BENCHMARKING, "RFC 5180"),
    ("2001:db8::/32", DOCUMENTATION, "RFC 3849"),
    ("3fff::/20", DOCUMENTATION, "RFC 9637"),
    ("fc00::/7", PRIVATE, "RFC 4193 unique local"),
    ("fe80::/10", LINK_LOCAL, "RFC 4291 2.5.6"),
    ("fec0::/10", PRIVATE, "RFC 3879 deprecated site-local"),
    ("ff00::/8", MULTICAST, "RFC 4291 2.7"),
)
_NETWORKS: Final[tuple[tuple[IPNetwork, str | None], ...]] = tuple(
    (ipaddress.ip_network(net), category) for net, category, _ in _TABLE
)


def parse(ip: str) -> IPAddress:
    """An address from text, without an IPv6 zone (``fe80::1%eth0``); ValueError if invalid."""
    return ipaddress.ip_address(ip.split("%", 1)[0])


def classify(ip: str) -> str | None:
    """The special category of an address, or None for an ordinary public address.

    IPv4-mapped IPv6 addresses (``::ffff:10.0.0.1``) are judged by the IPv4 address they
    carry, since that is where a connection would go. Raises ValueError for non-addresses.
    """
    address = parse(ip)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    for network, category in _NETWORKS:
        if address.version == network.version and address in network:
            return category
    return None


def is_local_name(name: str, hostname: str | None = None) -> bool:
    """Whether a loopback answer is expected for this name.

    ``localhost`` and ``*.localhost`` (RFC 6761 section 6.3), and the machine's own host
    name (Debian maps it to 127.0.1.1 in /etc/hosts).
    """
    n = name.rstrip(".").lower()
    if n == "localhost" or n.endswith(".localhost"):
        return True
    if hostname:
        h = hostname.rstrip(".").lower()
        return n == h or ("." not in h and n.split(".", 1)[0] == h)
    return False


def is_sinkhole_answer(ip: str, name: str, hostname: str | None = None) -> bool:
    """Whether ``ip`` as an answer for ``name`` looks like a DNS filter's sinkhole.

    ``0.0.0.0``/``::`` and the known block pages always do; a loopback address does
    unless the name is a local one (see ``is_local_name``).
    """
    try:
        category = classify(ip)
    except ValueError:
        return False
    if category in (UNSPECIFIED, SINKHOLE):
        return True
    return category == LOOPBACK and not is_local_name(name, hostname)


def is_connectable(ip: str) -> bool:
    """Whether a TCP connect to this answer means anything.

    Linux connects ``0.0.0.0`` to the local host, so connecting to a sinkhole answer would
    "work" against whatever listens locally and hide the fault; multicast never connects.
    """
    try:
        return classify(ip) not in (UNSPECIFIED, MULTICAST)
    except ValueError:
        return False
