"""What a STARTTLS preamble showed: whether the plaintext protocol let TLS start, and if not, why."""

from __future__ import annotations

import dataclasses
import enum
from typing import ClassVar

from tlsdoctor.observations.base import Observation
from tlsdoctor.observations.tls import preview
from tlsdoctor.wire.sniff import looks_like_tls


class StarttlsOutcome(enum.StrEnum):
    """How a preamble ended. READY is the only one after which a TLS handshake follows."""

    READY = "ready"  # the server agreed; the next bytes are the ClientHello
    REFUSED = "refused"  # the server speaks the protocol but will not start TLS ('N', 454, -ERR, ...)
    NOT_THIS_PROTOCOL = "not-this-protocol"  # its first bytes are another protocol (or TLS itself)
    MALFORMED = "malformed"  # it started in the protocol, then broke it or a cap
    EOF = "eof"  # the server closed (FIN)
    RESET = "reset"  # RST
    TIMEOUT = "timeout"  # no (complete) answer before the deadline
    ERROR = "error"  # any other socket error


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class StarttlsResult(Observation):
    """One plaintext preamble (``--starttls PROTO``) on one connection, before the TLS handshake.

    ``stage`` is what the client was waiting for when it ended (the greeting, the EHLO reply, the answer
    to SSLRequest...), ``transcript`` the exchange in a few readable lines (C: sent, S: received), and
    ``first_bytes`` what the server sent first, for naming the protocol the port really speaks.
    """

    kind: ClassVar[str] = "starttls"

    protocol: str  # a --starttls value: smtp, imap, pop3, ftp, ldap, xmpp, postgres, mysql
    outcome: StarttlsOutcome
    stage: str = ""
    reason: str = ""
    reply: str = ""  # the server's decisive answer, as text ("N", "454 4.7.0 TLS not available", ...)
    advertised: bool | None = None  # STARTTLS listed in the capabilities (None: not asked or not told)
    transcript: tuple[str, ...] = ()
    first_bytes: bytes = b""
    trailing_bytes: int = 0  # bytes after the go-ahead, before our ClientHello: an injection risk
    bytes_sent: int = 0
    bytes_received: int = 0
    elapsed_ms: float = 0.0

    @property
    def ready(self) -> bool:
        """Whether TLS may start on this connection."""
        return self.outcome is StarttlsOutcome.READY

    def describe(self) -> str:
        head = f"STARTTLS ({self.protocol})"
        t = f"{self.elapsed_ms:.0f} ms"
        match self.outcome:
            case StarttlsOutcome.READY:
                extra = (
                    f"; {self.trailing_bytes} bytes after the go-ahead (discarded)"
                    if self.trailing_bytes
                    else ""
                )
                return f"{head}: the server agreed to start TLS after {t}{extra}"
            case StarttlsOutcome.REFUSED:
                return f"{head}: refused: {self.reason}"
            case StarttlsOutcome.NOT_THIS_PROTOCOL if looks_like_tls(self.first_bytes):
                return f"{head}: the port speaks TLS directly (implicit TLS): drop --starttls"
            case StarttlsOutcome.NOT_THIS_PROTOCOL:
                return f"{head}: the server does not speak {self.protocol}: {preview(self.first_bytes)}"
            case StarttlsOutcome.MALFORMED:
                return f"{head}: broken exchange: {self.reason}"
            case StarttlsOutcome.EOF:
                return f"{head}: the server closed the connection while we waited for {self.stage}"
            case StarttlsOutcome.RESET:
                return f"{head}: connection reset while we waited for {self.stage}"
            case StarttlsOutcome.TIMEOUT:
                return f"{head}: no answer within {t} while we waited for {self.stage}"
            case _:
                return f"{head}: {self.reason or self.outcome.value} while we waited for {self.stage}"
