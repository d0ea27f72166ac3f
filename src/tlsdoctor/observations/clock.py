"""The local clock read against the server's HTTP ``Date`` header, an independent time source.

Kept apart from NTP's ``ClockOffset`` in meaning though it is one: an origin server with a clock must
send ``Date`` (RFC 9110 section 6.6.1), with one-second resolution, and that clock may be wrong too.
The clock rule prefers NTP when both answered, and trusts a Date header a little less.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from tlsdoctor.observations.cert import ClockOffset


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class HttpDateOffset(ClockOffset):
    """``offset_s`` is the server's Date minus local time (positive: the local clock is behind).

    ``date`` is the header value exactly as sent (hostile text: stored, rendered escaped).
    """

    kind: ClassVar[str] = "http-date-offset"

    date: str

    def describe(self) -> str:
        direction = "behind" if self.offset_s > 0 else "ahead of"
        days = abs(self.offset_s) / 86400
        amount = f"{abs(self.offset_s):.0f} s" + (f" ({days:.1f} days)" if days >= 1 else "")
        return (
            f"local clock is {amount} {direction} the Date header of {self.source} "
            f"({self.date!r}, round trip {self.rtt_ms:.0f} ms)"
        )
