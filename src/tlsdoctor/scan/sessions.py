"""Sessions and HTTP: resumption by session ID and by ticket (TLS 1.2) and by PSK ticket
(TLS 1.3), the early data (0-RTT) a TLS 1.3 server offers, and ONE HTTP request over a
negotiated connection for HSTS, the other security headers and the server banner.

Stdlib handshakes (net/tls.py), unverified (the certificate is judged elsewhere), through the
Prober's gate like every probe. Two waves: the first connections (which also carry the HTTP
request and collect the tickets), then one resumption attempt each, all at once:

- session ID (RFC 5246 §7.4.1.2): a TLS <= 1.2 context that refuses tickets (OP_NO_TICKET),
  then the same session offered again: ``session_reused`` says whether the server took it;
- ticket (RFC 5077 §3.1): the same with tickets allowed, when the server issued one;
- TLS 1.3 (RFC 8446 §2.2, §4.6.1): the NewSessionTicket (read through OpenSSL's message
  callback, its early_data extension giving max_early_data_size), then a PSK resumption.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import ssl
import warnings
from typing import TYPE_CHECKING, Any

from tlsdoctor.net.tls import HandshakeResult, handshake, http_answer, observe
from tlsdoctor.observations.tls import HandshakeOutcome
from tlsdoctor.scan.result import HttpAnswer
from tlsdoctor.wire.codepoints import ProtocolVersion
from tlsdoctor.wire.reader import DecodeError
from tlsdoctor.wire.registry import version_name
from tlsdoctor.wire.tickets import NewSessionTicket, parse_new_session_ticket

if TYPE_CHECKING:
    from tlsdoctor.scan.probe import ProbeResult
    from tlsdoctor.scan.prober import Prober
    from tlsdoctor.scan.result import ScanData

V = ProtocolVersion
PART = "sessions"
HTTP_KEEP = 16 * 1024  # bytes of the answer kept: headers (a CSP can take kilobytes), not the body
TICKET_WAIT = 0.25  # seconds to wait for TLS 1.3 tickets when no HTTP request reads them
#: The response headers a scan reports (OWASP Secure Headers Project's list, plus the deprecated
#: ones a server may still send), lower-case.
SECURITY_HEADERS = (
    "strict-transport-security",
    "content-security-policy",
    "content-security-policy-report-only",
    "x-frame-options",
    "x-content-type-options",
    "referrer-policy",
    "permissions-policy",
    "cross-origin-opener-policy",
    "cross-origin-embedder-policy",
    "cross-origin-resource-policy",
    "x-xss-protection",
    "expect-ct",
    "public-key-pins",
)
BANNER_HEADERS = ("server", "x-powered-by", "x-aspnet-version")
LEGACY_NAMES = {
    V.TLS1_2: ssl.TLSVersion.TLSv1_2,
    V.TLS1_1: ssl.TLSVersion.TLSv1_1,
    V.TLS1_0: ssl.TLSVersion.TLSv1,
}


@dataclasses.dataclass(slots=True)
class _Conn:
    """One context and what its first connection gave: the session to offer again, the tickets."""

    context: ssl.SSLContext
    tickets: list[NewSessionTicket] = dataclasses.field(default_factory=list)
    result: HandshakeResult | None = None

    @property
    def session(self) -> ssl.SSLSession | None:
        tls = self.result.tls if self.result is not None else None
        return tls.session if tls is not None else None


def _context(version: ssl.TLSVersion, *, tickets: bool) -> _Conn:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # the chain is judged by the certificate phase
    with warnings.catch_warnings():  # ssl.TLSVersion.TLSv1/1_1 are deprecated: testing them is the point
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version = ctx.maximum_version = version
    if version < ssl.TLSVersion.TLSv1_2:
        ctx.set_ciphers("ALL:@SECLEVEL=0")  # OpenSSL 3 refuses TLS 1.0/1.1 above level 0
    if not tickets:
        ctx.options |= ssl.OP_NO_TICKET
    ctx.set_alpn_protocols(["http/1.1"])  # the HTTP request is HTTP/1.1 (never h2's preface)
    conn = _Conn(ctx)

    def on_ticket(body: bytes) -> None:
        if version >= ssl.TLSVersion.TLSv1_3 and len(conn.tickets) < 8:
            with contextlib.suppress(DecodeError):  # a malformed ticket is the TLS library's to refuse
                conn.tickets.append(parse_new_session_ticket(body))

    observe(ctx, on_ticket=on_ticket)
    return conn


async def _connect(
    prober: Prober, conn: _Conn, *, resume: bool = False, request: bool = False
) -> tuple[HandshakeResult | None, HttpAnswer | None]:
    """One stdlib handshake (offering ``conn``'s session when ``resume``), and the HTTP request on
    it when ``request``; (None, None) when TCP failed or the deadline leaves no time."""
    target = prober.target
    session = conn.session if resume else None
    async with prober.gate:
        timeout = prober.time_left()
        if timeout is None:
            prober.skip(PART, "not tested: the scan's deadline (--max-time) ran out")
            return None, None
        prober.count += 1
        wave = prober.waves.begin()
        stream, _ = await prober.open_stream(timeout)
        if stream is None:
            prober.waves.end(wave)
            return None, None
        try:
            result = await handshake(
                stream, conn.context, variant="scan-session", address=target.address, port=target.port,
                servername=target.servername, grace=0.0, alpn=("http/1.1",), session=session,
            )  # fmt: skip
            answer = None
            ok = result.attempt.outcome is HandshakeOutcome.OK and result.tls is not None
            if ok and request and result.tls is not None and result.bios is not None:
                said, head = await http_answer(
                    stream, result.tls, *result.bios, target.servername or target.address, keep=HTTP_KEEP
                )
                answer = parse_http_answer(head) if head else HttpAnswer(error=said or "no answer within 1 s")
            elif ok and result.tls is not None and result.bios is not None and not resume:
                await _read_tickets(stream, result)
            if ok and result.tls is not None and result.bios is not None:
                await _close_notify(stream, result.tls, result.bios[1])
            return result, answer
        finally:
            stream.close()
            prober.waves.end(wave)


async def _read_tickets(stream: Any, result: HandshakeResult) -> None:
    """Let TLS 1.3 tickets, sent after our Finished, reach the session (bounded wait)."""
    from tlsdoctor.net.stream import ReadEnd

    assert result.tls is not None and result.bios is not None
    if result.tls.version() != "TLSv1.3":
        return
    incoming = result.bios[0]
    end, data = await stream.recv(limit=min(TICKET_WAIT, stream.remaining()))
    if end is ReadEnd.DATA:
        incoming.write(data)
        with contextlib.suppress(ssl.SSLError):  # want-read, or application data we do not need
            result.tls.read(1)


async def _close_notify(stream: Any, tls: ssl.SSLObject, outgoing: ssl.MemoryBIO) -> None:
    """End as a well-behaved client does (RFC 8446 §6.1): a server that sees the connection
    drop without close_notify may drop the session from its cache (OpenSSL does), and the
    resumption test would then blame the server for our rudeness."""
    with contextlib.suppress(ssl.SSLError):
        tls.unwrap()
    data = outgoing.read()
    if data:
        await stream.send(data)


def _reused(result: HandshakeResult | None) -> bool | None:
    if result is None or result.tls is None or result.attempt.outcome is not HandshakeOutcome.OK:
        return None
    return bool(result.tls.session_reused)


async def sessions(prober: Prober, supported: dict[ProtocolVersion, ProbeResult], data: ScanData) -> None:
    """The scan phase: fills ``data.sessions`` and ``data.http``."""
    legacy = next((v for v in (V.TLS1_2, V.TLS1_1, V.TLS1_0) if v in supported), None)
    http = not prober.target.starttls  # STARTTLS protocols are not HTTP
    conns: dict[str, _Conn] = {}
    asks: dict[str, bool] = {}  # which first connection carries the HTTP request
    if V.TLS1_3 in supported:
        conns["tls13"], asks["tls13"] = _context(ssl.TLSVersion.TLSv1_3, tickets=True), http
    if legacy is not None:
        conns["id"], asks["id"] = _context(LEGACY_NAMES[legacy], tickets=False), False
        conns["ticket"], asks["ticket"] = (
            _context(LEGACY_NAMES[legacy], tickets=True),
            http and "tls13" not in conns,
        )
    if not conns:
        return
    done = await asyncio.gather(*(_connect(prober, conn, request=asks[k]) for k, conn in conns.items()))
    for (kind, conn), (result, answer) in zip(conns.items(), done, strict=True):
        conn.result = result
        if asks[kind]:
            data.http = answer
    again = [kind for kind, conn in conns.items() if _resumable(kind, conn)]
    resumed = await asyncio.gather(*(_connect(prober, conns[kind], resume=True) for kind in again))
    reused = {kind: _reused(result) for kind, (result, _) in zip(again, resumed, strict=True)}
    out: dict[str, Any] = {}
    if legacy is not None:
        ids, tickets = conns["id"], conns["ticket"]
        out["tls12_version"] = version_name(legacy)
        out["session_id"] = _issued_id(ids)
        out["session_id_resumption"] = reused.get("id", False if ids.result is not None else None)
        out["session_ticket"] = _has_ticket(tickets)
        out["session_ticket_lifetime"] = _lifetime(tickets)
        out["session_ticket_resumption"] = reused.get("ticket", False if _has_ticket(tickets) else None)
    if "tls13" in conns:
        tls13 = conns["tls13"]
        seen = tls13.result is not None and tls13.result.tls is not None and _OBSERVABLE
        early = [t.max_early_data for t in tls13.tickets if t.max_early_data is not None]
        out["tls13_tickets"] = len(tls13.tickets) if seen else None
        out["tls13_ticket_lifetime"] = max((t.lifetime for t in tls13.tickets), default=None)
        out["tls13_resumption"] = reused.get("tls13", False if tls13.session is not None else None)
        out["early_data"] = bool(early) if seen else None  # 0-RTT offered (RFC 8446 §4.2.10)
        out["max_early_data"] = max(early) if early else None
    data.sessions = out


_OBSERVABLE = hasattr(ssl.SSLContext, "_msg_callback")  # tickets are read through OpenSSL's callback


def _resumable(kind: str, conn: _Conn) -> bool:
    """Worth a second connection: the first one succeeded and left something to resume with."""
    session = conn.session
    if session is None:
        return False
    if kind == "id":
        return bool(session.id)
    if kind == "ticket":
        return bool(session.has_ticket)
    return bool(conn.tickets) or bool(session.has_ticket)


def _issued_id(conn: _Conn) -> bool | None:
    session = conn.session
    return None if session is None else bool(session.id)


def _has_ticket(conn: _Conn) -> bool | None:
    session = conn.session
    return None if session is None else bool(session.has_ticket)


def _lifetime(conn: _Conn) -> int | None:
    session = conn.session
    return session.ticket_lifetime_hint if session is not None and session.has_ticket else None


def parse_http_answer(head: bytes) -> HttpAnswer:
    """The status and the security and banner headers of an HTTP/1.x answer (RFC 9112 §4, §5).
    Header names are case-insensitive; repeated ones are joined with ", " (RFC 9110 §5.3), but
    for HSTS only the first counts (RFC 6797 §8.1). Values are kept as sent (escaped on output)."""
    text = head.partition(b"\r\n\r\n")[0].decode("latin-1")
    lines = text.split("\r\n")
    status_line = lines[0][:200]
    parts = status_line.split(" ", 2)
    status = int(parts[1]) if len(parts) > 1 and parts[0].startswith("HTTP/") and parts[1].isdigit() else None
    headers: dict[str, str] = {}
    first_hsts: str | None = None
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        name, value = name.strip().lower(), value.strip()
        if not sep or name not in SECURITY_HEADERS + BANNER_HEADERS:
            continue
        if name == "strict-transport-security" and first_hsts is None:
            first_hsts = value
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    answer = HttpAnswer(status=status, status_line=status_line, headers=headers, server=headers.get("server"))
    if status is None:
        answer.error = "the answer is not HTTP"
    if first_hsts is not None:
        answer.hsts_max_age, answer.hsts_include_subdomains, answer.hsts_preload = parse_hsts(first_hsts)
    return answer


def parse_hsts(value: str) -> tuple[int | None, bool, bool]:
    """(max-age, includeSubDomains, preload) of a Strict-Transport-Security value (RFC 6797
    §6.1): directives split on ';', names case-insensitive, max-age required (quoted or not);
    a header with a missing, repeated or non-numeric max-age is invalid: max-age None."""
    ages: list[str] = []
    sub = preload = False
    for directive in value.split(";"):
        name, _, arg = directive.strip().partition("=")
        name = name.strip().lower()
        if name == "max-age":
            ages.append(arg.strip().strip('"'))
        elif name == "includesubdomains":
            sub = True
        elif name == "preload":
            preload = True
    if len(ages) != 1 or not ages[0].isdigit():
        return None, sub, preload
    return int(ages[0]), sub, preload
