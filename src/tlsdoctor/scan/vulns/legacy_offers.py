"""Weak offers put to the server one at a time, each a hello that only the weakness can
answer: export RSA suites (FREAK), an SSLv2 CLIENT-HELLO
(DROWN), and DHE suites whose ServerKeyExchange shows the group (Logjam: export DH, or a
prime of 1024 bits or less that ships in software and so is worth precomputing against).
"""

from __future__ import annotations

import asyncio
import functools
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING

from tlsdoctor.scan.extras import LEGACY, best_legacy
from tlsdoctor.scan.offers import Offer, suites_for
from tlsdoctor.scan.vulns.base import Vulnerability, clean, found, unknown
from tlsdoctor.scan.vulns.hello_answers import _answer
from tlsdoctor.scan.vulns.link import PART
from tlsdoctor.wire.codepoints import ProtocolVersion
from tlsdoctor.wire.reader import DecodeError, Reader
from tlsdoctor.wire.registry import SUITES, SuiteFlag, ssl2_kind_name, suite_name, version_name

if TYPE_CHECKING:
    from tlsdoctor.scan.probe import ProbeResult
    from tlsdoctor.scan.prober import Prober

V = ProtocolVersion
WEAK_DH_BITS = 1024  # weakdh.org: 1024-bit groups are within reach of a precomputation


def _codes(
    *, kx: str, export: bool | None = None, cbc: bool | None = None, version: int = V.SSL3
) -> tuple[int, ...]:
    out = []
    for s in SUITES.values():
        if s.kx != kx or SuiteFlag.SCSV in s.flags or s.auth == "PSK" or not s.min_version <= version:
            continue
        if export is not None and (SuiteFlag.EXPORT in s.flags) != export:
            continue
        if cbc is not None and ("CBC" in s.cipher) != cbc:
            continue
        out.append(s.code)
    return tuple(out)


async def run(prober: Prober, supported: dict[ProtocolVersion, ProbeResult]) -> list[Vulnerability]:
    return list(await asyncio.gather(_freak(prober, supported), _drown(prober), _logjam(prober, supported)))


async def _freak(prober: Prober, supported: dict[ProtocolVersion, ProbeResult]) -> Vulnerability:
    """CVE-2015-0204: a server that accepts RSA_EXPORT signs a 512-bit key a client may be
    tricked into using. Asked at the lowest version the server has (export ends at TLS 1.0)."""
    legacy = [v for v in LEGACY if v in supported]
    if not legacy:
        return _no_legacy("freak", supported, "which has no export suites")
    v = min(legacy)
    export = _codes(kx="RSA", export=True)
    r = await prober.probe(Offer(version=v, suites=export), part=PART)
    sh = r.server_hello
    if sh is not None and int(sh.cipher_suite) in export:
        bits = r.key_exchange.dh_prime_bits if r.key_exchange is not None else None
        key = f", with a {bits}-bit temporary RSA key in ServerKeyExchange" if bits else ""
        return found(
            "freak",
            f"a {version_name(v)} hello offering only RSA_EXPORT suites got "
            f"{suite_name(int(sh.cipher_suite))}{key}",
        )
    if sh is None and r.alert is None and r.end == "timeout":
        return unknown(
            "freak", f"a {version_name(v)} hello offering only RSA_EXPORT suites got no answer ({r.end})"
        )
    return clean("freak", f"a {version_name(v)} hello offering only RSA_EXPORT suites got {_answer(r)}")


async def _drown(prober: Prober) -> Vulnerability:
    """CVE-2016-0800: SSLv2 on any host with the same RSA key decrypts this one's TLS sessions;
    asked with a real SSLv2 CLIENT-HELLO (every SSLv2 cipher kind)."""
    r = await prober.probe(Offer(version=V.SSL2, suites=()), part=PART)
    hello = r.sslv2.server_hello if r.sslv2 is not None else None
    note = (
        " (only this endpoint was asked: another host serving this certificate's RSA key with SSLv2 on, "
        "such as a mail server, exposes it too)"
    )
    if hello is not None:
        kinds = (
            ", ".join(ssl2_kind_name(k) for k in hello.cipher_specs)
            or "no cipher kinds (CVE-2015-3197: still usable)"
        )
        return found(
            "drown", f"the server answered an SSLv2 CLIENT-HELLO with a SERVER-HELLO offering {kinds}"
        )
    if r.end in ("connect", "deadline", "silent"):
        return unknown("drown", f"the SSLv2 CLIENT-HELLO was not answered: {_answer(r)}")
    return clean("drown", f"an SSLv2 CLIENT-HELLO got {_answer(r)}, not an SSLv2 SERVER-HELLO{note}")


