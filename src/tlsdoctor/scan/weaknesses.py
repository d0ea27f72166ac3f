"""Weaknesses: what the scan found that a standard forbids or a known attack exploits,
each with its reference. A table of (id, severity, reference) and one predicate each
(STYLE rule 6). Severities (the contract's scale, the levels ``--fail-on`` compares):

- ``critical``: no confidentiality or no authentication today, for anyone on the path: no
  encryption, anonymous or export key exchange, SSL 2.0, a DH prime under 1024 bits.
- ``high``: broken or prohibited cryptography an attacker with means can exploit (SSL 3.0, RC4,
  single DES, compression, no RFC 5746), a chain that does not validate, no TLS 1.2 at all.
- ``medium``: deprecated or weakened (TLS 1.0/1.1, 64-bit blocks, BEAST, no downgrade
  protection, a 1024-2047-bit DH prime, no forward secrecy or no AEAD suite at all).
- ``low``: hardening (some suites without forward secrecy, no OCSP stapling, old groups).

The scale follows testssl.sh's (SSLv2 critical, SSLv3 high, TLS 1.0/1.1 deprecated below
them) and SSL Labs' caps (scan/grade.toml keys its caps on these ids).
"""

from __future__ import annotations

from collections.abc import Callable

from tlsdoctor.observations.cert import WARNING_KINDS, ProblemKind
from tlsdoctor.scan.result import ProtocolResult, ScanData, Weakness
from tlsdoctor.wire.registry import GROUPS, SUITES, SuiteFlag, group_name

MIN_DH_BITS = 2048  # RFC 9325 §4.1 (and Logjam, CVE-2015-4000)
BROKEN_DH_BITS = 1024  # below this a DH prime is within reach of an academic attacker (Logjam §3.5)


def _suites(data: ScanData, flag: SuiteFlag) -> list[str]:
    """Accepted suites (any version, TLS only) carrying ``flag``, by IANA name, once each."""
    names: dict[str, None] = {}
    for p in data.supported():
        if p.version == "SSLv2":
            continue
        for code in p.suites:
            info = SUITES.get(code)
            if info is not None and flag in info.flags:
                names[info.iana_name] = None
    return list(names)


def _no_pfs(data: ScanData) -> list[str]:
    return [
        SUITES[c].iana_name
        for p in data.supported()
        if p.version not in ("SSLv2", "TLSv1.3")
        for c in p.suites
        if c in SUITES
        and SuiteFlag.PFS not in SUITES[c].flags
        and SuiteFlag.ANON not in SUITES[c].flags
        and SuiteFlag.NULL not in SUITES[c].flags
    ]


def _cbc_tls10(data: ScanData) -> list[str]:
    old = [p for p in data.supported() if p.version in ("SSLv3", "TLSv1.0")]
    return [
        f"{p.version} {SUITES[c].iana_name}"
        for p in old
        for c in p.suites
        if c in SUITES and SuiteFlag.CBC in SUITES[c].flags
    ]


def _version(data: ScanData, name: str) -> ProtocolResult | None:
    return next((p for p in data.protocols if p.version == name), None)


def _supports(data: ScanData, name: str) -> bool:
    p = _version(data, name)
    return p is not None and p.supported


def _dh_between(low: int, high: int) -> Callable[[ScanData], list[str]]:
    def check(data: ScanData) -> list[str]:
        return [
            f"{p.version}: {p.dh_bits}-bit DH prime"
            for p in data.supported()
            if p.dh_bits is not None and low <= p.dh_bits < high
        ]

    return check


def _tls_suites(data: ScanData) -> list[int]:
    return [c for p in data.supported() if p.version != "SSLv2" for c in p.suites if c in SUITES]


def _none_with(flag: SuiteFlag, what: str) -> Callable[[ScanData], list[str]]:
    """Not one accepted suite carries ``flag`` (TLS 1.3's all do): every client goes without."""

    def check(data: ScanData) -> list[str]:
        suites = _tls_suites(data)
        if not suites or any(flag in SUITES[c].flags or SUITES[c].kx == "ANY" for c in suites):
            return []
        return [f"none of the {len(set(suites))} accepted suites has {what}"]

    return check


def _sha1_certs(data: ScanData) -> list[str]:
    return [
        f"{i.subject} ({c.key_type})"
        for c in data.certificates
        for i in c.infos()
        if i.signature_hash in ("sha1", "md5") and not i.self_signed
    ]


def _cert_problems(data: ScanData) -> list[str]:
    """Findings that make the chain fail to validate; notes (a fresh leaf, soon expiry, a strict
    profile's objections) and the SHA-1 signature (its own weakness) are not."""
    notes = WARNING_KINDS - {ProblemKind.WEAK_KEY}
    return [
        f"{c.key_type}: {p.detail}" for c in data.certificates for p in c.problems() if p.problem not in notes
    ]


