"""What a scan offers: the candidate code points per version, and the hello for an offer.

Candidates come from the registry tables (every IANA suite valid for the version, every
named group, every signature scheme), so the scan tests what the IANA registry knows, not
only what a local OpenSSL can still speak (SSLv3, export, RC4, NULL, anon, GOST...).
"""

from __future__ import annotations

import dataclasses
import functools

from tlsdoctor.wire.codepoints import CompressionMethod, ProtocolVersion
from tlsdoctor.wire.hello import F5_RANGE, HelloSpec, build_client_hello, build_sslv2_client_hello
from tlsdoctor.wire.registry import GROUPS, SIGNATURE_SCHEMES, SUITES, SuiteFlag
from tlsdoctor.wire.variants import SSL2_KINDS

V = ProtocolVersion

#: Contract names (contract/cli.md ``scan.protocols[].version``) in scan order, oldest first.
VERSIONS: tuple[tuple[str, ProtocolVersion], ...] = (
    ("SSLv2", V.SSL2), ("SSLv3", V.SSL3), ("TLSv1.0", V.TLS1_0), ("TLSv1.1", V.TLS1_1),
    ("TLSv1.2", V.TLS1_2), ("TLSv1.3", V.TLS1_3),
)  # fmt: skip
VERSION_NAME = {v: name for name, v in VERSIONS}

# SSLv2 cipher kinds (draft-hickman-netscape-ssl-00 App. C); they have no IANA TLS names.
SSL2_NAMES = {
    0x010080: "SSL_CK_RC4_128_WITH_MD5", 0x020080: "SSL_CK_RC4_128_EXPORT40_WITH_MD5",
    0x030080: "SSL_CK_RC2_128_CBC_WITH_MD5", 0x040080: "SSL_CK_RC2_128_CBC_EXPORT40_WITH_MD5",
    0x050080: "SSL_CK_IDEA_128_CBC_WITH_MD5", 0x060040: "SSL_CK_DES_64_CBC_WITH_MD5",
    0x0700C0: "SSL_CK_DES_192_EDE3_CBC_WITH_MD5",
}  # fmt: skip

# Groups a TLS <= 1.2 ECDHE ServerKeyExchange can name (RFC 8422 §5.4: named curves only).
EC_KINDS = ("ec-prime", "ec-binary", "montgomery")
TLS12_GROUPS: tuple[int, ...] = tuple(g.code for g in GROUPS.values() if g.kind in EC_KINDS)
# Groups a TLS 1.3 server may select by HRR (RFC 8446 §4.2.7), PQ hybrids included.
TLS13_GROUPS: tuple[int, ...] = tuple(g.code for g in GROUPS.values() if g.tls13)
# Current schemes first, deprecated ones (SHA-1, SHA-224, DSA, RFC 9155) last: a client-order
# server then names its best first.
ALL_SCHEMES: tuple[int, ...] = tuple(sorted(SIGNATURE_SCHEMES, key=lambda c: SIGNATURE_SCHEMES[c].deprecated))
TLS13_SCHEMES: tuple[int, ...] = tuple(s.code for s in SIGNATURE_SCHEMES.values() if s.tls13)
RSA_SCHEMES = tuple(
    s.code for s in SIGNATURE_SCHEMES.values() if s.algorithm in ("rsa_pkcs1", "rsa_pss_rsae")
)
ECDSA_SCHEMES = tuple(s.code for s in SIGNATURE_SCHEMES.values() if s.algorithm == "ecdsa")
# The shares a TLS 1.3 probe carries: the two groups nearly every server has (RFC 8446 §9.1).
DEFAULT_SHARES = (0x001D, 0x0017)
ALPN_CANDIDATES: tuple[bytes, ...] = (b"h2", b"http/1.1", b"http/1.0", b"spdy/3.1", b"h3")


@functools.cache  # Flag arithmetic over ~350 rows costs milliseconds; chains ask per probe
def suites_for(version: ProtocolVersion) -> tuple[int, ...]:
    """Every registry suite usable at ``version`` (signalling values excluded)."""
    return tuple(
        s.code for s in SUITES.values()
        if s.min_version <= version <= s.max_version and not s.flags & SuiteFlag.SCSV
    )  # fmt: skip


@functools.cache
def suites_with_auth(version: ProtocolVersion, auth: str) -> tuple[int, ...]:
    """The suites of ``version`` whose server authentication is ``auth`` (RSA, ECDSA)."""
    return tuple(c for c in suites_for(version) if SUITES[c].auth == auth)


