"""The faults, each with the mechanism a real network uses, all reversible.

Every rule lives in the lab's own chains (``TDLAB_*``, jumped to first from the built-in chains), so
``clear`` is a flush of those chains plus restoring the MTU and the route caches: nothing else in the
namespaces is touched. Rules are added with ``iptables`` (on Debian 12 that is the nf_tables backend,
``iptables-nft``; the xt matches ``u32``/``string``/``length``/``statistic`` run through nft's compat layer).
There is no ``sch_netem`` on the target kernels, hence loss by the ``statistic`` match, not ``tc``, and
delay by an ``NFQUEUE`` rule and a userspace delayer in ``mid`` (delayq.py), not ``tc``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tlsdoctor.testing.lab.netns import LabError

if TYPE_CHECKING:
    from tlsdoctor.testing.lab.handle import LabHandle

CLIENT_NET = "198.18.1.0/24"
SERVER_IP = "198.18.2.2"
MID_CLIENT_IP = "198.18.1.1"
RELAY_PORT = 8443
SLOW_PORT = 4443
MID_CLIENT_IF, MID_SERVER_IF, SERVER_IF = "m0", "m1", "s0"

# The first two TCP payload bytes are 0x16 0x03: a TLS handshake record (a ClientHello on a fresh connection).
# u32: skip the IP header (IHL*4), then the TCP header (data offset*4), read 4 bytes, keep the top two.
HELLO_U32 = ["-m", "u32", "--u32", "0>>22&0x3C@12>>26&0x3C@0>>16=0x1603"]

# (namespace role, table, our chain, built-in chain it hangs from)
CHAINS = [
    ("mid", "filter", "TDLAB_FWD", "FORWARD"),
    ("mid", "filter", "TDLAB_OUT", "OUTPUT"),
    ("mid", "nat", "TDLAB_PRE", "PREROUTING"),
    ("server", "filter", "TDLAB_IN", "INPUT"),
    ("server", "nat", "TDLAB_PRE", "PREROUTING"),
]


# The delay chain hangs from the END of mid's chains (appended, not inserted first): a packet is queued
# for delay only after every other fault had its say (a rule after NFQUEUE never sees the packet again,
# since the delayer's verdict accepts it for the whole hook).
DELAY_CHAIN = "TDLAB_DLY"
DELAY_PARENTS = ("FORWARD", "INPUT", "OUTPUT")
DELAY_QUEUE = 7  # nfnetlink queues are per network namespace: mid's own


def iptables(lab: LabHandle, role: str, *args: str, table: str = "filter") -> None:
    lab.run_in(role, ["iptables", "-w", "5", "-t", table, *args], timeout=10, check=True)


def install_chains(lab: LabHandle) -> None:
    for role, table, chain, parent in CHAINS:
        iptables(lab, role, "-N", chain, table=table)
        iptables(lab, role, "-I", parent, "1", "-j", chain, table=table)
    iptables(lab, "mid", "-N", DELAY_CHAIN)
    for parent in DELAY_PARENTS:
        iptables(lab, "mid", "-A", parent, "-j", DELAY_CHAIN)


def _action(action: str) -> list[str]:
    if action == "reset":
        return ["-j", "REJECT", "--reject-with", "tcp-reset"]
    if action == "drop":
        return ["-j", "DROP"]
    raise ValueError(f"action must be 'reset' or 'drop', not {action!r}")


def _to_server(port: int) -> list[str]:
    return ["-p", "tcp", "-s", CLIENT_NET, "-d", SERVER_IP, "--dport", str(port)]


def fwd(lab: LabHandle, *rule: str) -> None:
    iptables(lab, "mid", "-A", "TDLAB_FWD", *rule)


def inject_reset(lab: LabHandle, port: int = 443) -> dict[str, Any]:
    """``mid`` answers the ClientHello with an RST it forges (its TTL is mid's 64, not the server's 63)."""
    fwd(lab, *_to_server(port), *HELLO_U32, *_action("reset"))
    return {}


def drop_hello(lab: LabHandle, port: int = 443) -> dict[str, Any]:
    """TCP connects (SYN/SYN-ACK pass) but every ClientHello segment vanishes."""
    fwd(lab, *_to_server(port), *HELLO_U32, *_action("drop"))
    return {}


def sni_filter(
    lab: LabHandle, name: str = "blocked.lab.test", action: str = "reset", port: int = 443
) -> dict[str, Any]:
    """Reset/drop only hellos that carry ``name`` (Boyer-Moore search of the segment, like a DPI box)."""
    fwd(lab, *_to_server(port), "-m", "string", "--algo", "bm", "--string", name, *_action(action))
    return {}


def large_hello(lab: LabHandle, max_len: int = 512, action: str = "reset", port: int = 443) -> dict[str, Any]:
    """Reset/drop ClientHello segments whose IP datagram is longer than ``max_len`` bytes.

    The IP length is the TLS record + 20 (IP) + 32 (TCP with timestamps) bytes.
    """
    fwd(
        lab,
        *_to_server(port),
        *HELLO_U32,
        "-m",
        "length",
        "--length",
        f"{max_len + 1}:65535",
        *_action(action),
    )
    return {}


def mtu_blackhole(lab: LabHandle, mtu: int = 1280) -> dict[str, Any]:
    """A narrow link on mid's client side, and the ICMP "fragmentation needed" it would send is dropped.

    The server (PMTU discovery on, DF set, no TCP MTU probing) keeps sending 1500-byte segments that mid
    cannot forward and never learns why: the certificate flight stalls. Small-MSS connections still pass.
    """
    lab.ns.ip(lab.ns.names["mid"], "link", "set", MID_CLIENT_IF, "mtu", str(mtu))
    iptables(
        lab,
        "mid",
        "-A",
        "TDLAB_OUT",
        "-o",
        MID_SERVER_IF,
        "-p",
        "icmp",
        "--icmp-type",
        "fragmentation-needed",
        "-j",
        "DROP",
    )
    flush_route_caches(lab)
    return {"mtu": mtu}


def narrow_link(lab: LabHandle, mtu: int = 1280) -> dict[str, Any]:
    """A narrow link between mid and the server that signals properly (a tunnel done right): the server
    side's MTU is ``mtu``, so mid answers larger DF packets from the client with ICMP "fragmentation
    needed" (from 198.18.1.1), and the server, knowing its own MTU, announces a small MSS: TCP works."""
    lab.ns.ip(lab.ns.names["mid"], "link", "set", MID_SERVER_IF, "mtu", str(mtu))
    lab.ns.ip(lab.ns.names["server"], "link", "set", SERVER_IF, "mtu", str(mtu))
    flush_route_caches(lab)
    return {"mtu": mtu, "router": MID_CLIENT_IP}


