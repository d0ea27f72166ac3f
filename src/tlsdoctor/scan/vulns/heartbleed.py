"""Heartbleed (CVE-2014-0160): OpenSSL 1.0.1-1.0.1f answers a heartbeat request (RFC 6520)
with as many bytes as the request *claims* to carry, read from past the end of it.

The probe sends a request that claims 1 KiB and carries 16 bytes (a well-behaved server
discards it silently, RFC 6520 §4), then a close_notify, so a patched server ends the
connection at once instead of leaving the probe to its timeout. A heartbeat response longer
than the request is the leak itself; nothing is inferred from versions or banners.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tlsdoctor.scan.extras import best_legacy
from tlsdoctor.scan.offers import suites_for
from tlsdoctor.scan.vulns.base import Vulnerability, clean, found, unknown
from tlsdoctor.scan.vulns.link import Link, alert_of, client_hello, exchange
from tlsdoctor.wire.codepoints import ContentType, ExtensionType, ProtocolVersion
from tlsdoctor.wire.extensions import RawExtension
from tlsdoctor.wire.records import build_alert, build_records
from tlsdoctor.wire.registry import version_name

if TYPE_CHECKING:
    from tlsdoctor.scan.probe import ProbeResult
    from tlsdoctor.scan.prober import Prober

V = ProtocolVersion
CLAIMED = 1024  # payload_length the request claims
PAYLOAD = b"tlsdoctor-hb-req"  # the 16 bytes it carries
PADDING = bytes(16)  # RFC 6520 §4: at least 16 bytes
REQUEST = b"\x01" + CLAIMED.to_bytes(2, "big") + PAYLOAD + PADDING  # heartbeat_request (1)
MAX_READ = 16  # records read after the request


async def run(prober: Prober, supported: dict[ProtocolVersion, ProbeResult]) -> Vulnerability:
    v = best_legacy(supported)
    if v is None or v < V.TLS1_0:
        if V.TLS1_3 in supported:
            return clean(
                "heartbleed", "the server speaks only TLS 1.3: no OpenSSL with Heartbleed (1.0.1-1.0.1f) does"
            )
        return unknown(
            "heartbleed", "no TLS 1.0-1.2 to send a heartbeat over (heartbeats need hello extensions)"
        )
    hello, message, _ = client_hello(
        v, suites_for(v), sni=prober.target.servername,
        extra=(RawExtension(ExtensionType.HEARTBEAT, b"\x01"),),  # peer_allowed_to_send (RFC 6520 §2)
    )  # fmt: skip

    async def talk(link: Link) -> Vulnerability:
        flight = await link.flight(hello, message)
        if not flight.done or flight.server_hello is None:
            return unknown("heartbleed", f"no heartbeat sent: {flight.describe()}")
        acked = flight.server_hello.extension(ExtensionType.HEARTBEAT) is not None
        negotiated = "acknowledged" if acked else "did not acknowledge"
        version = flight.server_hello.selected_version
        sent = build_records(ContentType.HEARTBEAT, version, REQUEST)
        if not await link.send(sent + build_alert(0, 1, version)):  # warning close_notify
            why = (
                f"the server {negotiated} the heartbeat extension; the request could not be sent ({link.end})"
            )
            return clean("heartbleed", why) if link.closed else unknown("heartbleed", why)
        for _ in range(MAX_READ):
            record = await link.record()
            if record is None:
                end = link.end
                if not link.closed:
                    return unknown(
                        "heartbleed", f"no answer to the heartbeat request and close_notify ({end})"
                    )
                return clean(
                    "heartbleed",
                    f"the server {negotiated} the heartbeat extension; to a request claiming "
                    f"{CLAIMED} bytes and carrying {len(PAYLOAD)} it sent no heartbeat response "
                    f"(connection {end})",
                )
            if record.content_type == ContentType.HEARTBEAT:
                body = record.fragment
                if len(body) > len(REQUEST):
                    return found(
                        "heartbleed",
                        f"to a {version_name(version)} heartbeat request of {len(REQUEST)} bytes "
                        f"claiming {CLAIMED}, the server answered with a heartbeat of {len(body)} bytes: "
                        f"{len(body) - len(REQUEST)} bytes of its memory",
                    )
                return clean(
                    "heartbleed", f"the heartbeat response is {len(body)} bytes, no longer than the request"
                )
            if record.content_type == ContentType.ALERT:
                return clean(
                    "heartbleed",
                    f"the server {negotiated} the heartbeat extension and answered the over-long "
                    f"request with a {alert_of(record)}, not a heartbeat",
                )
        return unknown("heartbleed", "the server kept sending records after the heartbeat request")

    result = await exchange(prober, talk)
    return result if isinstance(result, Vulnerability) else unknown("heartbleed", result.why)
