"""server-idle-close and client-write-after-close: both read the one ``--idle`` probe (checks/idle.py).

They sit together, not under rules/server.py and rules/client.py, because they are two readings of
one observation: the server's close of a quiet connection is the root cause; the failed write after it
is what the application sees, so it ranks second, and only when a write really failed.
"""

from __future__ import annotations

from tlsdoctor.inference.causes import CauseId
from tlsdoctor.inference.facts import Facts
from tlsdoctor.inference.rules.base import Match, Rule
from tlsdoctor.model import Evidence
from tlsdoctor.observations.idle import IdleHold

__all__ = ["CLIENT_WRITE_AFTER_CLOSE", "RULES", "SERVER_IDLE_CLOSE"]

CLOSE_CONFIDENCE = 0.9  # we watched it close a connection on which nothing was asked
WRITE_CONFIDENCE = 0.7  # our own write got the error an application's would: a consequence, ranked below


def server_idle_close(facts: Facts) -> Match | None:
    """The server (or something in front of it) closed the handshaken connection while it was quiet."""
    for check, seen in facts.with_check(IdleHold):
        if seen.idle_close:
            summary = (
                f"the server closes a connection left quiet for {seen.ended_ms / 1000:.1f} s ({seen.how()}); "
                "a client that reuses it later gets EPIPE / ECONNRESET"
            )
            return Match(CLOSE_CONFIDENCE, [Evidence(check=check, observation=seen.describe())], summary)
    return None


def client_write_after_close(facts: Facts) -> Match | None:
    """A write on the connection the server closed failed: the application's EPIPE, reproduced."""
    for check, seen in facts.with_check(IdleHold):
        if seen.idle_close and seen.write_error:
            summary = (
                f"writing on the connection after the server closed it fails with {seen.write_error}: "
                "what an application reusing a pooled connection past the server's idle timeout gets"
            )
            return Match(WRITE_CONFIDENCE, [Evidence(check=check, observation=seen.describe())], summary)
    return None


SERVER_IDLE_CLOSE = Rule(CauseId.SERVER_IDLE_CLOSE, server_idle_close)
CLIENT_WRITE_AFTER_CLOSE = Rule(CauseId.CLIENT_WRITE_AFTER_CLOSE, client_write_after_close)
RULES = (SERVER_IDLE_CLOSE, CLIENT_WRITE_AFTER_CLOSE)
