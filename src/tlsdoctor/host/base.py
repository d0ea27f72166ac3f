"""What every host check shares: a deadline, a thread for the blocking reads, bounded file reads.

The host checks read /proc, /sys and a few configuration files. Those reads are fast but blocking,
and a hung filesystem (an NFS home, a stuck FUSE mount) must still cost no more than the check's
deadline: so each check collects in a worker thread, and the runner's deadline ends the wait.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from pathlib import Path

from tlsdoctor.context import Context
from tlsdoctor.model import CheckResult, Status
from tlsdoctor.observations.base import Observation

MAX_FILE = 1 << 20  # configuration and /proc files we read are far smaller; a larger one is cut
DEADLINE_S = 0.8  # a local read that takes longer than this is stuck, not slow

Collected = tuple[Status, str, Sequence[Observation]]


def read_text(path: str | Path, limit: int = MAX_FILE) -> str | None:
    """A file's text (at most ``limit`` bytes, undecodable bytes replaced), or None when unreadable."""
    try:
        with open(path, "rb") as f:
            return f.read(limit).decode("utf-8", errors="replace")
    except OSError:
        return None


class FactCheck:
    """A host check: ``collect()`` does the blocking reads and returns (status, summary, observations)."""

    id = "host"
    layer = "client"

    def budget(self, ctx: Context) -> float:
        return DEADLINE_S

    def collect(self) -> Collected:
        raise NotImplementedError

    async def run(self, ctx: Context) -> CheckResult:
        start = time.monotonic()
        status, summary, found = await asyncio.to_thread(self.collect)
        return CheckResult(
            id=self.id,
            status=status,
            summary=summary,
            observations=tuple(found),
            duration_ms=(time.monotonic() - start) * 1000,
        )
