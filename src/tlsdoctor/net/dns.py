"""DNS I/O: getaddrinfo the way the client calls it, and one nameserver asked directly with dnspython.

Each lookup comes back as a :class:`~tlsdoctor.observations.dns.DnsLookup`: resolver errors (getaddrinfo's
EAI codes, timeouts, refused ports, rcodes) are translated here, once, into outcomes; what the answers
mean (sinkholes, disagreements, the verdict) is checks/dns.py's business. dnspython is imported only when
a nameserver is asked, so an IP target or a plain getaddrinfo never pays for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from tlsdoctor.observations.dns import DnsLookup, DnsOutcome

if TYPE_CHECKING:
    import dns.message

RETRANSMIT_AT = 0.4  # UDP is resent once at this fraction of the step timeout (RFC 1035 4.2.1)

Lookup = Callable[[str], list[str]]  # blocking host -> addresses; raises socket.gaierror


# getaddrinfo's codes, and what each can and cannot tell (glibc; musl and macOS differ).
_GAI: dict[int, tuple[DnsOutcome, str]] = {
    socket.EAI_NONAME: (
        DnsOutcome.NXDOMAIN,
        "getaddrinfo EAI_NONAME: no such name, or no address for it "
        "(getaddrinfo cannot reliably tell NXDOMAIN from NODATA; see dns.server.*)",
    ),
    socket.EAI_AGAIN: (
        DnsOutcome.TIMEOUT,
        "getaddrinfo EAI_AGAIN: temporary failure, the resolver timed out "
        "or answered SERVFAIL (getaddrinfo cannot tell which; see dns.server.*)",
    ),
    socket.EAI_FAIL: (
        DnsOutcome.SERVFAIL,
        "getaddrinfo EAI_FAIL: non-recoverable failure (REFUSED, FORMERR or a broken answer)",
    ),
    getattr(socket, "EAI_NODATA", -5): (
        DnsOutcome.NO_ADDRESS,
        "getaddrinfo EAI_NODATA: the name exists but has no address (NODATA)",
    ),
    getattr(socket, "EAI_ADDRFAMILY", -9): (
        DnsOutcome.NO_ADDRESS,
        "getaddrinfo EAI_ADDRFAMILY: no address of a usable family",
    ),
}


def unique(items: Sequence[str]) -> tuple[str, ...]:
    """``items`` without repeats, in their first order (a resolver's order is its preference)."""
    return tuple(dict.fromkeys(items))


def system_lookup(host: str) -> list[str]:
    """getaddrinfo as a TCP client calls it; addresses in the order it sorted them (RFC 6724)."""
    infos = socket.getaddrinfo(host, None, socket.AF_UNSPEC, socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


async def in_daemon_thread(fn: Lookup, host: str) -> list[str]:
    """Run a blocking lookup in a daemon thread and await it. getaddrinfo cannot be cancelled: in the
    default executor a hung lookup would hold the interpreter at exit; a daemon thread is abandoned."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[list[str]] = loop.create_future()

    def settle(value: list[str], error: Exception | None) -> None:
        if not future.done():  # else the waiter timed out and went away
            future.set_exception(error) if error else future.set_result(value)

    def work() -> None:
        value, error = [], None
        try:
            value = fn(host)
        except Exception as exc:
            error = exc
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is waiting any more
            loop.call_soon_threadsafe(settle, value, error)

    threading.Thread(target=work, name="tlsdoctor-getaddrinfo", daemon=True).start()
    return await future


async def ask_system(name: str, timeout: float, lookup: Lookup = system_lookup) -> DnsLookup:
    """``name`` through ``lookup`` (getaddrinfo: /etc/hosts, nsswitch, the search list) within ``timeout``."""
    start = time.monotonic()
    outcome, detail, code = DnsOutcome.ANSWER, "", None
    found: tuple[str, ...] = ()
    try:
        async with asyncio.timeout(timeout):
            found = unique(await in_daemon_thread(lookup, name))
    except TimeoutError:
        outcome, detail = DnsOutcome.TIMEOUT, f"getaddrinfo did not return within {timeout:.1f} s"
    except socket.gaierror as exc:
        code = exc.errno if isinstance(exc.errno, int) else None
        outcome, detail = _GAI.get(code or 0, (DnsOutcome.ERROR, f"getaddrinfo error {code}: {exc}"))
    if outcome is DnsOutcome.ANSWER and not found:
        outcome, detail = DnsOutcome.NO_ADDRESS, "getaddrinfo returned no address"
    return DnsLookup(
        resolver="system",
        name=name,
        qtype="ANY",
        outcome=outcome,
        addresses=found,
        rcode=None if code is None else str(code),
        detail=detail,
        transport="getaddrinfo",
        elapsed_ms=(time.monotonic() - start) * 1000,
    )


async def first_address(host: str, timeout: float) -> str | None:
    """``host``'s first address from the system resolver within ``timeout`` (a proxy's, an AIA
    server's), or None: getaddrinfo's first choice, as the client's own connect would take it."""
    found = await ask_system(host, timeout)
    return found.addresses[0] if found.addresses else None


async def ask_server(server: str, port: int, label: str, name: str, qtype: str, timeout: float) -> DnsLookup:
    """``qtype`` for ``name`` asked of the nameserver ``server``:``port`` with EDNS (RFC 6891, a 1232-byte
    payload as of DNS flag day 2020), over UDP resent once, then TCP after truncation (RFC 7766 §5)."""
    import dns.asyncquery
    import dns.exception
    import dns.flags
    import dns.message

    query = dns.message.make_query(name, qtype, use_edns=0, payload=1232)
    start, transport = time.monotonic(), "udp"

    def failed(outcome: DnsOutcome, detail: str) -> DnsLookup:
        return DnsLookup(
            resolver=label,
            name=name,
            qtype=qtype,
            outcome=outcome,
            detail=detail,
            transport=transport,
            elapsed_ms=(time.monotonic() - start) * 1000,
        )

    try:
        response = await _udp(query, server, port, timeout)
        if response.flags & dns.flags.TC:
            transport = "tcp"
            response = await dns.asyncquery.tcp(query, server, timeout=timeout, port=port)
    except (dns.exception.Timeout, TimeoutError):
        return failed(DnsOutcome.TIMEOUT, f"no answer within {timeout:.1f} s over {transport}")
    except ConnectionRefusedError:
        return failed(DnsOutcome.ERROR, f"nothing listens on port {port} ({transport}: refused)")
    except OSError as exc:
        return failed(DnsOutcome.ERROR, f"{transport}: {exc.strerror or exc}")
    except dns.exception.DNSException as exc:
        return failed(DnsOutcome.ERROR, f"unusable response over {transport}: {exc}")
    elapsed = (time.monotonic() - start) * 1000
    return from_response(label, name, qtype, response, transport, elapsed)


async def _udp(query: dns.message.Message, server: str, port: int, timeout: float) -> dns.message.Message:
    """One UDP exchange, resent once at RETRANSMIT_AT; both stay open, the first answer wins."""
    import dns.asyncquery
    import dns.exception

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout

    async def attempt(delay: float) -> dns.message.Message:
        await asyncio.sleep(delay)
        return await dns.asyncquery.udp(
            query, server, timeout=max(0.01, deadline - loop.time()), port=port, ignore_unexpected=True
        )

    tasks = [asyncio.ensure_future(attempt(0.0)), asyncio.ensure_future(attempt(timeout * RETRANSMIT_AT))]
    try:
        last: BaseException | None = None
        for next_done in asyncio.as_completed(tasks):
            try:
                return await next_done
            except dns.exception.Timeout as exc:
                last = exc
        raise last or TimeoutError()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def from_response(
    resolver: str, name: str, qtype: str, response: dns.message.Message, transport: str, elapsed_ms: float
) -> DnsLookup:
    """Map a response to an outcome (RFC 1035 4.1.1 rcodes; RFC 2308 NODATA; RFC 8914 EDE)."""
    import dns.rcode
    import dns.rdatatype

    rcode = response.rcode()
    wanted = dns.rdatatype.from_text(qtype)
    found = unique([rd.to_text() for rrset in response.answer if rrset.rdtype == wanted for rd in rrset])
    chain = [rd.to_text() for rrset in response.answer if rrset.rdtype == dns.rdatatype.CNAME for rd in rrset]
    notes = [f"via CNAME {' -> '.join(chain)}"] if chain else []
    notes += [
        f"EDE {e.code.name if hasattr(e.code, 'name') else e.code}" + (f": {e.text}" if e.text else "")
        for e in response.extended_errors()
    ]
    if rcode == dns.rcode.NOERROR:
        outcome = DnsOutcome.ANSWER if found else DnsOutcome.NO_ADDRESS
        if not found:
            notes.insert(0, f"NOERROR with no {qtype} record (NODATA): the name exists")
    else:
        outcome = {
            dns.rcode.NXDOMAIN: DnsOutcome.NXDOMAIN,
            dns.rcode.SERVFAIL: DnsOutcome.SERVFAIL,
            dns.rcode.REFUSED: DnsOutcome.REFUSED,
        }.get(rcode, DnsOutcome.ERROR)
        found = ()
    if transport == "tcp":
        notes.append("over TCP after a truncated UDP answer")
    return DnsLookup(
        resolver=resolver,
        name=name,
        qtype=qtype,
        outcome=outcome,
        addresses=found,
        rcode=dns.rcode.to_text(rcode),
        elapsed_ms=elapsed_ms,
        detail="; ".join(notes),
        transport=transport,
    )
