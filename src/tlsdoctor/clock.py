"""Injected time, so that certificate validity and clock skew are testable."""

from __future__ import annotations

import datetime as dt
import time
from typing import Protocol


class Clock(Protocol):
    """What checks read instead of calling ``time`` directly."""

    def now(self) -> dt.datetime:
        """The current wall-clock time, timezone-aware UTC."""
        ...

    def monotonic(self) -> float:
        """A monotonic reading in seconds, for durations and deadlines."""
        ...


class SystemClock:
    """The machine's own clocks."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    def monotonic(self) -> float:
        return time.monotonic()


class FixedClock:
    """A wall clock pinned to one instant (tests); durations still advance for real."""

    def __init__(self, at: dt.datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware datetime")
        self._at = at

    def now(self) -> dt.datetime:
        return self._at

    def monotonic(self) -> float:
        return time.monotonic()
