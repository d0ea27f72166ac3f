"""CCS injection (CVE-2014-0224): OpenSSL before 1.0.1h (0.9.8za, 1.0.0m) accepts a
ChangeCipherSpec before the key exchange and switches to keys derived from an empty master
secret, which a man in the middle can compute.

The probe does what sslyze and the original write-up (Kikuchi) do: after ServerHelloDone it
sends ChangeCipherSpec at once, then a 2-byte application data record. A patched server
rejects the early ChangeCipherSpec (unexpected_message); a vulnerable one has switched keys
and fails to decrypt the next record (bad_record_mac, or decryption_failed before TLS 1.1).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tlsdoctor.scan.extras import best_legacy
from tlsdoctor.scan.offers import suites_for
from tlsdoctor.scan.vulns.base import Vulnerability, clean, found, unknown
from tlsdoctor.scan.vulns.link import Link, client_hello, exchange
from tlsdoctor.wire.codepoints import AlertDescription, ContentType, ProtocolVersion
from tlsdoctor.wire.reader import DecodeError
from tlsdoctor.wire.records import build_records, parse_alert
from tlsdoctor.wire.registry import version_name

if TYPE_CHECKING:
    from tlsdoctor.scan.probe import ProbeResult
    from tlsdoctor.scan.prober import Prober

V = ProtocolVersion
# The alerts of a server that took the early CCS and then failed on the next record's MAC.
DECRYPTED = (AlertDescription.BAD_RECORD_MAC, AlertDescription.DECRYPTION_FAILED)


async def run(prober: Prober, supported: dict[ProtocolVersion, ProbeResult]) -> Vulnerability:
    v = best_legacy(supported)
    if v is None:
        if V.TLS1_3 in supported:
            return clean(
                "ccs-injection",
                "the server speaks only TLS 1.3, whose ChangeCipherSpec changes nothing (RFC 8446 §5)",
            )
        return unknown("ccs-injection", "no TLS version answered the scan's version probes")
    hello, message, _ = client_hello(v, suites_for(v), sni=prober.target.servername)

    async def talk(link: Link) -> Vulnerability:
        flight = await link.flight(hello, message)
        if not flight.done or flight.server_hello is None:
            return unknown("ccs-injection", f"no early ChangeCipherSpec sent: {flight.describe()}")
        version = flight.server_hello.selected_version
        early = build_records(ContentType.CHANGE_CIPHER_SPEC, version, b"\x01")
        early += build_records(ContentType.APPLICATION_DATA, version, b"\x00\x00")
        if not await link.send(early):
            why = f"the early ChangeCipherSpec could not be sent ({link.end})"
            return clean("ccs-injection", why) if link.closed else unknown("ccs-injection", why)
        record = await link.record()
        where = (
            f"after ServerHelloDone at {version_name(version)}, an early ChangeCipherSpec + data record got"
        )
        if record is None:
            if not link.closed:
                return unknown("ccs-injection", f"{where} no answer ({link.end})")
            return clean(
                "ccs-injection", f"{where} the connection {link.end}: the ChangeCipherSpec was refused"
            )
        if record.content_type != ContentType.ALERT:
            return unknown("ccs-injection", f"{where} a {record.content_type.name} record")
        try:
            alert = parse_alert(record.fragment)
        except DecodeError:  # not a plaintext alert: nothing this probe can read, so no finding
            return unknown(
                "ccs-injection", f"{where} an alert record of {len(record.fragment)} bytes it cannot read"
            )
        if alert.description in DECRYPTED:
            return found(
                "ccs-injection",
                f"{where} a {alert}: the server took the ChangeCipherSpec and tried to decrypt the "
                "next record with keys derived before any key exchange",
            )
        return clean("ccs-injection", f"{where} a {alert}: the early ChangeCipherSpec was refused")

    result = await exchange(prober, talk)
    return result if isinstance(result, Vulnerability) else unknown("ccs-injection", result.why)