def loss(lab: LabHandle, probability: float = 0.1) -> dict[str, Any]:
    """Drop each forwarded packet (both directions, every protocol) with ``probability``."""
    if not 0.0 < probability < 1.0:
        raise ValueError("probability must be in (0, 1)")
    fwd(lab, "-m", "statistic", "--mode", "random", "--probability", f"{probability:.4f}", "-j", "DROP")
    return {}


def delay(lab: LabHandle, one_way_ms: float = 50.0, jitter_ms: float = 0.0) -> dict[str, Any]:
    """Every packet crossing mid's client-side link (m0), either way, is held ``one_way_ms`` (plus or
    minus ``jitter_ms``, never reordered): the client's round trip to the server, to mid's proxy and to
    mid's relay grows by twice that, TCP's SYN/SYN-ACK and ACKs included (unlike a relay, which answers
    the connect itself). Combines with the other faults: they act first, the delay last."""
    if not 0.0 < one_way_ms <= 5000.0 or not 0.0 <= jitter_ms <= one_way_ms:
        raise ValueError("need 0 < one_way_ms <= 5000 and 0 <= jitter_ms <= one_way_ms")
    lab.ensure_delayer(one_way_ms, jitter_ms)
    queue = ["-j", "NFQUEUE", "--queue-num", str(DELAY_QUEUE), "--queue-bypass"]
    iptables(lab, "mid", "-A", DELAY_CHAIN, "-i", MID_CLIENT_IF, *queue)
    iptables(lab, "mid", "-A", DELAY_CHAIN, "-o", MID_CLIENT_IF, *queue)
    return {"one_way_ms": one_way_ms, "jitter_ms": jitter_ms, "rtt_ms": 2 * one_way_ms}


def block_direct(
    lab: LabHandle, proxy: str = "open", action: str = "reset", port: int = 443
) -> dict[str, Any]:
    """The firewall refuses client -> server:port; only the proxy in ``mid`` gets out (it is local to mid,
    so its own connections leave through OUTPUT, not FORWARD). ``proxy``: open | auth (407) | deny (403)."""
    url = lab.proxy_url(proxy)
    lab.ensure_proxy()
    fwd(lab, *_to_server(port), *_action(action))
    return {"proxy_url": url}


def tcp_refused(lab: LabHandle, port: int = 443) -> dict[str, Any]:
    """The server's own kernel answers the SYN with RST, as when nothing listens (same TTL as a SYN-ACK)."""
    iptables(
        lab,
        "server",
        "-A",
        "TDLAB_IN",
        "-p",
        "tcp",
        "--syn",
        "--dport",
        str(port),
        "-j",
        "REJECT",
        "--reject-with",
        "tcp-reset",
    )
    return {}


