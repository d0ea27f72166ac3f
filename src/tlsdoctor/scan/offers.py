"""What a scan offers: the candidate code points per version, and the hello for an offer.

Candidates come from the registry tables (every IANA suite valid for the version, every
named group, every signature scheme), so the scan tests what the IANA registry knows, not
only what a local OpenSSL can still speak (SSLv3, export, RC4, NULL, anon, GOST...).
"""

from __future__ import annotations

import dataclasses
import functools
import secrets
import struct

from tlsdoctor.wire.codepoints import CompressionMethod, ExtensionType, ProtocolVersion
from tlsdoctor.wire.extensions import RawExtension
from tlsdoctor.wire.hello import F5_RANGE, HelloSpec, build_client_hello, build_sslv2_client_hello
from tlsdoctor.wire.keyshares import fixed_share
from tlsdoctor.wire.records import MAX_PLAINTEXT
from tlsdoctor.wire.registry import GROUPS, SIGNATURE_SCHEMES, SUITES, SuiteFlag, version_name
from tlsdoctor.wire.variants import SSL2_KINDS

V = ProtocolVersion

#: The versions a scan tests, oldest first, with their contract names (contract/cli.md
#: ``scan.protocols[].version``, wire/registry.version_name).
VERSIONS: tuple[tuple[str, ProtocolVersion], ...] = tuple(
    (version_name(v), v) for v in (V.SSL2, V.SSL3, V.TLS1_0, V.TLS1_1, V.TLS1_2, V.TLS1_3)
)

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


# The blocks a version's suites are enumerated in, one removal chain each, concurrently, in
# the order most servers prefer them: OpenSSL's default order and Mozilla's profiles put
# forward-secret AEAD first, then forward-secret CBC, then RSA key transport and the rest.
# enumerate.remove_in_blocks checks that order with one probe per block boundary and merges by
# probing where the server disagrees: a guess that is wrong for a server costs probes, never
# correctness.
def _block(code: int) -> int:
    """Forward-secret suites first, then the rest; within each, AEAD with 256-bit keys, other AEAD,
    CBC with a SHA-2 MAC, then the older ones: the order OpenSSL's strength sort gives (and so most
    servers). Seven short chains instead of three long ones shorten the scan's longest path."""
    s = SUITES[code]
    pfs = s.kx in ("ECDHE", "DHE")
    aead = SuiteFlag.AEAD in s.flags or s.mac == "AEAD"
    if s.min_version >= V.TLS1_3:  # TLS 1.3 suites (RFC 8446, RFC 9367 GOST): one short chain
        return 0
    if aead:  # noqa: SIM108 (four ranks read better as branches)
        within = 0 if s.bits >= 256 else 1
    else:
        within = 2 if s.mac in ("SHA256", "SHA384") else 3
    return (0 if pfs and s.auth in ("RSA", "ECDSA", "DSS") else 4) + within


@functools.cache  # ~350 rows per version; chains ask per probe. (``F in flags`` tests a Flag
# without building a new member, which ``flags & F`` does: 3x the cost, milliseconds here.)
def suite_blocks(version: ProtocolVersion) -> tuple[tuple[int, ...], ...]:
    """Every registry suite usable at ``version`` (signalling values excluded), in blocks."""
    codes = [
        s.code for s in SUITES.values()
        if s.min_version <= version <= s.max_version and SuiteFlag.SCSV not in s.flags
    ]  # fmt: skip
    blocks: dict[int, list[int]] = {}
    for c in codes:
        blocks.setdefault(_block(c), []).append(c)
    return tuple(tuple(blocks[b]) for b in sorted(blocks))


def suite_family(code: int) -> tuple[str, str]:
    """The cipher and MAC of a suite: a server's list names them once per key exchange and
    signature (``ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384``), next to each
    other, so a removal chain forks there (enumerate.remove_in_blocks)."""
    s = SUITES[code]
    return s.cipher, s.mac


@functools.cache
def suites_for(version: ProtocolVersion) -> tuple[int, ...]:
    """Every registry suite usable at ``version``, block by block (the order a probe offers)."""
    return tuple(c for block in suite_blocks(version) for c in block)


@functools.cache
def suites_with_auth(version: ProtocolVersion, auth: str) -> tuple[int, ...]:
    """The suites of ``version`` whose server authentication is ``auth`` (RSA, ECDSA)."""
    return tuple(c for c in suites_for(version) if SUITES[c].auth == auth)


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
    sct: bool = False  # ask for SCTs in the ServerHello (RFC 6962 §3.3.1: signed_certificate_timestamp)


