"""File descriptors: one process's RLIMIT_NOFILE and open count, and the host's fs.file-nr.

Every socket is a descriptor; at the soft limit socket() fails with EMFILE (the process) or ENFILE
(the host), which OpenSSL-based clients report as a connect or SSL_ERROR_SYSCALL failure.
Counting works even when the process is out of descriptors (listing /proc/self/fd needs one):
then each descriptor number is probed with fstat, which opens nothing.
"""

from __future__ import annotations

import os
import resource

from tlsdoctor.host.base import Collected, FactCheck, read_text
from tlsdoctor.model import Status
from tlsdoctor.observations.base import Observation
from tlsdoctor.observations.host import FdUsage, HostFiles

NEAR = 0.9  # the share of a limit from which a check warns (the rule decides the cause)
MAX_PROBE = 1 << 16  # descriptors probed one by one when /proc/self/fd cannot be listed


def _limit(value: int) -> int | None:
    return None if value == resource.RLIM_INFINITY or value < 0 else value


def limits_of(pid: int) -> tuple[int | None, int | None]:
    """(soft, hard) RLIMIT_NOFILE of ``pid``: getrlimit for ourselves, /proc/PID/limits for another."""
    if pid == os.getpid():
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        return _limit(soft), _limit(hard)
    for line in (read_text(f"/proc/{pid}/limits") or "").splitlines():
        if line.startswith("Max open files"):
            words = line[len("Max open files") :].split()
            if len(words) >= 2:
                return tuple(None if w == "unlimited" else int(w) for w in words[:2])  # type: ignore[return-value]
    return None, None


def open_count(pid: int, soft: int | None) -> int | None:
    """Descriptors ``pid`` has open: /proc/PID/fd; for ourselves out of descriptors, fstat each number."""
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        if pid != os.getpid():
            return None
    count = 0
    for fd in range(min(soft or MAX_PROBE, MAX_PROBE)):
        try:
            os.fstat(fd)
        except OSError:
            continue
        count += 1
    return count


def host_files(text: str | None) -> HostFiles | None:
    """/proc/sys/fs/file-nr: "allocated  unused(0 since 2.6)  max"."""
    words = (text or "").split()
    if len(words) != 3 or not all(w.isdigit() for w in words):
        return None
    return HostFiles(allocated=int(words[0]), maximum=int(words[2]))


class FdCheck(FactCheck):
    """The process limit and use (this process's limit is what new processes from this shell get),
    and the host-wide use."""

    id = "host.fds"

    def __init__(self, pid: int | None = None) -> None:
        self.pid = pid

    def collect(self) -> Collected:
        pid = self.pid or os.getpid()
        soft, hard = limits_of(pid)
        usage = FdUsage(pid=pid, soft=soft, hard=hard, open=open_count(pid, soft), own=pid == os.getpid())
        found: list[Observation] = [usage]
        files = host_files(read_text("/proc/sys/fs/file-nr"))
        if files is not None:
            found.append(files)
        summary = usage.describe()
        if files is not None:
            summary += f"; {files.describe()}"
        near = (usage.fraction or 0.0) >= NEAR or (files is not None and files.fraction >= NEAR)
        return (Status.WARN if near else Status.PASS), summary, found
