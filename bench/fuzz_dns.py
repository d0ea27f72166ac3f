"""Atheris fuzz target for DNS answers as tlsdoctor reads them: a datagram from a nameserver goes
through dnspython's ``dns.message.from_wire`` (as ``dns.asyncquery.udp`` does) and then through
``net.dns.from_response``, which turns it into the DnsLookup observation.

Invariant: ``from_wire`` raises only ``dns.exception.DNSException`` (the check reports that as an
unusable response), and ``from_response`` never raises; the observation describes itself and
serialises. Seeds: answers made with dnspython (A, AAAA, a CNAME chain, NODATA, NXDOMAIN, SERVFAIL,
an Extended DNS Error with text, a truncated answer).
Run: ``nice -n 19 .venv/bin/python bench/fuzz_dns.py -max_total_time=600 /tmp/fz/dns``.
"""

from __future__ import annotations

import json

from fuzz_harness import atheris, main

# dnspython's parser is instrumented too: its branches are what guide the fuzzer to odd messages.
with atheris.instrument_imports(include=["tlsdoctor", "dns"]):
    import dns.edns
    import dns.exception
    import dns.flags
    import dns.message
    import dns.rcode
    import dns.rdatatype
    import dns.rrset

    from tlsdoctor.net.dns import from_response

QTYPES = ("A", "AAAA")


def test_one_input(raw: bytes) -> None:
    if not raw:
        return
    qtype = QTYPES[raw[0] & 1]
    transport = "tcp" if raw[0] & 2 else "udp"
    try:
        response = dns.message.from_wire(raw[1:], ignore_trailing=bool(raw[0] & 4))
    except dns.exception.DNSException:
        return
    lookup = from_response("192.0.2.53", "fuzz.example", qtype, response, transport, 1.0)
    lookup.describe()
    json.dumps(lookup.to_data())


def _answer(qtype: str, rcode: int = dns.rcode.NOERROR, **kw: object) -> dns.message.Message:
    query = dns.message.make_query("fuzz.example", qtype, use_edns=0, payload=1232)
    response = dns.message.make_response(query)
    response.set_rcode(rcode)
    for rr in kw.get("rrsets", ()):  # type: ignore[attr-defined]
        response.answer.append(rr)
    if kw.get("ede"):
        response.use_edns(0, options=[dns.edns.EDEOption(dns.edns.EDECode.BLOCKED, "blocked \x1b[2J")])
    if kw.get("tc"):
        response.flags |= dns.flags.TC
    return response


def seeds() -> list[bytes]:
    a = dns.rrset.from_text("fuzz.example.", 60, "IN", "A", "192.0.2.1", "192.0.2.2")
    aaaa = dns.rrset.from_text("fuzz.example.", 60, "IN", "AAAA", "2001:db8::1")
    cname = dns.rrset.from_text("fuzz.example.", 60, "IN", "CNAME", "cdn.example.")
    target = dns.rrset.from_text("cdn.example.", 60, "IN", "A", "198.18.0.7")
    messages = [
        _answer("A", rrsets=[a]),
        _answer("AAAA", rrsets=[aaaa]),
        _answer("A", rrsets=[cname, target]),
        _answer("A"),
        _answer("A", dns.rcode.NXDOMAIN),
        _answer("AAAA", dns.rcode.SERVFAIL, ede=True),
        _answer("A", tc=True),
    ]
    out = []
    for i, message in enumerate(messages):
        qtype_bit = 1 if message.question[0].rdtype == dns.rdatatype.AAAA else 0
        out.append(bytes([qtype_bit | (i & 2)]) + message.to_wire())
    return out


if __name__ == "__main__":
    main(test_one_input, seeds)