def _must_staple_unstapled(data: ScanData) -> list[str]:
    """A leaf that demands a stapled OCSP response (RFC 7633 TLS feature status_request) from a
    server that staples none: Firefox refuses it (MOZILLA_PKIX_ERROR_REQUIRED_TLS_FEATURE_MISSING)."""
    if data.features.get("ocsp_stapling") is not False:
        return []
    leaves = [(c.key_type, c.details[0]) for c in data.certificates if c.details]
    return [f"{kind}: {leaf.get('subject', '?')}" for kind, leaf in leaves if leaf.get("must_staple")]


def _deprecated_groups(data: ScanData) -> list[str]:
    return [group_name(g) for g in data.groups if g in GROUPS and GROUPS[g].deprecated]


def _feature_is(key: str, value: object) -> Callable[[ScanData], list[str]]:
    def check(data: ScanData) -> list[str]:
        return [key] if data.features.get(key) == value else []

    return check


def _present(name: str) -> Callable[[ScanData], list[str]]:
    return lambda data: [name] if _supports(data, name) else []


HSTS_MIN_AGE = 15552000  # 180 days: SSL Labs' "long duration" (scan/grade.toml a_plus)


def _no_hsts(data: ScanData) -> list[str]:
    """An HTTP answer came, without a valid Strict-Transport-Security header (RFC 6797 §6.1)."""
    h = data.http
    if h is None or h.status is None or h.hsts_max_age is not None:
        return []
    sent = h.headers.get("strict-transport-security")
    return [f"invalid header {sent!r}" if sent is not None else f"HTTP {h.status} without the header"]


def _short_hsts(data: ScanData) -> list[str]:
    age = data.hsts_max_age()
    return [f"max-age={age}"] if age is not None and age < HSTS_MIN_AGE else []


def _early_data(data: ScanData) -> list[str]:
    size = data.sessions.get("max_early_data")
    return [f"max_early_data_size={size}"] if data.sessions.get("early_data") else []


def _store_gaps(data: ScanData) -> list[str]:
    """The chain validates against the system store, yet another store a client family uses
    (Mozilla's via certifi, Java's cacerts, Node's roots) refuses it: those clients fail. Not
    judged with --ca-file (a private PKI is meant for its own clients only)."""
    from tlsdoctor.observations.cert import ChainValidation

    out: list[str] = []
    for c in data.certificates:
        own = next((o for o in c.observations if isinstance(o, ChainValidation)), None)
        if own is None or not own.valid or own.store != "system":
            continue
        out += [f"{s['store']} ({s['error']})" for s in c.stores if s.get("trusted") is False]
    return list(dict.fromkeys(out))


def _tls12_missing(data: ScanData) -> list[str]:
    """Neither TLS 1.2 nor 1.3: a TLS 1.3-only server (Mozilla's "modern") is not short of one."""
    modern = _supports(data, "TLSv1.2") or _supports(data, "TLSv1.3")
    return [] if modern or not data.supported() else ["TLSv1.2"]


