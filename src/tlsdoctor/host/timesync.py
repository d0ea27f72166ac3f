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


CONTAINER_MARKERS = ("/.dockerenv", "/run/.containerenv")  # Docker's, Podman's
CGROUP_HINTS = ("docker", "kubepods", "containerd", "libpod", "lxc")


def in_container(environ: dict[str, str] | None = None, cgroup: str = "/proc/1/cgroup") -> bool:
    """Whether we run in a container, whose clock is the host kernel's (synchronised, if at all,
    by a daemon we cannot see): systemd's ``container`` variable, the runtimes' marker files, or
    the cgroup path of process 1."""
    environ = dict(os.environ) if environ is None else environ
    if environ.get("container") or any(os.path.exists(m) for m in CONTAINER_MARKERS):
        return True
    text = read_text(cgroup, 64 * 1024) or ""
    return any(hint in text for hint in CGROUP_HINTS)


class TimeSyncCheck(FactCheck):
    """Which sync daemons run, and which servers their configuration names."""

    id = "host.time-sync"

    def collect(self) -> Collected:
        sync = TimeSync(daemons=running_daemons(), configured=tuple(configured_servers()))
        if not sync.daemons and in_container():
            return (
                Status.PASS,
                "in a container: the clock is the host kernel's, whose sync daemon is not visible "
                "here (--ntp checks the clock itself)",
                [sync],
            )
        if not sync.daemons:
            return (
                Status.WARN,
                "no clock-synchronisation daemon (chronyd, ntpd, systemd-timesyncd) runs",
                [sync],
            )
        return Status.PASS, sync.describe(), [sync]
