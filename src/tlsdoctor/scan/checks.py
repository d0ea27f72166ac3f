"""Answers no client can use: what a server said that breaks the RFCs, judged per probe.

A scan offers and watches; a server that picks a suite nobody offered, loops on
HelloRetryRequest, sends junk where its certificate goes or an alert no RFC defines is broken
for every client, and the scan must say so rather than count the answer as support. Pure
functions of the offer and the answer; the Prober (scanner.py) calls :func:`violation` on
every probe.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tlsdoctor.scan.offers import DEFAULT_SHARES, TLS13_GROUPS
from tlsdoctor.wire.codepoints import ProtocolVersion
from tlsdoctor.wire.handshake import huge_server_hello
from tlsdoctor.wire.registry import suite_name, version_name

if TYPE_CHECKING:
    from tlsdoctor.scan.offers import Offer
    from tlsdoctor.scan.probe import ProbeResult
    from tlsdoctor.wire.handshake import ServerHello

V = ProtocolVersion


def violation(offer: Offer, result: ProbeResult) -> tuple[str, str] | None:
    """(id, what the server did) for the first rule ``result`` breaks, or None. The ids are the
    keys of scan/judge.py's table."""
    name = version_name(offer.version)
    if result.hrr_again:
        return "hrr-loop", (
            f"answered the second {name} ClientHello with another HelloRetryRequest "
            "(RFC 8446 §4.1.4: a client must abort; no handshake can complete)"
        )
    if result.retried is not None and result.server_hello is None and result.end in ("closed", "reset"):
        return "hrr-abandoned", (
            f"asked for a second {name} ClientHello (HelloRetryRequest), then {result.end} the "
            "connection when it came instead of sending a ServerHello (RFC 8446 §4.1.4)"
        )
    if result.alert is not None and not result.alert.description.known:
        code = int(result.alert.description)
        return "unknown-alert", f"answered the {name} ClientHello with alert {code}, which no RFC defines"
    if result.server_hello is None and (claimed := huge_server_hello(result.head)):
        return "huge-server-hello", (
            f"answered the {name} ClientHello with a ServerHello header claiming {claimed} bytes (its "
            f"fields allow about 64 KiB, RFC 8446 §4.1.3), and had sent {result.bytes_received} bytes: "
            "a client that trusts the length waits or buffers without end"
        )
    chosen = result.server_hello or result.hrr
    if chosen is None or offer.version == V.SSL2:
        return None
    if found := hello_violation(offer, chosen):
        return found
    if result.hrr is not None and (why := _bad_hrr_group(offer, result.hrr.key_share_group)):
        return "hrr-bad-group", f"sent a HelloRetryRequest {why} (RFC 8446 §4.1.4)"
    if result.certificates and (why := certificate_shape(result.certificates[0])):
        leaf = result.certificates[0]
        return "junk-certificate", (
            f"sent a {name} Certificate message whose first entry is not an X.509 certificate ({why}; "
            f"{len(leaf)} bytes starting {leaf[:8].hex(' ')})"
        )
    return None


def hello_violation(offer: Offer, hello: ServerHello) -> tuple[str, str] | None:
    """What is wrong with a ServerHello (or HRR) itself, given the offer: a suite or a version the
    client never offered. Checked as it arrives, so the probe stops reading there."""
    name = version_name(offer.version)
    if int(hello.cipher_suite) not in offer.suites:
        return "unoffered-suite", (
            f"chose cipher suite {suite_name(int(hello.cipher_suite))} in answer to the {name} ClientHello "
            "that did not offer it (RFC 8446 §4.1.3, RFC 5246 §7.4.1.3: clients abort)"
        )
    top = V.TLS1_3 if offer.version >= V.TLS1_3 else offer.version
    if hello.selected_version > top:
        return "unoffered-version", (
            f"chose version {hello.selected_version} in answer to a ClientHello offering at most {name} "
            "(RFC 8446 §4.2.1, RFC 5246 §7.4.1.3)"
        )
    return None


def _bad_hrr_group(offer: Offer, group: int | None) -> str:
    if group is None:
        return ""
    groups = offer.groups or TLS13_GROUPS
    shares = DEFAULT_SHARES if offer.shares is None else offer.shares
    if int(group) not in groups:
        return f"for group 0x{int(group):04X}, which the client did not offer"
    if int(group) in shares:
        return f"for group 0x{int(group):04X}, whose key share the client had already sent"
    return ""


def _tlv(der: bytes, at: int) -> tuple[int, int, int] | None:
    """(tag, start of the value, end of the value) of the DER element at ``at``, or None."""
    if at + 2 > len(der):
        return None
    tag, first = der[at], der[at + 1]
    if first < 0x80:
        start, length = at + 2, first
    else:
        n = first & 0x7F
        if not 1 <= n <= 4 or at + 2 + n > len(der):
            return None
        start, length = at + 2 + n, int.from_bytes(der[at + 2 : at + 2 + n], "big")
    end = start + length
    return (tag, start, end) if end <= len(der) else None


def certificate_shape(der: bytes) -> str:
    """Why ``der`` cannot be an X.509 certificate (RFC 5280 §4.1: a SEQUENCE of tbsCertificate
    SEQUENCE, signatureAlgorithm SEQUENCE, signatureValue BIT STRING, with every length
    consistent), or "" when its outline is right. Outline only: whether it then parses is the
    certificate analysis' business; this catches what is not a certificate at all, cheaply."""
    outer = _tlv(der, 0)
    if outer is None or outer[0] != 0x30 or outer[2] != len(der):
        return "not a DER SEQUENCE of its own length"
    at, tags = outer[1], list[int]()
    while at < outer[2] and len(tags) < 4:
        element = _tlv(der, at)
        if element is None:
            return "a length runs past the end"
        tags.append(element[0])
        at = element[2]
    if tags != [0x30, 0x30, 0x03] or at != outer[2]:
        return "not tbsCertificate, signatureAlgorithm, signatureValue"
    return ""