def tcp_timeout(lab: LabHandle, port: int = 443) -> dict[str, Any]:
    """SYNs to the server port are silently dropped in ``mid``."""
    fwd(lab, "-p", "tcp", "--syn", "-d", SERVER_IP, "--dport", str(port), "-j", "DROP")
    return {}


def host_unreachable(lab: LabHandle, proto: str = "tcp", port: int | None = None) -> dict[str, Any]:
    """``mid`` answers with ICMP host-unreachable (from 198.18.1.1), like a router with no way to the host."""
    match = ["-p", proto, "-d", SERVER_IP]
    if port is not None:
        match += ["--dport", str(port)]
    fwd(lab, *match, "-j", "REJECT", "--reject-with", "icmp-host-unreachable")
    return {"router": MID_CLIENT_IP}


def intercept(lab: LabHandle, port: int = 443) -> dict[str, Any]:
    """DNAT client -> server:port to the re-signing relay in ``mid`` (see ``relay.py``)."""
    lab.ensure_relay()
    iptables(
        lab,
        "mid",
        "-A",
        "TDLAB_PRE",
        "-i",
        MID_CLIENT_IF,
        *_to_server(port),
        "-j",
        "DNAT",
        "--to-destination",
        f"{MID_CLIENT_IP}:{RELAY_PORT}",
        table="nat",
    )
    return {"ca": str(lab.intercept_pki.ca), "issuer": lab.intercept_pki.subject}


def overloaded(
    lab: LabHandle, workers: int = 2, backlog: int = 8, key_op: float = 0.15, fresh: bool = False
) -> dict[str, Any]:
    """Port 443 of the server is served by a too-small prefork TLS server (see ``slowtls.py``)."""
    lab.ensure_slow_server(workers=workers, backlog=backlog, key_op=key_op, fresh=fresh)
    iptables(
        lab,
        "server",
        "-A",
        "TDLAB_PRE",
        "-p",
        "tcp",
        "-d",
        SERVER_IP,
        "--dport",
        "443",
        "-j",
        "REDIRECT",
        "--to-ports",
        str(SLOW_PORT),
        table="nat",
    )
    return {"workers": workers, "backlog": backlog, "key_op": key_op}


def backlog_full(lab: LabHandle, backlog: int = 5) -> dict[str, Any]:
    """A server whose accept loop hangs, with a small listen backlog: the kernel completes the first
    ``backlog + 1`` connects, none gets a ServerHello, and later SYNs are dropped (the accept queue is
    full). Started afresh each time: connections queued by an earlier diagnosis stay queued."""
    return overloaded(lab, workers=0, backlog=backlog, key_op=0.0, fresh=True)


def slow_key(lab: LabHandle, key_op: float = 1.9, workers: int = 8) -> dict[str, Any]:
    """A working server whose every handshake takes ``key_op`` seconds (a slow key, an HSM), with
    workers enough for diagnose's own concurrency: slow, not broken."""
    return overloaded(lab, workers=workers, backlog=64, key_op=key_op)


FAULTS: dict[str, Callable[..., dict[str, Any]]] = {
    "inject-reset": inject_reset,
    "drop-hello": drop_hello,
    "sni-filter": sni_filter,
    "large-hello": large_hello,
    "mtu-blackhole": mtu_blackhole,
    "narrow-link": narrow_link,
    "loss": loss,
    "delay": delay,
    "block-direct": block_direct,
    "tcp-refused": tcp_refused,
    "tcp-timeout": tcp_timeout,
    "host-unreachable": host_unreachable,
    "intercept": intercept,
    "overloaded": overloaded,
    "backlog-full": backlog_full,
    "slow-key": slow_key,
}


def flush_route_caches(lab: LabHandle) -> None:
    """Forget learned path MTUs (IPv4 next-hop exceptions) so one test's PMTU never leaks into the next."""
    for role in ("client", "mid", "server"):
        lab.run_in(role, ["ip", "route", "flush", "cache"], timeout=5, check=True)


def clear(lab: LabHandle) -> None:
    for role, table, chain, _ in CHAINS:
        iptables(lab, role, "-F", chain, table=table)
    iptables(lab, "mid", "-F", DELAY_CHAIN)
    for role, ifname in (("mid", MID_CLIENT_IF), ("mid", MID_SERVER_IF), ("server", SERVER_IF)):
        lab.ns.ip(lab.ns.names[role], "link", "set", ifname, "mtu", "1500")
    flush_route_caches(lab)


def apply(lab: LabHandle, name: str, **params: Any) -> dict[str, Any]:
    try:
        setter = FAULTS[name]
    except KeyError:
        raise LabError(f"unknown fault {name!r}; known: {', '.join(FAULTS)}") from None
    return setter(lab, **params)
