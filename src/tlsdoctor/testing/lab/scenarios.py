"""The lab's demo scenarios as data: one fault (with its real mechanism in ``mid``) and the cause it should
produce. ``tlsdoctor demo --lab`` runs them; ``tests/netns`` asserts the same expectations one by one."""

from __future__ import annotations

import dataclasses
from typing import Any

from tlsdoctor.testing.lab.lab import BLOCKED_NAME, DNS_SERVER, NAME, NXDOMAIN_NAME, SERVER_IP, SERVFAIL_NAME


@dataclasses.dataclass(frozen=True, slots=True)
class Scenario:
    """A fault to set (None: the healthy path), the diagnose arguments, and the expected top cause.

    ``args`` may name ``{proxy_url}``: it is filled from what setting the fault returned.
    """

    name: str
    expected: str
    fault: str | None = None
    params: tuple[tuple[str, Any], ...] = ()
    args: tuple[str, ...] = ()
    target: str = f"{SERVER_IP}:443"
    servername: str | None = NAME


PROXY = ("--proxy", "{proxy_url}")
SCENARIOS: tuple[Scenario, ...] = (
    Scenario("healthy", "healthy"),
    Scenario("inject-reset", "firewall-reset", "inject-reset"),
    Scenario("drop-hello", "firewall-drop", "drop-hello"),
    Scenario("sni-filter", "sni-filtered", "sni-filter", servername=BLOCKED_NAME),
    Scenario("large-hello", "clienthello-too-large", "large-hello"),
    # Only the post-quantum hello is over the limit, and it is dropped: it ends at its deadline.
    Scenario(
        "large-hello-drop",
        "clienthello-too-large",
        "large-hello",
        (("max_len", 1000), ("action", "drop")),
    ),
    Scenario("mtu-blackhole", "path-mtu-blackhole", "mtu-blackhole"),
    Scenario("tcp-refused", "tcp-refused", "tcp-refused"),
    Scenario("tcp-timeout", "tcp-timeout", "tcp-timeout"),
    Scenario("host-unreachable", "host-unreachable", "host-unreachable"),
    Scenario("proxy-required", "proxy-required", "block-direct", (("proxy", "open"),), PROXY),
    Scenario("proxy-407", "proxy-error", "block-direct", (("proxy", "auth"),), PROXY),
    Scenario("proxy-403", "proxy-error", "block-direct", (("proxy", "deny"),), PROXY),
    Scenario("intercept", "tls-interception", "intercept"),
    Scenario("backlog-full", "server-overloaded", "backlog-full"),
    Scenario("slow-key-1.9s", "healthy", "slow-key"),
    Scenario("loss-10%", "network-unstable", "loss", (("probability", 0.1),), ("--repeat", "20")),
    Scenario(
        "dns-nxdomain",
        "dns-nxdomain",
        args=("--resolver", DNS_SERVER),
        target=f"{NXDOMAIN_NAME}:443",
        servername=None,
    ),
    Scenario(
        "dns-servfail",
        "dns-failure",
        args=("--resolver", DNS_SERVER),
        target=f"{SERVFAIL_NAME}:443",
        servername=None,
    ),
)