def build(offer: Offer) -> bytes:
    """The record bytes of the ClientHello for ``offer`` (SSLv2 uses its own format).

    Chains send the same hello again and again with a shorter list of suites, groups or
    schemes, so the codec builds one template per shape (everything but those three lists, with
    one placeholder value each) and the lists are spliced in: a scan is client-CPU bound on
    loopback, and the codec costs milliseconds a hello. Every hello of a process carries the same
    random (:data:`_SEED`) and every scan the same key shares (``keyshares.FIXED_SHARES``): a
    probe never finishes a handshake, so there is nothing to protect, and a computed share
    costs an EC scalar multiplication and cryptography's import. The result
    is byte for byte what the codec builds for the same offer (tests/unit/scan: test_scan_offers),
    padded out of the 256-511 byte F5 range the same way.
    """
    v = offer.version
    if v == V.SSL2 or len(offer.suites) > 4000:
        return _build(offer)
    groups, schemes, shares = _resolved(offer)
    if len(groups) > 4000 or len(schemes) > 4000:
        return _build(offer)
    shape = dataclasses.replace(
        offer,
        suites=(0x002F,),
        groups=shares or groups[:1],
        shares=shares,
        schemes=schemes[:1],
    )
    template, extras, sid_end, ext_start = _template(shape)
    old_len = int.from_bytes(template[sid_end : sid_end + 2], "big")
    suites = _u16s((*offer.suites, *extras))
    head = template[9:sid_end] + len(suites).to_bytes(2, "big") + suites
    tail_start = sid_end + 2 + old_len
    if ext_start < 0:  # SSL 3.0: no extensions
        body = head + template[tail_start:]
    else:
        exts = _splice_extensions(template[ext_start + 2 :], groups, schemes)
        body = head + template[tail_start:ext_start]
        size = 4 + len(body) + 2 + len(exts)
        if offer.version != V.SSL3 and size in F5_RANGE:  # wire.hello._pad: RFC 7685 padding
            target = max(512, size + 4)
            exts += b"\x00\x15" + (target - size - 4).to_bytes(2, "big") + bytes(target - size - 4)
        body += len(exts).to_bytes(2, "big") + exts
    if len(body) + 4 > MAX_PLAINTEXT:
        return _build(offer)
    message = b"\x01" + len(body).to_bytes(3, "big") + body
    return template[:3] + len(message).to_bytes(2, "big") + message


def _u16s(values: tuple[int, ...]) -> bytes:
    return struct.pack(f">{len(values)}H", *values)


def _splice_extensions(block: bytes, groups: tuple[int, ...], schemes: tuple[int, ...]) -> bytes:
    """The template's extensions with supported_groups and signature_algorithms set to the lists."""
    out: list[bytes] = []
    i = 0
    while i + 4 <= len(block):
        ext_type = int.from_bytes(block[i : i + 2], "big")
        n = int.from_bytes(block[i + 2 : i + 4], "big")
        data = block[i + 4 : i + 4 + n]
        if ext_type == 0x000A:  # RFC 8422 §5.1.1 supported_groups
            data = (2 * len(groups)).to_bytes(2, "big") + _u16s(groups)
        elif ext_type == 0x000D:  # RFC 8446 §4.2.3 signature_algorithms
            data = (2 * len(schemes)).to_bytes(2, "big") + _u16s(schemes)
        out.append(block[i : i + 2] + len(data).to_bytes(2, "big") + data)
        i += 4 + n
    return b"".join(out)


def _resolved(offer: Offer) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """The groups, schemes and key-share groups a hello for ``offer`` carries (defaults applied)."""
    v = offer.version
    if v == V.SSL3:
        return (), (), ()
    tls13 = v >= V.TLS1_3
    groups = offer.groups or (TLS13_GROUPS if tls13 else TLS12_GROUPS)
    schemes = offer.schemes or (ALL_SCHEMES if v >= V.TLS1_2 else ())
    shares = DEFAULT_SHARES if offer.shares is None else offer.shares
    return groups, schemes, (tuple(g for g in shares if g in groups) if tls13 else ())


@functools.lru_cache(maxsize=128)
def _template(shape: Offer) -> tuple[bytes, tuple[int, ...], int, int]:
    """The unpadded hello for a shape; the signalling values the codec appends to the suites;
    where the suites' length field is; where the extensions' length field is (-1: none)."""
    extras = ((0x00FF,) if shape.version == V.SSL3 else ()) + ((0x5600,) if shape.fallback_scsv else ())
    template = _build(shape, pad=False)
    # record header (5) + handshake header (4) + version (2) + random (32) + session id
    sid_end = 5 + 4 + 2 + 32 + 1 + template[5 + 4 + 2 + 32]
    comp = sid_end + 2 + int.from_bytes(template[sid_end : sid_end + 2], "big")
    ext_start = comp + 1 + template[comp]
    return template, extras, sid_end, (ext_start if ext_start < len(template) else -1)


# RFC 6962 §3.3.1: an empty signed_certificate_timestamp extension asks for the server's SCTs.
_SCT_REQUEST = (RawExtension(ExtensionType.SIGNED_CERTIFICATE_TIMESTAMP, b""),)

# One random (and so one session id) for the whole process.
_SEED = secrets.token_bytes(32)


@functools.cache
def _share(group: int) -> bytes:
    return fixed_share(group)


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
        return build_sslv2_client_hello(spec, _SEED)
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
        return build_client_hello(spec, _SEED)
    tls13 = v >= V.TLS1_3
    groups = offer.groups or (TLS13_GROUPS if tls13 else TLS12_GROUPS)
    schemes = offer.schemes or (ALL_SCHEMES if v >= V.TLS1_2 else ())
    shares = DEFAULT_SHARES if offer.shares is None else offer.shares
    key_shares = tuple(g for g in shares if g in groups) if tls13 else ()
    spec = HelloSpec(
        name=f"scan-{version_name(v)}",
        client_version=V.TLS1_2 if tls13 else v,  # RFC 8446 §4.1.2: legacy_version 0x0303
        cipher_suites=offer.suites,
        groups=groups,
        key_share_groups=key_shares,
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
        extra_extensions=(RawExtension(ExtensionType.SIGNED_CERTIFICATE_TIMESTAMP, b""),)
        if offer.sct
        else (),
    )
    return build_client_hello(spec, _SEED, {g: _share(g) for g in key_shares})
