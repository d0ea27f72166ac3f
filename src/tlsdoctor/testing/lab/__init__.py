"""The middlebox lab: client -- mid -- server network namespaces with real servers and real faults.

Used by ``tests/netns`` and by ``tlsdoctor demo --lab``; needs root. See ``lab.py`` for the topology and
``faults.py`` for what each fault does::

    from tlsdoctor.testing.lab import Lab
    with Lab.create() as lab:
        lab.set_fault("inject-reset")
        lab.run_in("client", ["openssl", "s_client", "-connect", "198.18.2.2:443"], timeout=5)
"""

from tlsdoctor.testing.lab.capture import Capture, Packet
from tlsdoctor.testing.lab.faults import FAULTS
from tlsdoctor.testing.lab.lab import (
    BLOCKED_NAME,
    CLIENT_IP,
    CLOSED_PORT,
    DNS_SERVER,
    HTTPS_PORT,
    MID_CLIENT_IP,
    MID_SERVER_IP,
    NAME,
    NXDOMAIN_NAME,
    SERVER_IP,
    SERVFAIL_NAME,
    Lab,
)
from tlsdoctor.testing.lab.netns import LabError, cleanup_stale, netns_available

__all__ = [
    "BLOCKED_NAME",
    "CLIENT_IP",
    "CLOSED_PORT",
    "DNS_SERVER",
    "FAULTS",
    "HTTPS_PORT",
    "MID_CLIENT_IP",
    "MID_SERVER_IP",
    "NAME",
    "NXDOMAIN_NAME",
    "SERVER_IP",
    "SERVFAIL_NAME",
    "Capture",
    "Lab",
    "LabError",
    "Packet",
    "cleanup_stale",
    "netns_available",
]
