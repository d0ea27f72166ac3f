"""What holding a handshaken connection quiet showed (``--idle S``, checks/idle.py)."""

from __future__ import annotations

import dataclasses
import enum
from typing import ClassVar

from tlsdoctor.observations.base import Observation


class IdleEnd(enum.StrEnum):
    """How the quiet connection ended, from the wire's point of view."""

    OPEN = "open"  # still open when the hold ended
    CLOSE_NOTIFY = "close-notify"  # the server's TLS close_notify alert (RFC 8446 §6.1)
    ALERT = "alert"  # another TLS alert
    FIN = "fin"  # a TCP FIN without a close_notify first
    RESET = "reset"  # a TCP RST
    ERROR = "error"  # a local socket error or the byte cap


CLOSED = (IdleEnd.CLOSE_NOTIFY, IdleEnd.ALERT, IdleEnd.FIN, IdleEnd.RESET)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class IdleHold(Observation):
    """One connection held quiet after a successful handshake, then written to once it was closed.

    Times are from the end of the handshake. ``write_error`` is what the application's next write
    on that connection gets (EPIPE after the server's FIN and RST, ECONNRESET after a bare RST);
    ``writes`` counts our writes until it came: the first one usually succeeds, since the kernel
    accepts it before the peer's RST answers it.
    """

    kind: ClassVar[str] = "idle-hold"

    address: str
    port: int
    limit_s: float  # how long we were prepared to wait (--idle)
    ending: IdleEnd
    ended_ms: float  # when the connection ended, or when the hold did
    close_notify_ms: float | None = None
    fin_ms: float | None = None
    reset_ms: float | None = None
    alert: str | None = None
    received: int = 0  # application bytes the server sent unasked while we were quiet
    writes: int = 0  # writes made after the close
    write_error: str | None = None  # "EPIPE", "ECONNRESET", ... or None when every write was accepted
    write_ms: float | None = None  # when the failing write came, from the end of the handshake
    detail: str = ""
    # HTTP (ALPN http/1.1): one keep-alive request first, as a pooled connection has served before it
    # idles; the server's keep-alive timer (nginx keepalive_timeout) runs only after a response.
    response: str | None = None  # the status line of the answer to that request
    announced_close: bool = False  # the answer said "Connection: close": no keep-alive, not an idle close

    @property
    def closed(self) -> bool:
        return self.ending in CLOSED

    @property
    def idle_close(self) -> bool:
        """Closed while quiet, by a server that had not announced that it would close."""
        return self.closed and not self.announced_close

    def how(self) -> str:
        """The close in words, with its times: "close_notify at 1.00 s, then FIN at 1.00 s"."""
        parts = []
        if self.close_notify_ms is not None:
            parts.append(f"close_notify at {self.close_notify_ms / 1000:.2f} s")
        if self.alert is not None:
            parts.append(f"alert {self.alert}")
        if self.fin_ms is not None:
            parts.append(f"FIN at {self.fin_ms / 1000:.2f} s")
        if self.reset_ms is not None:
            parts.append(f"RST at {self.reset_ms / 1000:.2f} s")
        return ", then ".join(parts) or self.ending.value

    def describe(self) -> str:
        where = f"{self.address}:{self.port}"
        if self.response is not None:
            where += f" (after one request, answered {self.response!r})"
        if not self.closed:
            state = "still open" if self.ending is IdleEnd.OPEN else f"ended locally ({self.detail})"
            return f"held the connection to {where} quiet for {self.ended_ms / 1000:.1f} s: {state}"
        text = (
            f"the server closed the idle connection to {where} after {self.ended_ms / 1000:.2f} s "
            f"of silence ({self.how()})"
        )
        if self.announced_close:
            text += "; it had announced Connection: close (no keep-alive)"
        if self.write_error:
            text += f"; writing to it then failed with {self.write_error} (write {self.writes})"
        elif self.writes:
            text += f"; {self.writes} writes after it were accepted (the server reads on: a half-close)"
        return text
