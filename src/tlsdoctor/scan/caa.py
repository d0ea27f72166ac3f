"""The CAA record that governs a certificate's name (RFC 8659), for the scan's certificate report.

The relevant record set is the first one found climbing from the name to its parents (§3); the
top-level domain and the root are not asked, and the climb is bounded in steps and in time. It
runs in a thread beside the probes (dnspython's synchronous query: importing and running it
there keeps the probes' event loop free), asking the resolvers the scan uses.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

CAA_MAX_LABELS = 6
NOT_PUBLIC = "not a public DNS name"


def not_asked(name: str, why: str = NOT_PUBLIC) -> dict[str, Any]:
    """The answer for a name no CAA lookup is made for (a single label: localhost, an intranet host)."""
    return {"name": name, "records": [], "found_at": None, "asked": [], "error": why}


def worth_asking(name: str) -> bool:
    """A name with a parent below the root: there is a CAA record set to climb to."""
    return "." in name.strip(".")


def caa_lookup(name: str, nameservers: Sequence[str], timeout: float) -> dict[str, Any]:
    """The CAA records that govern ``name``, asked of the first of ``nameservers`` (``ip`` or
    ``ip:port``) over UDP, then TCP when truncated, within ``timeout`` in all. Blocking."""
    import dns.exception
    import dns.message
    import dns.name
    import dns.query
    import dns.rcode
    import dns.rdatatype

    from tlsdoctor.net.resolvconf import parse_server

    def result(
        records: list[dict[str, Any]], found_at: str | None, asked: list[str], error: str | None
    ) -> dict[str, Any]:
        return {"name": name, "records": records, "found_at": found_at, "asked": asked, "error": error}

    if not nameservers:
        return result([], None, [], "no nameserver to ask")
    host, port = parse_server(nameservers[0])
    deadline = time.monotonic() + timeout
    try:
        labels = dns.name.from_text(name).labels
    except dns.exception.DNSException as exc:
        return result([], None, [], f"not a DNS name: {exc}")
    asked: list[str] = []
    for i in range(min(len(labels) - 2, CAA_MAX_LABELS)):  # stop above the TLD (and the root)
        qname = dns.name.Name(labels[i:])
        left = deadline - time.monotonic()
        if left <= 0:
            return result([], None, asked, "timed out")
        query = dns.message.make_query(qname, dns.rdatatype.CAA, use_edns=0, payload=1232)
        asked.append(qname.to_text())
        try:
            answer, _ = dns.query.udp_with_fallback(query, host, timeout=left, port=port)
        except (dns.exception.DNSException, OSError) as exc:
            return result([], None, asked, f"{type(exc).__name__}: {exc}")
        if answer.rcode() not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
            return result([], None, asked, dns.rcode.to_text(answer.rcode()))
        records = [
            {
                "flags": rd.flags,
                "tag": rd.tag.decode("ascii", "replace"),
                "value": rd.value.decode("utf-8", "replace"),
            }
            for rrset in answer.answer
            if rrset.rdtype == dns.rdatatype.CAA
            for rd in rrset
        ]
        if records:
            return result(records, qname.to_text(), asked, None)
    return result([], None, asked, None) if asked else not_asked(name)
