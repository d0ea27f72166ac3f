"""`tlsdoctor host`: facts about the client's own machine, as observations (never causes).

CHECKS is the literal table of what `host` runs; diagnose borrows the fd and port checks when a
connect fails with EMFILE/ENFILE or EADDRNOTAVAIL.
"""

from __future__ import annotations

from tlsdoctor.runner import Check


def host_checks(*, pid: int | None = None, ntp: bool = True) -> list[Check]:
    """Every host check, in report order (they run concurrently)."""
    from tlsdoctor.checks.clock import ClockCheck
    from tlsdoctor.host.fds import FdCheck
    from tlsdoctor.host.interfaces import InterfaceCheck
    from tlsdoctor.host.openssl_conf import PolicyCheck
    from tlsdoctor.host.ports import PortCheck
    from tlsdoctor.host.proxy import ProxyCheck
    from tlsdoctor.host.timesync import TimeSyncCheck
    from tlsdoctor.host.trust import TrustCheck
    from tlsdoctor.host.versions import VersionCheck

    checks: list[Check] = [TimeSyncCheck()]
    if ntp:
        checks.append(ClockCheck())
    checks += [
        FdCheck(pid),
        PortCheck(),
        InterfaceCheck(),
        ProxyCheck(),
        TrustCheck(),
        PolicyCheck(),
        VersionCheck(),
    ]
    return checks
