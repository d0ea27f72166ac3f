"""``--idle S``: does the server close a quiet connection, when, and how; what does a write then get?

The failure it explains happens in applications, not in handshakes: a pooled keep-alive connection sits
unused, the server (or a load balancer in front) closes it after its idle timeout, and the next request
written on it fails with EPIPE or ECONNRESET ("Connection reset by peer" on a connection that worked a
minute ago). So: the default client's handshake, then silence for up to S seconds while we listen for the
server's close_notify (RFC 8446 §6.1), FIN or RST, each with its time; then, if it closed, the writes an
application would make, until the kernel reports the error. The first write after a FIN usually succeeds
(the kernel accepts it and the peer answers with RST); the next one gets EPIPE, as in the application.
A server that keeps the connection for the whole hold passes: "held S s, still open".
"""

from __future__ import annotations

import asyncio
import dataclasses
import errno
import ssl
import time

from tlsdoctor.checks.handshake import DEFAULT, build_context
from tlsdoctor.context import Context
from tlsdoctor.model import CheckResult, Status
from tlsdoctor.net.http import read_answer
from tlsdoctor.net.route import Route, open_stream
from tlsdoctor.net.stream import ReadEnd, Stream
from tlsdoctor.net.tls import TlsChannel, alert_name, handshake
from tlsdoctor.observations.idle import IdleEnd, IdleHold
from tlsdoctor.wire.codepoints import ContentType, ProtocolVersion
from tlsdoctor.wire.http import ResponseHead, build_request
from tlsdoctor.wire.records import build_records

CHECK_ID = "idle"
IDLE_CLIENT = dataclasses.replace(DEFAULT, name="idle")  # the default client, with a context of its own
WRITE_WINDOW_S = 2.0  # how long the writes after a close may take: a few round trips to get the RST back
MAX_WRITES = 8
FIRST_GAP_S = 0.05  # between writes, doubling: loopback answers in microseconds, a far server in ~0.3 s
# Written after the close: a blank line, harmless to any line protocol (HTTP ignores leading CRLF,
# RFC 9112 §2.2), inside a TLS record as the application would write it.
PROBE = b"\r\n"
MAX_RESPONSE_HEAD = 16384


@dataclasses.dataclass(frozen=True, slots=True)
class IdleCheck:
    """Hold one default-client connection quiet for ``hold`` seconds after its handshake."""

    route: Route
    hold: float
    layer: str = "server"

    @property
    def id(self) -> str:
        return CHECK_ID

    def budget(self, ctx: Context) -> float:
        steps = 2 + (1 if self.route.proxy else 0) + (1 if ctx.options.starttls else 0)
        close_grace = min(1.0, ctx.timeout)
        return ctx.timeout * steps + self.hold + close_grace + WRITE_WINDOW_S + 1.0

    async def run(self, ctx: Context) -> CheckResult:
        obs, stream = await open_stream(self.route, ctx.dial, ctx.timeout)
        if stream is None:
            return CheckResult(
                id=self.id,
                status=Status.SKIP,
                summary=f"nothing to hold: could not connect ({obs[-1].describe()})",
                observations=tuple(obs),
            )
        # The default client's configuration in a context of its own (built off the loop, like the
        # default's): its ALPN offer is http/1.1 only, and the shared default context stays as it is.
        context = await asyncio.to_thread(build_context, ctx, IDLE_CLIENT)
        if ctx.options.starttls is None:
            context.set_alpn_protocols(["http/1.1"])  # as HTTP clients do; a server that picks it speaks HTTP
        try:
            stream.deadline = time.monotonic() + ctx.timeout
            result = await handshake(
                stream,
                context,
                variant=CHECK_ID,
                address=self.route.address,
                port=ctx.options.port,
                servername=ctx.servername,
                client_cert_sent=ctx.options.cert is not None,
            )
            if result.tls is None or result.bios is None:
                return CheckResult(
                    id=self.id,
                    status=Status.SKIP,
                    summary=f"nothing to hold: the handshake did not complete ({result.attempt.describe()})",
                )
            response, announced_close = None, False
            if result.tls.selected_alpn_protocol() == "http/1.1":
                host = ctx.servername or ctx.options.host
                answer = await http_request(stream, result.tls, result.bios, host, ctx.timeout)
                response, announced_close = answer
            seen = await hold(stream, result.tls, result.bios, self.hold, min(1.0, ctx.timeout))
            seen = dataclasses.replace(seen, response=response, announced_close=announced_close)
            if seen.closed:
                seen = await write_after_close(stream, result.tls, result.bios, seen, ctx.timeout)
        finally:
            stream.close()
        observation = dataclasses.replace(seen, address=self.route.address, port=ctx.options.port)
        status = Status.PASS if not observation.closed else Status.WARN  # closed as it had announced
        return CheckResult(
            id=self.id,
            status=Status.FAIL if observation.idle_close else status,
            summary=observation.describe(),
            observations=(observation,),
        )


