"""Round trips on a scan's critical path, as measured, next to the floor the answers force.

Over a long path a scan costs (round trips on its critical path) x RTT, not (handshakes) x RTT:
what matters is how many probes had to wait for another one. Every connection is numbered by
the wave it belongs to: one more than the deepest wave that had *finished* when it started. A
probe that waited for an answer (a removal chain's next offer) or for a free connection
(``--max-connections``) therefore counts one wave deeper; probes that run side by side share
a wave. Over a uniform delay (tlsdoctor.testing.delay) the deepest wave is the number of round
trips the scan took; on loopback it is an upper bound (CPU stalls also serialise).
"""

from __future__ import annotations

import contextvars
import dataclasses
import math
import time
from typing import Any

#: The phase (scanner.PHASES' name) the running task belongs to; tasks inherit it.
PHASE: contextvars.ContextVar[str] = contextvars.ContextVar("scan_phase", default="versions")


@dataclasses.dataclass(slots=True)
class PhaseWaves:
    """One phase's connections: how many, the waves they ran in, and when (ms from the scan's start)."""

    connections: int = 0
    first_wave: int = 0
    last_wave: int = 0
    started_ms: float = 0.0
    ended_ms: float = 0.0


class Waves:
    """The wave counter one scan's connections share (see the module docstring)."""

    def __init__(self) -> None:
        self.start = time.monotonic()
        self.done = 0  # the deepest wave any finished connection was in
        self.phases: dict[str, PhaseWaves] = {}

    def begin(self) -> int:
        """A connection starts now (it holds one of the --max-connections slots): its wave."""
        wave = self.done + 1
        now = (time.monotonic() - self.start) * 1000
        phase = self.phases.get(PHASE.get())
        if phase is None:
            phase = self.phases[PHASE.get()] = PhaseWaves(first_wave=wave, started_ms=now)
        phase.connections += 1
        phase.first_wave = min(phase.first_wave, wave)
        phase.last_wave = max(phase.last_wave, wave)
        return wave

    def end(self, wave: int) -> None:
        """The connection of ``wave`` is closed."""
        self.done = max(self.done, wave)
        phase = self.phases.get(PHASE.get())
        if phase is not None:
            phase.ended_ms = max(phase.ended_ms, (time.monotonic() - self.start) * 1000)

    @property
    def critical_path(self) -> int:
        return max((p.last_wave for p in self.phases.values()), default=0)


def floor_waves(answers: int, concurrency: int) -> int:
    """The fewest waves a scan needing ``answers`` connections after its version wave can take:
    one wave to learn the versions (everything else depends on which answered), then at least
    one more, and no fewer than those connections need at ``concurrency`` in flight."""
    if answers <= 0:
        return 1
    return 1 + max(1, math.ceil(answers / concurrency))


def to_contract(waves: Waves, floor: int, concurrency: int) -> dict[str, Any]:
    """The ``scan.round_trips`` object: measured waves per phase, the critical path and its floor."""
    return {
        "critical_path": waves.critical_path,
        "floor": floor,
        "max_connections": concurrency,
        "phases": {
            name: {
                "connections": p.connections,
                "waves": [p.first_wave, p.last_wave],
                "started_ms": round(p.started_ms, 1),
                "ended_ms": round(p.ended_ms, 1),
            }
            for name, p in waves.phases.items()
        },
    }
