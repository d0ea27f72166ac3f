"""POODLE, both forms, as the one ``poodle-ssl3`` entry of the contract:

- SSL 3.0 (CVE-2014-3566): its CBC padding is not covered by the MAC and may hold any bytes,
  so a server that accepts SSL 3.0 with a CBC suite is a padding oracle. Asked with an SSLv3
  hello offering only CBC suites.
- TLS (CVE-2014-8730): TLS fixed the padding bytes (RFC 5246 §6.2.3.2), but some stacks (F5,
  A10 and others in 2014) never checked them. Asked after a real TLS 1.2 handshake with an
  ECDHE AES-CBC suite: an HTTP request whose record's padding bytes are wrong but whose MAC is
  right. A checking server answers bad_record_mac; one that answers the request did not check.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tlsdoctor.scan.offers import Offer, suites_for
from tlsdoctor.scan.vulns import session, tls12
from tlsdoctor.scan.vulns.base import Vulnerability, clean, found, unknown
from tlsdoctor.scan.vulns.hello_answers import _answer
from tlsdoctor.scan.vulns.link import PART, Link, Unreached, exchange
from tlsdoctor.wire.codepoints import AlertDescription, ContentType, ProtocolVersion
from tlsdoctor.wire.http import build_request
from tlsdoctor.wire.reader import DecodeError
from tlsdoctor.wire.records import parse_alert
from tlsdoctor.wire.registry import SUITES, suite_name

if TYPE_CHECKING:
    from tlsdoctor.scan.probe import ProbeResult
    from tlsdoctor.scan.prober import Prober

V = ProtocolVersion
VID = "poodle-ssl3"
MAX_RECORDS = 8


async def run(prober: Prober, supported: dict[ProtocolVersion, ProbeResult]) -> Vulnerability:
    ssl3 = await _ssl3(prober, supported)
    tls, tls_text = await _tls(prober, supported)
    if ssl3.vulnerable:
        return found(VID, f"{ssl3.evidence}; TLS: {tls_text}")
    if tls:
        return found(VID, f"TLS POODLE (CVE-2014-8730): {tls_text}; SSL 3.0: {ssl3.evidence}")
    evidence = f"{ssl3.evidence}; TLS POODLE: {tls_text}"
    return clean(VID, evidence) if ssl3.vulnerable is False else unknown(VID, evidence)


async def _ssl3(prober: Prober, supported: dict[ProtocolVersion, ProbeResult]) -> Vulnerability:
    if V.SSL3 not in supported:
        return clean(VID, "the server refused the scan's SSLv3 hello: SSL 3.0 is off")
    cbc = tuple(c for c in suites_for(V.SSL3) if "CBC" in SUITES[c].cipher)
    r = await prober.probe(Offer(version=V.SSL3, suites=cbc), flight=False, part=PART)
    sh = r.server_hello
    if sh is not None and sh.selected_version == V.SSL3 and int(sh.cipher_suite) in cbc:
        chosen = suite_name(int(sh.cipher_suite))
        return found(VID, f"an SSLv3 hello offering only CBC suites got a ServerHello choosing {chosen}")
    if sh is None and r.alert is None and r.end not in ("closed", "reset"):
        return unknown(VID, f"an SSLv3 hello offering only CBC suites got {_answer(r)}")
    return clean(VID, f"SSL 3.0 is on, but an SSLv3 hello offering only CBC suites got {_answer(r)}")


async def _tls(prober: Prober, supported: dict[ProtocolVersion, ProbeResult]) -> tuple[bool | None, str]:
    """(vulnerable, what the server did) for the TLS 1.2 padding check."""
    if V.TLS1_2 not in supported:
        return None, "not checked (the check runs over TLS 1.2, which the server does not speak)"
    sni = prober.target.servername
    host = sni or prober.target.address

    async def talk(link: Link) -> tuple[bool | None, str]:
        est = await session.handshake(link, sni, ticket=False, suites=tls12.CBC_SUITES)
        if isinstance(est, session.Refused):
            return False, f"no ECDHE AES-CBC suite at TLS 1.2 ({est}): no CBC padding to check"
        if isinstance(est, str):
            return None, f"no TLS 1.2 CBC session: {est}"
        request = build_request("GET", "/", host)
        sent = est.client.seal(ContentType.APPLICATION_DATA, request, bad_padding=True)
        if not await link.send(sent):
            return (False if link.closed else None), f"the padding check could not be sent ({link.end})"
        what = (
            f"with {suite_name(est.suite)}, an HTTP request in a record whose CBC padding bytes are wrong got"
        )
        for _ in range(MAX_RECORDS):
            record = await link.record()
            if record is None:
                if not link.closed:
                    return None, f"{what} no answer ({link.end}; not an HTTP server?)"
                return False, f"{what} the connection {link.end}"
            if record.content_type not in (ContentType.ALERT, ContentType.APPLICATION_DATA):
                continue
            try:
                plain = est.server.open(record.content_type, record.fragment)
            except DecodeError as exc:
                return None, f"{what} a record that does not decrypt: {exc.message}"
            if record.content_type == ContentType.ALERT:
                try:
                    alert = parse_alert(plain)
                except DecodeError:
                    return None, f"{what} an alert that does not parse"
                if alert.description == AlertDescription.CLOSE_NOTIFY:  # ended, did not judge it
                    return None, f"{what} a {alert}, not an answer either way"
                return False, f"{what} a {alert}"
            return True, f"{what} an answer of {len(plain)} bytes: the server does not check the padding"
        return None, f"{what} records, but neither an alert nor an answer"

    result = await exchange(prober, talk)
    return (None, result.why) if isinstance(result, Unreached) else result
