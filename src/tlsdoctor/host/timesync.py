"""Whether a clock-synchronisation daemon runs: a scan of /proc/*/comm, no dependency needed.

A host without one drifts seconds a day, and after a suspend or on a board without an RTC battery
it can boot years off; certificates then look expired or not yet valid.
"""

from __future__ import annotations

import os

from tlsdoctor.checks.clock import configured_servers
from tlsdoctor.host.base import Collected, FactCheck, read_text
from tlsdoctor.model import Status
from tlsdoctor.observations.host import TimeSync

# /proc/PID/comm is cut at 15 characters: systemd-timesyncd shows as "systemd-timesyn".
DAEMONS = {
    "chronyd": "chronyd",
    "ntpd": "ntpd",
    "openntpd": "openntpd",
    "systemd-timesyn": "systemd-timesyncd",
    "ptp4l": "ptp4l",
    "phc2sys": "phc2sys",
    "vmtoolsd": "vmtoolsd",
}
MAX_PIDS = 100_000


def running_daemons(proc: str = "/proc") -> tuple[str, ...]:
    """The sync daemons among the running processes (by command name)."""
    found: set[str] = set()
    try:
        entries = os.listdir(proc)
    except OSError:
        return ()
    for entry in entries[:MAX_PIDS]:
        if entry.isdigit():
            name = (read_text(f"{proc}/{entry}/comm", 64) or "").strip()
            if name in DAEMONS:
                found.add(DAEMONS[name])
    return tuple(sorted(found))


class TimeSyncCheck(FactCheck):
    """Which sync daemons run, and which servers their configuration names."""

    id = "host.time-sync"

    def collect(self) -> Collected:
        sync = TimeSync(daemons=running_daemons(), configured=tuple(configured_servers()))
        if not sync.daemons:
            return (
                Status.WARN,
                "no clock-synchronisation daemon (chronyd, ntpd, systemd-timesyncd) runs",
                [sync],
            )
        return Status.PASS, sync.describe(), [sync]
