"""``dns.server.<ip>``: one nameserver asked directly with dnspython, every rcode told apart.

Split from checks/dns.py so that dnspython is imported only when a server is asked.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time

import dns.asyncquery
import dns.exception
import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype

from tlsdoctor.checks.dns import RETRANSMIT_AT, SERVER_PREFIX, _notes, _unique, _verdict
from tlsdoctor.context import Context
from tlsdoctor.model import CheckResult
from tlsdoctor.observations.dns import DnsLookup, DnsOutcome


class ServerCheck:
    """``dns.server.<ip>``: A and AAAA asked of one nameserver, every rcode told apart."""

    layer = "dns"

    def __init__(self, host: str, port: int = 53, *, named: bool = False) -> None:
        self.host, self.port = host, port
        self.named = named  # --resolver: it replaces the system's resolver (DnsLookup.named)
        bracketed = f"[{host}]" if ":" in host else host
        self.label = host if port == 53 else f"{bracketed}:{port}"
        self.id = SERVER_PREFIX + self.label

    def budget(self, ctx: Context) -> float:
        return 2 * ctx.timeout + 1.0  # UDP, then TCP after truncation (RFC 7766 section 5)

    async def run(self, ctx: Context) -> CheckResult:
        asked = (self._lookup(ctx.options.host, qtype, ctx.timeout) for qtype in ("A", "AAAA"))
        lookups = [
            dataclasses.replace(lk, named=self.named) for lk in await asyncio.gather(*asked)
        ]  # concurrently: a dead server costs one timeout
        notes = _notes(lookups, self.label)
        status, summary = _verdict(f"resolver {self.label}", lookups, notes)
        return CheckResult(id=self.id, status=status, summary=summary, observations=(*lookups, *notes))

    async def _udp(self, query: dns.message.Message, timeout: float) -> dns.message.Message:
        """One UDP exchange, resent once at RETRANSMIT_AT; both stay open, the first answer wins."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout

        async def attempt(delay: float) -> dns.message.Message:
            await asyncio.sleep(delay)
            return await dns.asyncquery.udp(
                query,
                self.host,
                timeout=max(0.01, deadline - loop.time()),
                port=self.port,
                ignore_unexpected=True,
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

    async def _lookup(self, name: str, qtype: str, timeout: float) -> DnsLookup:
        query = dns.message.make_query(name, qtype, use_edns=0, payload=1232)  # RFC 6891, DNS flag day 2020
        start, transport = time.monotonic(), "udp"

        def failed(outcome: DnsOutcome, detail: str) -> DnsLookup:
            return DnsLookup(
                resolver=self.label,
                name=name,
                qtype=qtype,
                outcome=outcome,
                detail=detail,
                transport=transport,
                elapsed_ms=(time.monotonic() - start) * 1000,
            )

        try:
            response = await self._udp(query, timeout)
            if response.flags & dns.flags.TC:
                transport = "tcp"
                response = await dns.asyncquery.tcp(query, self.host, timeout=timeout, port=self.port)
        except (dns.exception.Timeout, TimeoutError):
            return failed(DnsOutcome.TIMEOUT, f"no answer within {timeout:.1f} s over {transport}")
        except ConnectionRefusedError:
            return failed(DnsOutcome.ERROR, f"nothing listens on port {self.port} ({transport}: refused)")
        except OSError as exc:
            return failed(DnsOutcome.ERROR, f"{transport}: {exc.strerror or exc}")
        except dns.exception.DNSException as exc:
            return failed(DnsOutcome.ERROR, f"unusable response over {transport}: {exc}")
        elapsed = (time.monotonic() - start) * 1000
        return _from_response(self.label, name, qtype, response, transport, elapsed)


def _from_response(
    resolver: str, name: str, qtype: str, response: dns.message.Message, transport: str, elapsed_ms: float
) -> DnsLookup:
    """Map a response to an outcome (RFC 1035 4.1.1 rcodes; RFC 2308 NODATA; RFC 8914 EDE)."""
    rcode = response.rcode()
    wanted = dns.rdatatype.from_text(qtype)
    found = _unique([rd.to_text() for rrset in response.answer if rrset.rdtype == wanted for rd in rrset])
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
