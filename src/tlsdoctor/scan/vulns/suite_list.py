"""Weaknesses of the ciphers themselves, read off the suites the scan found the server to
accept (every suite of every version, enumerated on the wire): SWEET32 (64-bit blocks), RC4
(RFC 7465), BEAST (CBC at SSL 3.0 / TLS 1.0) and Lucky13 (CBC with MAC-then-encrypt). No
extra probe can tell more: the scan's accepted list is that probe, and the evidence says so.

Lucky13 is a timing channel of the implementation, not of the protocol: a server that accepts
CBC suites is exposed only if its code is not constant-time, which one connection cannot
measure (OpenSSL fixed it in 1.0.1d). So CBC suites make it undecided, not vulnerable.
"""

from __future__ import annotations

from collections.abc import Callable

from tlsdoctor.scan.result import ScanData
from tlsdoctor.scan.vulns.base import Vulnerability, clean, found, unknown
from tlsdoctor.wire.registry import SUITES, CipherSuiteInfo, SuiteFlag, suite_name

SHOWN = 4  # suites named in the evidence, then "and N more"
BLOCK64 = ("3DES", "DES", "IDEA", "RC2")  # 64-bit block ciphers (Sweet32, CVE-2016-2183)


def _sweet32(s: CipherSuiteInfo) -> bool:
    return s.cipher.startswith(BLOCK64)


def _rc4(s: CipherSuiteInfo) -> bool:
    return SuiteFlag.RC4 in s.flags


def _cbc(s: CipherSuiteInfo) -> bool:
    return "CBC" in s.cipher


def _matches(data: ScanData, test: Callable[[CipherSuiteInfo], bool], versions: tuple[str, ...] | None = None
             ) -> tuple[dict[str, list[int]], list[str]]:  # fmt: skip
    """Accepted suites passing ``test`` per version, and the versions whose list is incomplete."""
    hits: dict[str, list[int]] = {}
    partial: list[str] = []
    for p in data.supported():
        if p.version == "SSLv2" or (versions is not None and p.version not in versions):
            continue
        codes = [c for c in p.suites if (info := SUITES.get(c)) is not None and test(info)]
        if codes:
            hits[p.version] = codes
        if f"{p.version} suites" in data.untested:
            partial.append(p.version)
    return hits, partial


def _listed(hits: dict[str, list[int]]) -> str:
    parts = []
    for version, codes in hits.items():
        names = ", ".join(suite_name(c) for c in codes[:SHOWN])
        more = f" and {len(codes) - SHOWN} more" if len(codes) > SHOWN else ""
        parts.append(f"{version}: {names}{more}")
    return "; ".join(parts)


SOURCE = "from the scan's accepted suites"


def run(data: ScanData) -> list[Vulnerability]:
    if not data.supported():
        why = "no protocol version answered the scan: no suite list to judge"
        return [unknown(i, why) for i in ("sweet32", "beast", "lucky13", "rc4")]
    return [_judge(data, "sweet32", _sweet32, "64-bit block cipher suites"),
            _beast(data),
            _lucky13(data),
            _judge(data, "rc4", _rc4, "RC4 suites (RFC 7465 forbids them)")]  # fmt: skip


def _judge(data: ScanData, vid: str, test: Callable[[CipherSuiteInfo], bool], what: str) -> Vulnerability:
    hits, partial = _matches(data, test)
    if hits:
        return found(vid, f"{what} accepted ({SOURCE}): {_listed(hits)}")
    if partial:
        return unknown(
            vid,
            f"no {what} among the accepted ones, but the suite list of {', '.join(partial)} is incomplete",
        )
    return clean(vid, f"no {what} accepted ({SOURCE})")


def _beast(data: ScanData) -> Vulnerability:
    """CVE-2011-3389: predictable CBC IVs exist only up to TLS 1.0 (TLS 1.1 made them explicit)."""
    hits, partial = _matches(data, _cbc, ("SSLv3", "TLSv1.0"))
    if hits:
        newer = [p.version for p in data.supported() if p.version in ("TLSv1.1", "TLSv1.2", "TLSv1.3")]
        mitigated = f"; the server also speaks {', '.join(newer)}, which clients use first" if newer else ""
        return found("beast", f"CBC suites at SSLv3/TLS 1.0 ({SOURCE}): {_listed(hits)}{mitigated}",
                     "low" if newer else "medium")  # fmt: skip
    if partial:
        return unknown(
            "beast",
            f"no CBC suite at SSLv3/TLS 1.0 seen, but the suite list of {', '.join(partial)} is incomplete",
        )
    return clean("beast", f"no CBC suite at SSLv3 or TLS 1.0 ({SOURCE})")


def _lucky13(data: ScanData) -> Vulnerability:
    hits, partial = _matches(data, _cbc)
    if hits:
        return unknown(
            "lucky13",
            f"CBC suites accepted ({SOURCE}): {_listed(hits)}. Lucky13 is a timing channel of the "
            "implementation that one probe cannot measure (patched since OpenSSL 1.0.1d); AEAD-only "
            "avoids it",
        )
    if partial:
        return unknown(
            "lucky13", f"no CBC suite seen, but the suite list of {', '.join(partial)} is incomplete"
        )
    return clean("lucky13", f"no CBC suite accepted ({SOURCE})")
