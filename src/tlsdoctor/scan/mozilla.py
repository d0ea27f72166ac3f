"""Which of Mozilla's server-side TLS profiles (modern, intermediate, old) the server meets.

The profiles are data (scan/mozilla.json, the guidelines Mozilla's SSL Configuration Generator
publishes, version 5.x). A server meets a profile when it offers nothing outside it: its
versions, its suites per version, its certificate types, keys and signatures, its DH primes and
its ECDHE groups. What the profile only recommends (OCSP stapling, HSTS, short-lived
certificates) is listed but does not decide. The strictest profile met wins. Pure.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from tlsdoctor.observations.cert import CertificateInfo
from tlsdoctor.scan.result import ProfileFit, ScanData
from tlsdoctor.wire.registry import GROUPS, group_name, suite_name

PROFILES = ("modern", "intermediate", "old")  # strictest first
VERSION_NAMES = {"TLSv1.0": "TLSv1"}  # our spelling -> Mozilla's (OpenSSL's)
EC_CURVES = {256: "prime256v1", 384: "secp384r1", 521: "secp521r1"}  # NIST P-curves by field size
KEY_TYPES = {"RSA": "rsa", "EC": "ecdsa"}
SIGNATURE_PREFIX = {"RSA": "{hash}WithRSAEncryption", "EC": "ecdsa-with-{HASH}"}
POST_QUANTUM = frozenset({"hybrid", "mlkem"})  # newer than 5.x's lists; the 6.0 guidelines add them


@functools.cache
def guidelines() -> dict[str, Any]:
    text = Path(__file__).with_name("mozilla.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def _leaves(data: ScanData) -> list[tuple[CertificateInfo, CertificateInfo | None]]:
    """Each served leaf with its issuer as sent (None when the chain is the leaf alone)."""
    out = []
    for c in data.certificates:
        infos = c.infos()
        if infos:
            issuer = infos[1] if len(infos) > 1 else (infos[0] if infos[0].self_signed else None)
            out.append((infos[0], issuer))
    return out


def _signature(leaf: CertificateInfo, issuer: CertificateInfo | None) -> str | None:
    """The leaf's signature algorithm in Mozilla's (OpenSSL's) spelling, from its hash and the
    issuer's key type; None when the issuer was not sent."""
    if issuer is None or leaf.signature_hash is None or issuer.key_type not in SIGNATURE_PREFIX:
        return None
    h = leaf.signature_hash.lower()
    return SIGNATURE_PREFIX[issuer.key_type].format(hash=h, HASH=h.upper())


# Our group names (wire/registry) -> the spelling of Mozilla's tls_curves (OpenSSL's).
MOZILLA_CURVE = {"x25519": "X25519", "x448": "X448", "secp256r1": "prime256v1"}


def deviations(data: ScanData, name: str) -> list[str]:
    """What the server offers outside profile ``name`` (empty: it meets it)."""
    p = guidelines()["configurations"][name]
    out: list[str] = []
    for proto in data.supported():
        version = VERSION_NAMES.get(proto.version, proto.version)
        if version not in p["tls_versions"]:
            out.append(f"{proto.version} is enabled")
            continue
        allowed = set(p["ciphersuites"] if proto.version == "TLSv1.3" else p["ciphers"])
        extra = [suite_name(c) for c in proto.suites if suite_name(c) not in allowed]
        if extra:
            out.append(f"{proto.version} suites outside the profile: {', '.join(extra)}")
        if proto.dh_bits is not None and proto.dh_bits < (p["dh_param_size"] or 0):
            out.append(f"{proto.version}: {proto.dh_bits}-bit DH prime (needs {p['dh_param_size']})")
    for g in data.groups:
        info = GROUPS.get(g)
        if info is None or info.kind in POST_QUANTUM:
            continue
        need = (p["dh_param_size"] or 2048) if info.kind == "ffdhe" else p["ecdh_param_size"]
        size = int(info.name.removeprefix("ffdhe")) if info.kind == "ffdhe" else 2 * info.bits
        if size < need:
            out.append(f"group {group_name(g)} is under {need} bits")
        elif info.kind != "ffdhe" and MOZILLA_CURVE.get(info.name, info.name) not in p["tls_curves"]:
            # the profile names its curves (tls_curves); any other elliptic curve offered is outside it
            out.append(
                f"group {group_name(g)} is outside the profile's curves ({', '.join(p['tls_curves'])})"
            )
    leaves = [_certificate(p, leaf, issuer) for leaf, issuer in _leaves(data)]
    if leaves and all(leaves):  # one fitting certificate serves the profile's clients (dual RSA+ECDSA)
        out += [problem for problems in leaves for problem in problems]
    return out


def _certificate(p: dict[str, Any], leaf: CertificateInfo, issuer: CertificateInfo | None) -> list[str]:
    """What keeps one served leaf out of profile ``p``: its type, key size or curve, signature."""
    kind = KEY_TYPES.get(leaf.key_type, leaf.key_type.lower())
    out = []
    if kind not in p["certificate_types"]:
        out.append(f"{leaf.key_type} certificate (the profile wants {' or '.join(p['certificate_types'])})")
    elif kind == "rsa" and leaf.key_bits < (p["rsa_key_size"] or 0):
        out.append(f"RSA key of {leaf.key_bits} bits (needs {p['rsa_key_size']})")
    elif kind == "ecdsa" and EC_CURVES.get(leaf.key_bits) not in p["certificate_curves"]:
        out.append(f"EC key on a {leaf.key_bits}-bit curve (wants {', '.join(p['certificate_curves'])})")
    sig = _signature(leaf, issuer)
    if sig is not None and sig not in p["certificate_signatures"]:
        out.append(f"certificate signed with {sig}")
    return out


def recommendations(data: ScanData, name: str) -> list[str]:
    p = guidelines()["configurations"][name]
    out = []
    if p["ocsp_staple"] and data.features.get("ocsp_stapling") is False:
        out.append("staple OCSP responses")
    age = data.hsts_max_age()
    if age is None or age < p["hsts_min_age"]:
        out.append(f"send Strict-Transport-Security with max-age={p['hsts_min_age']}")
    for leaf, _ in _leaves(data):
        days = (leaf.not_after - leaf.not_before).days
        if days > p["maximum_certificate_lifespan"]:
            out.append(f"certificate valid {days} days (at most {p['maximum_certificate_lifespan']})")
    return out


def fit(data: ScanData) -> ProfileFit | None:
    """The strictest profile the server meets; None when no version answered."""
    if not data.supported():
        return None
    found = {name: deviations(data, name) for name in PROFILES}
    met = next((name for name in PROFILES if not found[name]), None)
    g = guidelines()
    return ProfileFit(profile=met, deviations=found, recommendations=recommendations(data, met or "old"),
                      guidelines=g["version"], source=g["href"])  # fmt: skip
