"""The scan's grade (A+ to F, T for trust), after SSL Labs' SSL Server Rating Guide.

The rules are data (scan/grade.toml, each row with its source); this module only applies them:
three category scores (protocol, key exchange, cipher) weighted into a number and a letter, then
the caps of every finding present (scan/weaknesses.py ids and the scan.vulnerabilities found
vulnerable), then T when the chain is not trusted, then A+ for an A with HSTS and no warning.
Pure: ScanData in, Grade out.
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tlsdoctor.scan.findings import Finding, findings
from tlsdoctor.scan.result import Cap, Grade, ScanData
from tlsdoctor.wire.registry import GROUPS, SUITES, SuiteFlag

ORDER = ("A+", "A", "B", "C", "D", "E", "F")  # best first; T stands outside the scale

# Classical security strength -> the RSA modulus of the same strength (NIST SP 800-57 Part 1
# Rev. 5, Table 2), so that EC keys and groups sit on the guide's RSA-bits table.
RSA_EQUIVALENT = ((256, 15360), (192, 7680), (128, 3072), (112, 2048), (80, 1024))


@functools.cache
def rules() -> dict[str, Any]:
    text = Path(__file__).with_name("grade.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def _by_bounds(bits: int, bounds: Iterable[list[int]]) -> int:
    for below, score in bounds:
        if bits < below:
            return int(score)
    return 100


def rsa_equivalent(security_bits: int) -> int:
    """The RSA size of a given classical strength (SP 800-57); below 80 bits, proportionally less."""
    for strength, rsa in RSA_EQUIVALENT:
        if security_bits >= strength:
            return rsa
    return security_bits * 1024 // 80


def key_bits(key_type: str, bits: int) -> int:
    """A certificate key in RSA-equivalent bits: RSA and DSA as they are, EC and EdDSA by strength."""
    if key_type in ("RSA", "DSA"):
        return bits
    if key_type == "Ed25519":
        return rsa_equivalent(128)
    if key_type == "Ed448":
        return rsa_equivalent(224)
    return rsa_equivalent(bits // 2)  # EC: half the field size


def group_bits(code: int) -> int | None:
    info = GROUPS.get(code)
    if info is None:
        return None
    if info.kind == "ffdhe":
        return int(info.name.removeprefix("ffdhe"))
    return rsa_equivalent(info.bits)


def _protocol_score(data: ScanData) -> int:
    table = rules()["protocol_scores"]
    scores = [int(table[p.version]) for p in data.supported() if p.version in table]
    return (max(scores) + min(scores)) // 2 if scores else 0


def _key_exchange_score(data: ScanData) -> int:
    """The weakest key exchange accepted: anonymous 0, export 40, else the smallest of the
    certificate keys, the DH primes and the ECDHE groups, in RSA-equivalent bits (guide Table 3)."""
    kx = rules()["key_exchange"]
    suites = [SUITES[c] for p in data.supported() if p.version != "SSLv2" for c in p.suites if c in SUITES]
    if any(SuiteFlag.ANON in s.flags for s in suites):
        return int(kx["anonymous"])
    sizes: list[int] = []
    for c in data.certificates:
        infos = c.infos()
        if infos:
            sizes.append(key_bits(infos[0].key_type, infos[0].key_bits))
    sizes += [p.dh_bits for p in data.supported() if p.dh_bits is not None]
    if any(s.kx in ("ECDHE", "ANY") for s in suites):
        sizes += [b for b in (group_bits(g) for g in data.groups) if b is not None]
    score = _by_bounds(min(sizes), kx["bounds"]) if sizes else 100
    if any(SuiteFlag.EXPORT in s.flags for s in suites):
        score = min(score, int(kx["export"]))
    return score


def _cipher_score(data: ScanData) -> int:
    bounds = rules()["cipher"]["bounds"]
    bits = [SUITES[c].bits for p in data.supported() if p.version != "SSLv2" for c in p.suites if c in SUITES]
    if any(p.version == "SSLv2" and p.suites for p in data.supported()):
        bits.append(40)  # SSL 2.0's kinds include export ones; its strongest is 3DES (112)
    if not bits:
        return 0
    return (_by_bounds(max(bits), bounds) + _by_bounds(min(bits), bounds)) // 2


def letter(score: int) -> str:
    for name, lowest in rules()["letters"]:
        if score >= lowest:
            return str(name)
    return "F"


def worse(a: str, b: str) -> str:
    return a if ORDER.index(a) >= ORDER.index(b) else b


def grade(data: ScanData) -> Grade | None:
    """The grade of a scan that saw at least one version; None when nothing answered."""
    if not data.supported():
        return None
    table = rules()
    w = table["weights"]
    protocol, kx, cipher = _protocol_score(data), _key_exchange_score(data), _cipher_score(data)
    score = (
        0
        if 0 in (protocol, kx, cipher)
        else round(w["protocol"] * protocol + w["key_exchange"] * kx + w["cipher"] * cipher)
    )
    result = letter(score)
    present = {f.id: f for f in findings(data)}
    caps = tuple(
        Cap(finding=c["finding"], grade=c["grade"], source=c["source"])
        for c in table["cap"]
        if c["finding"] in present
    )
    for cap in caps:
        if cap.grade != "T":
            result = worse(result, cap.grade)
    not_a_plus = _not_a_plus(data, present) if result == "A" else ()
    if result == "A" and not not_a_plus:
        result = "A+"
    if any(cap.grade == "T" for cap in caps):
        return Grade(grade="T", score=score, protocol=protocol, key_exchange=kx, cipher=cipher, caps=caps,
                     ignoring_trust=result, not_a_plus=not_a_plus)  # fmt: skip
    return Grade(grade=result, score=score, protocol=protocol, key_exchange=kx, cipher=cipher, caps=caps,
                 not_a_plus=not_a_plus)  # fmt: skip


def _not_a_plus(data: ScanData, present: dict[str, Finding]) -> tuple[str, ...]:
    """Why an A stays an A: a warning the guide marks A-, or no long-lived HSTS."""
    table = rules()["a_plus"]
    why = [f"{present[fid].id}: {present[fid].summary}" for fid in table["withheld_by"] if fid in present]
    age = data.hsts_max_age()
    if age is None:
        why.append("no HSTS header (RFC 6797) seen on the HTTP answer")
    elif age < table["hsts_min_age"]:
        why.append(f"HSTS max-age={age} is under {table['hsts_min_age']} s (180 days)")
    return tuple(why)
