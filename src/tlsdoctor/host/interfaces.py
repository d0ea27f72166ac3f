"""Interface MTUs and tunnels, from /sys/class/net.

A tunnel (WireGuard, OpenVPN's tun, VXLAN, PPPoE, GRE) carries packets inside packets, so its MTU
must be smaller than the link's; a tunnel left at 1500 sends packets the path cannot carry, and
unless ICMP "fragmentation needed" comes back, TLS stalls on the server's certificate flight.
"""

from __future__ import annotations

import os
from pathlib import Path

from tlsdoctor.host.base import Collected, FactCheck, read_text
from tlsdoctor.model import Status
from tlsdoctor.observations.host import InterfaceInfo

SYS_NET = Path("/sys/class/net")
MAX_INTERFACES = 256
# include/uapi/linux/if_arp.h
LINK_TYPES = {
    1: "ether",
    512: "ppp",
    768: "ipip",
    769: "ip6tnl",
    772: "loopback",
    776: "sit",
    778: "gre",
    823: "ip6gre",
    65534: "none",
}
TUNNEL_TYPES = {"ppp", "ipip", "ip6tnl", "sit", "gre", "ip6gre"}
TUNNEL_DEVTYPES = {"wireguard", "vxlan", "geneve", "gretap", "ip6gretap", "vti", "ipsec", "l2tp", "ppp"}
TUNNEL_PREFIXES = ("tun", "tap", "wg", "vxlan", "ppp", "gre", "ipip", "vti", "tailscale", "zt", "utun")
FULL_MTU = 1500
IPV6_MIN_MTU = 1280  # RFC 8200 section 5


def tunnel_kind(name: str, link_type: str, devtype: str, tun: bool) -> str:
    """What kind of tunnel an interface is ("" when none), by the kernel's own labels first."""
    if devtype in TUNNEL_DEVTYPES:
        return devtype
    if tun:
        return "tap" if name.startswith("tap") else "tun"
    if link_type in TUNNEL_TYPES:
        return link_type
    for prefix in TUNNEL_PREFIXES:
        if name.startswith(prefix):
            return prefix
    return ""


def interface(path: Path) -> InterfaceInfo:
    mtu = (read_text(path / "mtu") or "").strip()
    number = (read_text(path / "type") or "").strip()
    link_type = LINK_TYPES.get(int(number), number) if number.isdigit() else "unknown"
    devtype = ""
    for line in (read_text(path / "uevent") or "").splitlines():
        if line.startswith("DEVTYPE="):
            devtype = line[8:].strip()
    flags = (read_text(path / "flags") or "").strip()
    up = flags.startswith("0x") and bool(int(flags, 16) & 0x1)  # IFF_UP
    return InterfaceInfo(
        name=path.name,
        mtu=int(mtu) if mtu.isdigit() else None,
        link_type=link_type,
        tunnel=tunnel_kind(path.name, link_type, devtype, (path / "tun_flags").exists()),
        up=up,
    )


def concerns(found: list[InterfaceInfo]) -> list[str]:
    """What about these MTUs can break TLS: a tunnel at full size, an MTU below IPv6's minimum."""
    out = []
    for i in found:
        if not i.up or i.mtu is None or i.link_type == "loopback":
            continue
        if i.tunnel and i.mtu >= FULL_MTU:
            out.append(
                f"tunnel {i.name} has MTU {i.mtu}: it cannot carry full-size packets inside the link's"
            )
        elif i.mtu < IPV6_MIN_MTU:
            out.append(f"{i.name} has MTU {i.mtu}, below IPv6's minimum of {IPV6_MIN_MTU}")
    return out


class InterfaceCheck(FactCheck):
    """Every interface's MTU, type and tunnel kind."""

    id = "host.interfaces"

    def __init__(self, root: Path = SYS_NET) -> None:
        self.root = root

    def collect(self) -> Collected:
        try:
            names = sorted(os.listdir(self.root))[:MAX_INTERFACES]
        except OSError as exc:
            return Status.SKIP, f"cannot list {self.root}: {exc.strerror or exc}", []
        found = [interface(self.root / n) for n in names]
        listed = ", ".join(
            f"{i.name} {i.mtu}" + (f" ({i.tunnel})" if i.tunnel else "") for i in found if i.up
        )
        worries = concerns(found)
        if worries:
            return Status.WARN, "; ".join(worries), found
        return Status.PASS, f"MTUs: {listed or 'no interface up'}", found
