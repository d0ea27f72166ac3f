"""The server's clock, read from its HTTP ``Date`` header: a time source that needs no NTP.

When the certificate looks expired or not yet valid to us, the question is whose clock is wrong.
NTP answers it when one is configured; most laptops and containers have none reachable, but the
server we are already talking to has a clock, and an HTTP origin with one sends it in every answer
(RFC 9110 section 6.6.1, one-second resolution). So: one handshake with verification off (the
certificate is the thing in doubt), one bounded ``HEAD /``, and the offset of its Date against our
own clock at the middle of the round trip. The header parsing is pure (``date_header`` on wire/http.py's
head parser, ``parse_http_date``); the rest is one connection through the project's HTTP helper
(``net.tls.http_answer``, which reads with net/http.py's bounded reader).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import email.utils
import time

from tlsdoctor.checks.clock import SKEW_FAIL_S, SKEW_WARN_S
from tlsdoctor.checks.handshake import VARIANTS, build_context
from tlsdoctor.context import Context
from tlsdoctor.model import CheckResult, Status
from tlsdoctor.net.route import Route, open_stream
from tlsdoctor.net.tls import HTTP_ANSWER_S, handshake, http_answer
from tlsdoctor.observations.clock import HttpDateOffset
from tlsdoctor.wire.http import parse_head

CHECK_ID = "clock.http-date"
NO_VERIFY = next(v for v in VARIANTS if v.name == "no-verify")
MAX_DATE_CHARS = 64  # an IMF-fixdate is 29; anything much longer is not a date
RESOLUTION_S = 0.5  # Date is truncated to the second: the true time is half a second later on average


def date_header(answer: bytes) -> str | None:
    """The value of the first ``Date:`` field of an HTTP/1.x response head, None without one."""
    head = parse_head(answer)
    value = head.field(b"date") if head is not None else None
    return None if value is None else value[:MAX_DATE_CHARS].decode("latin-1")


def parse_http_date(text: str) -> dt.datetime | None:
    """An HTTP-date (IMF-fixdate, or the obsolete RFC 850 and asctime forms, RFC 9110 section 5.6.7)
    as an aware UTC datetime; None for anything else."""
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000" or no zone: HTTP dates are always GMT
        when = when.replace(tzinfo=dt.UTC)
    return when.astimezone(dt.UTC)


@dataclasses.dataclass(frozen=True, slots=True)
class HttpDateCheck:
    """The local clock against the Date the server sends, over one unverified connection."""

    route: Route
    layer: str = "client"

    @property
    def id(self) -> str:
        return CHECK_ID

    def budget(self, ctx: Context) -> float:
        steps = 2 + (1 if self.route.proxy else 0)
        return ctx.timeout * steps + HTTP_ANSWER_S + 1.0

    async def run(self, ctx: Context) -> CheckResult:
        if ctx.options.starttls is not None:
            return CheckResult(id=self.id, status=Status.SKIP, summary="not HTTP: the target speaks STARTTLS")
        start = time.monotonic()
        obs, stream = await open_stream(self.route, ctx.dial, ctx.timeout)
        if stream is None:
            return CheckResult(
                id=self.id, status=Status.SKIP, summary=f"could not connect ({obs[-1].describe()})"
            )
        try:
            stream.deadline = time.monotonic() + ctx.timeout
            result = await handshake(
                stream,
                build_context(ctx, NO_VERIFY),
                variant=CHECK_ID,
                address=self.route.address,
                port=ctx.options.port,
                servername=ctx.servername,
                client_cert_sent=ctx.options.cert is not None,
            )
            if result.tls is None or result.bios is None:
                summary = f"no session to ask: {result.attempt.describe()}"
                return CheckResult(id=self.id, status=Status.SKIP, summary=summary)
            host = ctx.servername or ctx.options.host
            incoming, outgoing = result.bios
            sent_at, m0 = ctx.clock.now(), ctx.clock.monotonic()
            status_line, answer = await http_answer(stream, result.tls, incoming, outgoing, host, "HEAD")
            rtt = ctx.clock.monotonic() - m0
        finally:
            stream.close()
        text = date_header(answer)
        when = parse_http_date(text) if text is not None else None
        if text is None or when is None:
            got = f"a Date of {text!r}" if text is not None else (status_line or "no HTTP answer")
            return CheckResult(
                id=self.id,
                status=Status.SKIP,
                summary=f"no usable Date header from the server ({got})",
                duration_ms=(time.monotonic() - start) * 1000,
            )
        local = sent_at + dt.timedelta(seconds=rtt / 2)
        offset = (when - local).total_seconds() + RESOLUTION_S
        seen = HttpDateOffset(
            source=f"{self.route.address}:{ctx.options.port}", offset_s=offset, rtt_ms=rtt * 1000, date=text
        )
        big = abs(offset)
        status = Status.FAIL if big > SKEW_FAIL_S else Status.WARN if big > SKEW_WARN_S else Status.PASS
        return CheckResult(
            id=self.id,
            status=status,
            summary=seen.describe(),
            observations=(seen,),
            duration_ms=(time.monotonic() - start) * 1000,
        )