async def _logjam(prober: Prober, supported: dict[ProtocolVersion, ProbeResult]) -> Vulnerability:
    """CVE-2015-4000: DHE_EXPORT (512-bit groups), or a small DH group many servers share."""
    legacy = [v for v in LEGACY if v in supported]
    if not legacy:
        return _no_legacy("logjam", supported, "whose groups are named (RFC 8446 §4.2.7)")
    low = min(legacy)
    best = best_legacy(supported)
    assert best is not None
    export = _codes(kx="DHE", export=True)
    dhe = tuple(c for c in suites_for(best) if SUITES[c].kx == "DHE" and SUITES[c].auth != "PSK")
    r_export, r_dhe = await asyncio.gather(
        prober.probe(Offer(version=low, suites=export), part=PART),
        prober.probe(Offer(version=best, suites=dhe), part=PART),
    )
    sh = r_export.server_hello
    if sh is not None and int(sh.cipher_suite) in export:
        exported = _prime(r_export)
        size = f" with a {exported[0]}-bit prime" if exported else ""
        chosen = suite_name(int(sh.cipher_suite))
        asked = f"a {version_name(low)} hello offering only DHE_EXPORT suites"
        return found("logjam", f"{asked} got {chosen}{size}")
    sh = r_dhe.server_hello
    if sh is None or int(sh.cipher_suite) not in dhe:
        return clean("logjam", f"no DHE_EXPORT ({_answer(r_export)}) and no DHE suite ({_answer(r_dhe)})")
    prime = _prime(r_dhe)
    if prime is None:
        chosen = suite_name(int(sh.cipher_suite))
        why = f"{chosen} chosen, but its ServerKeyExchange was not read ({_answer(r_dhe)})"
        return unknown("logjam", why)
    bits, value = prime
    name = common_primes().get(value)
    which = f"the common prime '{name}'" if name else "a prime not in the list of common ones"
    text = f"no DHE_EXPORT; {suite_name(int(sh.cipher_suite))} uses a {bits}-bit group, {which}"
    if bits < WEAK_DH_BITS or (bits <= WEAK_DH_BITS and name):
        return found("logjam", text)
    if bits <= WEAK_DH_BITS:  # 1024-bit, its own: costly to break, still below every guideline
        return clean("logjam", text + " (weak: use 2048 bits or more, e.g. RFC 7919 ffdhe2048)")
    return clean("logjam", text)


def _no_legacy(vid: str, supported: dict[ProtocolVersion, ProbeResult], tls13: str) -> Vulnerability:
    """No SSL 3.0 - TLS 1.2: clean when the server has TLS 1.3 instead, undecided otherwise."""
    if V.TLS1_3 in supported:
        return clean(vid, f"the server speaks only TLS 1.3, {tls13}")
    return unknown(vid, "the server answered no SSL 3.0 - TLS 1.2 hello: nothing to ask")


def _prime(r: ProbeResult) -> tuple[int, int] | None:
    """(bits, value) of dh_p in a DHE ServerKeyExchange (RFC 5246 §7.4.3)."""
    if r.key_exchange is None or r.key_exchange.kind != "dhe":
        return None
    try:
        p = int.from_bytes(Reader(r.key_exchange.raw).vector(2, "ServerKeyExchange.dh_p", min_len=1), "big")
    except DecodeError:
        return None
    return p.bit_length(), p


@functools.cache
def common_primes() -> dict[int, str]:
    """prime -> the software or RFC it ships in (common_primes.toml)."""
    text = Path(__file__).with_name("common_primes.toml").read_text(encoding="utf-8")
    return {int(p["hex"], 16): str(p["name"]) for p in tomllib.loads(text)["prime"]}