async def http_request(
    stream: Stream, obj: ssl.SSLObject, bios: tuple[ssl.MemoryBIO, ssl.MemoryBIO], host: str, timeout: float
) -> tuple[str | None, bool]:
    """One ``HEAD /`` keep-alive request and its response head: (status line, "Connection: close" said).
    (None, False) when no HTTP answer came within the timeout; the hold then shows what the server did."""
    channel = TlsChannel(stream, obj, *bios)
    stream.deadline = time.monotonic() + timeout
    if await channel.send(build_request("HEAD", "/", host, accept=True, close=False)) is not ReadEnd.DATA:
        return None, False
    answer = await read_answer(channel, within=timeout, cap=MAX_RESPONSE_HEAD, head_only=True)
    status = answer.status_line
    if status is None:
        return None, False
    return status[:100], answer.head is not None and closes(answer.head)


def closes(head: ResponseHead) -> bool:
    """The server said it will close after this answer: ``close`` among the Connection field's options
    (RFC 9112 §9.6; a comma-separated, case-insensitive list, RFC 9110 §7.6.1)."""
    options = b",".join(value for name, value in head.fields if name.lower() == b"connection")
    return any(option.strip().lower() == b"close" for option in options.split(b","))


async def hold(
    stream: Stream, obj: ssl.SSLObject, bios: tuple[ssl.MemoryBIO, ssl.MemoryBIO], limit: float, grace: float
) -> IdleHold:
    """Listen without writing for up to ``limit`` seconds; after a close_notify or alert, up to ``grace``
    more for the FIN or RST that follows it."""
    incoming = bios[0]
    start = time.monotonic()
    stream.deadline = start + limit
    close_notify = alert_at = fin = reset = None
    alert: str | None = None
    received = 0
    detail = ""

    def ms() -> float:
        return (time.monotonic() - start) * 1000

    while True:
        end, data = await stream.recv()
        if end is ReadEnd.DATA:
            incoming.write(data)
            try:
                while chunk := obj.read(16384):
                    received += len(chunk)
            except ssl.SSLWantReadError:
                pass  # a partial record, or records with no application data (TLS 1.3 session tickets)
            except ssl.SSLZeroReturnError:
                close_notify = close_notify if close_notify is not None else ms()
                stream.deadline = max(stream.deadline, time.monotonic() + grace)
            except ssl.SSLError as exc:
                alert = alert_name(exc.reason) or exc.reason or str(exc)
                alert_at = alert_at if alert_at is not None else ms()
                stream.deadline = max(stream.deadline, time.monotonic() + grace)
            continue
        if end is ReadEnd.EOF:
            fin = ms()
        elif end is ReadEnd.RESET:
            reset = ms()
        elif end is not ReadEnd.TIMEOUT:
            detail = stream.error or end.value
        break
    firsts = [
        (t, e)
        for t, e in (
            (close_notify, IdleEnd.CLOSE_NOTIFY),
            (alert_at, IdleEnd.ALERT),
            (fin, IdleEnd.FIN),
            (reset, IdleEnd.RESET),
        )
        if t is not None
    ]
    if firsts:
        ended_ms, ending = min(firsts, key=lambda p: p[0])
    else:
        ended_ms, ending = ms(), IdleEnd.ERROR if detail else IdleEnd.OPEN
    return IdleHold(
        address="",
        port=0,
        limit_s=limit,
        ending=ending,
        ended_ms=ended_ms,
        close_notify_ms=close_notify,
        fin_ms=fin,
        reset_ms=reset,
        alert=alert,
        received=received,
        detail=detail,
    )


async def write_after_close(
    stream: Stream,
    obj: ssl.SSLObject,
    bios: tuple[ssl.MemoryBIO, ssl.MemoryBIO],
    seen: IdleHold,
    timeout: float,
) -> IdleHold:
    """Write as the application would on the connection the server closed, until the kernel refuses:
    the error (EPIPE, ECONNRESET) and which write got it."""
    record = _record(obj, bios[1])
    start = time.monotonic()
    window = min(WRITE_WINDOW_S, timeout)
    gap = FIRST_GAP_S
    writes = 0
    while writes < MAX_WRITES:
        stream.deadline = time.monotonic() + timeout
        end = await stream.send(record)
        writes += 1
        if end is not ReadEnd.DATA:
            number = stream.errno
            name = errno.errorcode.get(number, str(number)) if number is not None else end.value
            at = seen.ended_ms + (time.monotonic() - start) * 1000
            return dataclasses.replace(seen, writes=writes, write_error=name, write_ms=at)
        left = window - (time.monotonic() - start)
        if left <= 0:
            break
        await asyncio.sleep(min(gap, left))
        gap *= 2
    return dataclasses.replace(seen, writes=writes)


def _record(obj: ssl.SSLObject, outgoing: ssl.MemoryBIO) -> bytes:
    """PROBE as the session encrypts it; if the session refuses to write after the peer's close_notify,
    an application_data record of the same size (the bytes never reach a reader: the socket is closed)."""
    try:
        obj.write(PROBE)
        data = outgoing.read()
        if data:
            return data
    except ssl.SSLError:
        pass
    return build_records(ContentType.APPLICATION_DATA, ProtocolVersion.TLS1_2, bytes(len(PROBE) + 16))
