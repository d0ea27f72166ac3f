"""What a server's ServerHello says about itself, asked directly: compression (CRIME),
secure renegotiation (RFC 5746) and downgrade protection (RFC 7507 fallback SCSV, RFC 8446
§4.1.3 downgrade sentinel). One hello at the best version below TLS 1.3 answers the first
two and the sentinel; one more, below the best version with TLS_FALLBACK_SCSV, the rest.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tlsdoctor.scan.extras import best_legacy
from tlsdoctor.scan.offers import Offer, suites_for
from tlsdoctor.scan.vulns.base import Vulnerability, clean, found, unknown
from tlsdoctor.scan.vulns.link import PART
from tlsdoctor.wire.codepoints import AlertDescription, CompressionMethod, ExtensionType, ProtocolVersion
from tlsdoctor.wire.registry import version_name

if TYPE_CHECKING:
    from tlsdoctor.scan.probe import ProbeResult
    from tlsdoctor.scan.prober import Prober

V = ProtocolVersion
DEFLATE = CompressionMethod(1)  # RFC 3749


def _answer(r: ProbeResult) -> str:
    if r.alert is not None:
        return f"a {r.alert}"
    return r.violation or r.end + (f" ({r.detail})" if r.detail else "")


async def run(prober: Prober, supported: dict[ProtocolVersion, ProbeResult]) -> list[Vulnerability]:
    v = best_legacy(supported)
    if v is None:
        if V.TLS1_3 in supported:
            why = "the server speaks only TLS 1.3"
            return [
                clean("crime-compression", f"{why}, which has no compression (RFC 8446 §4.1.2)"),
                clean("renegotiation-insecure", f"{why}, which has no renegotiation (RFC 8446 §4.1.2)"),
                clean("downgrade-scsv", f"{why}: there is no lower version to fall back to"),
            ]
        why = "no TLS version answered the scan's version probes"
        return [unknown(i, why) for i in ("crime-compression", "renegotiation-insecure", "downgrade-scsv")]
    # The hello offers DEFLATE next to null, and RFC 5746 (extension, or the SCSV for SSL 3.0).
    r = await prober.probe(Offer(version=v, suites=suites_for(v), compression=True), flight=False, part=PART)
    name = version_name(v)
    sh = r.server_hello
    if sh is None:
        why = f"a {name} hello offering DEFLATE got {_answer(r)} instead of a ServerHello"
        out = [unknown("crime-compression", why), unknown("renegotiation-insecure", why)]
    else:
        if sh.compression == DEFLATE:
            crime = found(
                "crime-compression",
                f"the server chose DEFLATE compression (RFC 3749) in its {name} ServerHello",
            )
        elif sh.compression == CompressionMethod.NULL:
            crime = clean("crime-compression", f"offered DEFLATE and null at {name}, the server chose null")
        else:
            crime = unknown("crime-compression", f"the server chose compression method {int(sh.compression)}")
        if sh.extension(ExtensionType.RENEGOTIATION_INFO) is not None:
            reneg = clean(
                "renegotiation-insecure",
                f"the {name} ServerHello carries renegotiation_info (RFC 5746 §3.6)",
            )
        else:
            reneg = found(
                "renegotiation-insecure",
                f"the {name} ServerHello has no renegotiation_info although the hello signalled RFC "
                "5746: the "
                "server only knows insecure legacy renegotiation (CVE-2009-3555)",
            )
        out = [crime, reneg]
    out.append(await _downgrade(prober, supported, r))
    return out


async def _downgrade(
    prober: Prober, supported: dict[ProtocolVersion, ProbeResult], legacy: ProbeResult
) -> Vulnerability:
    """RFC 7507 §3: a hello below the server's best version carrying TLS_FALLBACK_SCSV gets
    inappropriate_fallback; RFC 8446 §4.1.3: a TLS 1.3 server that negotiates lower says so in
    the last 8 bytes of its ServerHello.random."""
    family = sorted((v for v in supported if v >= V.SSL3), reverse=True)
    if len(family) < 2:
        only = version_name(family[0]) if family else "one version"
        return clean(
            "downgrade-scsv", f"the server speaks only {only}: there is no lower version to fall back to"
        )
    best, lower = family[0], family[1]
    r = await prober.probe(
        Offer(version=lower, suites=suites_for(lower), fallback_scsv=True), flight=False, part=PART
    )
    facts: list[str] = []
    bad = False
    if r.alert is not None and r.alert.description == AlertDescription.INAPPROPRIATE_FALLBACK:
        facts.append(
            f"a {version_name(lower)} hello with TLS_FALLBACK_SCSV got inappropriate_fallback (RFC 7507)"
        )
        scsv: bool | None = True
    elif r.server_hello is not None:
        facts.append(
            f"a {version_name(lower)} hello with TLS_FALLBACK_SCSV was accepted although the server speaks "
            f"{version_name(best)}: a downgrade goes unnoticed (RFC 7507 §3)"
        )
        scsv, bad = False, True
    else:
        facts.append(f"a {version_name(lower)} hello with TLS_FALLBACK_SCSV got {_answer(r)}")
        scsv = None
    sentinel_ok: bool | None = None
    sh = legacy.server_hello
    if best == V.TLS1_3 and sh is not None:
        expected = V.TLS1_2 if sh.selected_version >= V.TLS1_2 else V.TLS1_1
        sentinel_ok = sh.downgrade_sentinel == expected
        tail = sh.random[-8:]
        if sentinel_ok:
            facts.append(
                f"its {version_name(sh.selected_version)} ServerHello.random ends in the downgrade "
                f"sentinel {tail!r}"
            )
        else:
            facts.append(
                f"it speaks TLS 1.3 but its {version_name(sh.selected_version)} ServerHello.random ends in "
                f"{tail.hex()}, not the RFC 8446 §4.1.3 downgrade sentinel"
            )
            bad = True
    evidence = "; ".join(facts)
    if bad:
        return found("downgrade-scsv", evidence)
    if scsv and sentinel_ok is not False:
        return clean("downgrade-scsv", evidence)
    return unknown("downgrade-scsv", evidence)