def suite_name(code: int) -> str:
    """The IANA name, or the hex code point for an unassigned one."""
    info = SUITES.get(code)
    return info.iana_name if info else f"0x{code:04X}"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Offer:
    """One ClientHello's worth of choices. Empty tuples mean "the default for the version"."""

    version: ProtocolVersion
    suites: tuple[int, ...]
    groups: tuple[int, ...] = ()
    shares: tuple[int, ...] | None = None  # TLS 1.3 key_share groups; None = DEFAULT_SHARES
    schemes: tuple[int, ...] = ()
    sni: str | None = None
    alpn: tuple[bytes, ...] = ()
    status_request: bool = False
    session_ticket: bool = False
    compression: bool = False  # also offer DEFLATE (RFC 3749), to detect CRIME exposure
    fallback_scsv: bool = False


def build(offer: Offer) -> bytes:
    """The record bytes of the ClientHello for ``offer`` (SSLv2 uses its own format).

    A removal chain sends the same hello again and again with a shorter suite list, so the
    codec builds one template per shape (everything but the suites) and the list is spliced
    in: a scan is client-CPU bound on loopback, and this is most of the client's work. A
    spliced hello that lands in the 256-511 byte F5 range is rebuilt, padded, by the codec.
    """
    if offer.version == V.SSL2 or len(offer.suites) > 4000:
        return _build(offer)
    template, extras = _template(dataclasses.replace(offer, suites=(0x002F,)))
    # record header (5) + handshake header (4) + version (2) + random (32) + session id
    sid_end = 5 + 4 + 2 + 32 + 1 + template[5 + 4 + 2 + 32]
    old_len = int.from_bytes(template[sid_end : sid_end + 2], "big")
    suites = b"".join(s.to_bytes(2, "big") for s in (*offer.suites, *extras))
    body = template[9:sid_end] + len(suites).to_bytes(2, "big") + suites + template[sid_end + 2 + old_len :]
    if len(body) + 4 in F5_RANGE:
        return _build(offer)
    message = b"\x01" + len(body).to_bytes(3, "big") + body
    return template[:3] + len(message).to_bytes(2, "big") + message


@functools.lru_cache(maxsize=64)
def _template(shape: Offer) -> tuple[bytes, tuple[int, ...]]:
    """The unpadded hello for a shape, and the signalling values the codec appends to suites."""
    extras = ((0x00FF,) if shape.version == V.SSL3 else ()) + ((0x5600,) if shape.fallback_scsv else ())
    return _build(shape, pad=False), extras


def _build(offer: Offer, pad: bool = True) -> bytes:
    v = offer.version
    if v == V.SSL2:
        spec = HelloSpec(
            name="scan-sslv2",
            record_format="sslv2",
            client_version=V.SSL2,
            sslv2_cipher_kinds=SSL2_KINDS,
            extensions=False,
        )
        return build_sslv2_client_hello(spec)
    deflate = (CompressionMethod(1),) if offer.compression else ()  # RFC 3749
    compression = (*deflate, CompressionMethod.NULL)
    if v == V.SSL3:  # RFC 6101 hellos carry no extensions; RFC 5746 §3.3 SCSV instead
        spec = HelloSpec(
            name="scan-ssl3",
            record_version=V.SSL3,
            client_version=V.SSL3,
            cipher_suites=offer.suites,
            extensions=False,
            renegotiation="scsv",
            extended_master_secret=False,
            session_id_len=0,
            compression=compression,
            fallback_scsv=offer.fallback_scsv,
        )
        return build_client_hello(spec)
    tls13 = v >= V.TLS1_3
    groups = offer.groups or (TLS13_GROUPS if tls13 else TLS12_GROUPS)
    schemes = offer.schemes or (ALL_SCHEMES if v >= V.TLS1_2 else ())
    shares = DEFAULT_SHARES if offer.shares is None else offer.shares
    spec = HelloSpec(
        name=f"scan-{VERSION_NAME.get(v, v)}",
        client_version=V.TLS1_2 if tls13 else v,  # RFC 8446 §4.1.2: legacy_version 0x0303
        cipher_suites=offer.suites,
        groups=groups,
        key_share_groups=tuple(g for g in shares if g in groups) if tls13 else (),
        signature_schemes=schemes,
        sni=offer.sni,
        alpn=offer.alpn,
        supported_versions=(V.TLS1_3,) if tls13 else (),
        status_request=offer.status_request,
        session_ticket=offer.session_ticket,
        compression=compression,
        fallback_scsv=offer.fallback_scsv,
        encrypt_then_mac=not tls13,
        session_id_len=32 if tls13 else 0,
        pad_f5_range=pad,  # RFC 7685: keep scan hellos out of the 256-511 byte F5 range
    )
    return build_client_hello(spec)
