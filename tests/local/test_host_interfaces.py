"""Interfaces and tunnels as the kernel reports them, in a network namespace this test creates
(root only): a tun device (as OpenVPN makes) left at MTU 1500 is flagged, the same at 1420 is not,
and an ordinary (veth) interface at 1500 is never taken for a tunnel."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from tlsdoctor.testing.lab.netns import Namespaces, netns_available

pytestmark = pytest.mark.netns


@pytest.fixture
def lab() -> Iterator[Namespaces]:
    ok, reason = netns_available()
    if not ok:
        pytest.skip(reason)
    ns = Namespaces(["client"])
    try:
        ns.create()
        name = ns.names["client"]
        ns.ip(name, "tuntap", "add", "dev", "tun7", "mode", "tun")
        ns.ip(name, "link", "add", "veth0", "type", "veth", "peer", "name", "veth1")
        for dev in ("tun7", "veth0", "veth1"):
            ns.ip(name, "link", "set", dev, "mtu", "1500", "up")
        yield ns
    finally:
        ns.close()


def interfaces(ns: Namespaces) -> dict[str, Any]:
    proc = ns.run_in("client", [sys.executable, "-m", "tlsdoctor", "host", "--no-ntp", "--json"], timeout=60)
    data = json.loads(proc.stdout)
    (check,) = [c for c in data["checks"] if c["id"] == "host.interfaces"]
    return check  # type: ignore[no-any-return]


def test_tunnel_at_full_mtu(lab: Namespaces) -> None:
    check = interfaces(lab)
    found = {o["name"]: o for o in check["data"]["observations"]}
    assert set(found) == {"lo", "tun7", "veth0", "veth1"}
    assert found["tun7"]["tunnel"] == "tun" and found["tun7"]["mtu"] == 1500 and found["tun7"]["up"]
    assert found["veth0"]["tunnel"] == "" and found["veth0"]["link_type"] == "ether"
    assert found["lo"]["link_type"] == "loopback"
    assert check["status"] == "warn" and "tunnel tun7 has MTU 1500" in check["summary"]

    lab.ip(lab.names["client"], "link", "set", "tun7", "mtu", "1420")  # the near miss: room for the wrapping
    check = interfaces(lab)
    assert check["status"] == "pass" and "tun7 1420 (tun)" in check["summary"]