# (id, severity, what, reference, finder): the finder lists the offending items, [] = not present.
RULES: tuple[tuple[str, str, str, str, Callable[[ScanData], list[str]]], ...] = (
    ("sslv2", "critical", "SSL 2.0 is enabled (DROWN)", "RFC 6176; CVE-2016-0800", _present("SSLv2")),
    ("sslv3", "high", "SSL 3.0 is enabled (POODLE)", "RFC 7568; CVE-2014-3566", _present("SSLv3")),
    ("tls10", "medium", "TLS 1.0 is enabled", "RFC 8996 §2", _present("TLSv1.0")),
    ("tls11", "medium", "TLS 1.1 is enabled", "RFC 8996 §3", _present("TLSv1.1")),
    ("no-tls12", "high", "neither TLS 1.2 nor TLS 1.3 is supported", "RFC 9325 §3.1.1", _tls12_missing),
    ("rc4", "high", "RC4 suites are accepted", "RFC 7465 §2", lambda d: _suites(d, SuiteFlag.RC4)),
    (
        "export",
        "critical",
        "export-grade suites are accepted (FREAK/Logjam)",
        "RFC 9325 §4.1; CVE-2015-0204",
        lambda d: _suites(d, SuiteFlag.EXPORT),
    ),
    (
        "null-cipher",
        "critical",
        "suites without encryption are accepted",
        "RFC 9325 §4.1",
        lambda d: _suites(d, SuiteFlag.NULL),
    ),
    (
        "anonymous",
        "critical",
        "anonymous (unauthenticated) suites are accepted",
        "RFC 9325 §4.1",
        lambda d: _suites(d, SuiteFlag.ANON),
    ),
    ("des", "high", "single-DES suites are accepted", "RFC 5469", lambda d: _suites(d, SuiteFlag.DES)),
    (
        "3des-sweet32",
        "medium",
        "3DES suites are accepted (64-bit block: Sweet32)",
        "RFC 9325 §4.1; CVE-2016-2183",
        lambda d: _suites(d, SuiteFlag.TRIPLE_DES),
    ),
    (
        "no-pfs",
        "low",
        "suites without forward secrecy (static RSA/DH key exchange) are accepted",
        "RFC 9325 §4.1",
        _no_pfs,
    ),
    (
        "no-forward-secrecy",
        "medium",
        "no suite with forward secrecy: a stolen key decrypts every recorded session",
        "RFC 9325 §4.1",
        _none_with(SuiteFlag.PFS, "forward secrecy (ECDHE/DHE)"),
    ),
    (
        "no-aead",
        "medium",
        "no AEAD suite: every connection uses CBC or a stream cipher",
        "RFC 9325 §4.2",
        _none_with(SuiteFlag.AEAD, "an AEAD cipher (GCM, CCM, ChaCha20-Poly1305)"),
    ),
    (
        "cbc-tls10",
        "low",
        "CBC suites in SSL 3.0/TLS 1.0 (BEAST)",
        "RFC 9325 §4.2; CVE-2011-3389",
        _cbc_tls10,
    ),
    (
        "dh-under-1024",
        "critical",
        f"DHE with a prime under {BROKEN_DH_BITS} bits (Logjam: breakable)",
        "RFC 9325 §4.1; CVE-2015-4000",
        _dh_between(0, BROKEN_DH_BITS),
    ),
    (
        "weak-dh",
        "medium",
        f"DHE with a prime under {MIN_DH_BITS} bits (Logjam)",
        "RFC 9325 §4.1; CVE-2015-4000",
        _dh_between(BROKEN_DH_BITS, MIN_DH_BITS),
    ),
    (
        "compression",
        "high",
        "TLS compression is enabled (CRIME)",
        "RFC 9325 §3.3; CVE-2012-4929",
        _feature_is("compression", "DEFLATE"),
    ),
    (
        "no-secure-renegotiation",
        "high",
        "no secure renegotiation (renegotiation_info missing)",
        "RFC 5746 §4.1; CVE-2009-3555",
        _feature_is("secure_renegotiation", False),
    ),
    (
        "no-fallback-scsv",
        "medium",
        "TLS_FALLBACK_SCSV is not honoured: a downgrade goes unnoticed",
        "RFC 7507 §3",
        _feature_is("fallback_scsv", False),
    ),
    (
        "no-ocsp-stapling",
        "low",
        "no OCSP stapling",
        "RFC 6066 §8; RFC 9325 §7.2",
        _feature_is("ocsp_stapling", False),
    ),
    (
        "must-staple-unstapled",
        "high",
        "the certificate requires a stapled OCSP response (must-staple) and the server staples none",
        "RFC 7633 §4.2.3; RFC 6066 §8",
        _must_staple_unstapled,
    ),
    (
        "sha1-certificate",
        "high",
        "a certificate is signed with SHA-1 or MD5",
        "RFC 9155; CA/B BR §7.1.3",
        _sha1_certs,
    ),
    ("certificate", "high", "the certificate chain does not validate", "RFC 5280 §6", _cert_problems),
    (
        "trust-store-gap",
        "medium",
        "the system store trusts the chain, but another client family's store does not",
        "RFC 5280 §6.1 (path validation, per store)",
        _store_gaps,
    ),
    (
        "no-hsts",
        "low",
        "no HTTP Strict Transport Security: a first visit by http:// can be downgraded",
        "RFC 6797 §6.1",
        _no_hsts,
    ),
    (
        "hsts-short",
        "low",
        f"HSTS max-age under {HSTS_MIN_AGE} s (180 days)",
        "RFC 6797 §6.1.1",
        _short_hsts,
    ),
    (
        "early-data",
        "info",
        "TLS 1.3 early data (0-RTT) is offered: requests in it can be replayed",
        "RFC 8446 §8; RFC 9325 §3.10",
        _early_data,
    ),
    (
        "deprecated-groups",
        "low",
        "deprecated named groups are accepted",
        "RFC 8422 §5.1.1; RFC 9325 §4.2.1",
        _deprecated_groups,
    ),
)


def find_weaknesses(data: ScanData) -> list[Weakness]:
    """Every rule that matches, with the offending items named in its summary."""
    out: list[Weakness] = []
    for wid, severity, what, reference, finder in RULES:
        items = finder(data)
        if items:
            shown = ", ".join(items[:6]) + (f" (+{len(items) - 6} more)" if len(items) > 6 else "")
            out.append(Weakness(id=wid, severity=severity, summary=f"{what}: {shown}", reference=reference))
    return out
