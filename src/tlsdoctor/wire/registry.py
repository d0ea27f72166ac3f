"""IANA tables as data: cipher suites, named groups, signature schemes.

A diagnosis says "the server chose TLS_RSA_WITH_RC4_128_SHA (RC4, no forward secrecy)";
these tables are where such facts come from. Sources: the IANA TLS parameters registry
(cipher suites, supported groups, signature schemes) and the RFCs named beside each row.
Suites are listed in ``_suite_table.py``; their properties are derived from the IANA name
(the name *is* the specification: ``TLS_<kx>_<auth>_WITH_<cipher>_<mac>``, RFC 5246 App. C)
by :func:`_derive`, with the version rules it states.
"""

from __future__ import annotations

import re
from enum import Flag, auto
from typing import NamedTuple

from ._group_table import GROUPS, SIGNATURE_SCHEMES, GroupInfo, SchemeInfo, group_info, scheme_info
from ._suite_table import SUITES as _SUITE_TEXT
from .codepoints import NamedGroup, ProtocolVersion, SignatureScheme

__all__ = [
    "GROUPS",
    "SIGNATURE_SCHEMES",
    "SSL2_CIPHER_KINDS",
    "SUITES",
    "CipherSuite",
    "CipherSuiteInfo",
    "GroupInfo",
    "SchemeInfo",
    "SuiteFlag",
    "group_info",
    "group_name",
    "scheme_info",
    "scheme_name",
    "ssl2_kind_name",
    "suite_by_name",
    "suite_info",
    "suite_name",
    "version_name",
]

V = ProtocolVersion


class SuiteFlag(Flag):
    NONE = 0
    EXPORT = auto()  # 40/56-bit export grade (RFC 2246 App. A.5)
    NULL = auto()  # no encryption
    ANON = auto()  # no server authentication
    RC4 = auto()  # prohibited by RFC 7465
    DES = auto()  # single DES, removed in TLS 1.2 (RFC 5469)
    TRIPLE_DES = auto()  # 64-bit block: Sweet32
    CBC = auto()  # MAC-then-encrypt CBC: Lucky13/POODLE family
    AEAD = auto()
    PFS = auto()  # ephemeral key exchange
    SCSV = auto()  # signalling value, not a real suite (RFC 5746, RFC 7507)


class CipherSuiteInfo(NamedTuple):
    code: int
    iana_name: str
    openssl_name: str | None
    kx: str  # RSA, DH, DHE, ECDH, ECDHE, PSK, SRP, KRB5, ECCPWD, GOST, ANY (TLS 1.3), NULL, SCSV
    auth: str  # RSA, DSS, ECDSA, PSK, SRP, KRB5, anon, ECCPWD, GOST, ANY, NULL, SCSV
    cipher: str  # IANA spelling: AES_128_GCM, 3DES_EDE_CBC, RC4_128, NULL, ...
    mac: str  # MD5, SHA1, SHA256, SHA384, AEAD, OMAC, IMIT, NULL
    bits: int  # effective symmetric strength (3DES = 112)
    min_version: ProtocolVersion
    max_version: ProtocolVersion
    flags: SuiteFlag


_KX_AUTH: dict[str, tuple[str, str]] = {
    "NULL": ("NULL", "NULL"),
    "RSA": ("RSA", "RSA"),
    "DH_DSS": ("DH", "DSS"),
    "DH_RSA": ("DH", "RSA"),
    "DHE_DSS": ("DHE", "DSS"),
    "DHE_RSA": ("DHE", "RSA"),
    "DH_anon": ("DHE", "anon"),  # anonymous DH keys are ephemeral (RFC 5246 §7.4.3)
    "KRB5": ("KRB5", "KRB5"),
    "PSK": ("PSK", "PSK"),
    "DHE_PSK": ("DHE", "PSK"),
    "PSK_DHE": ("DHE", "PSK"),  # RFC 6655 spells 0xC0AA/AB this way round
    "RSA_PSK": ("RSA", "PSK"),
    "ECDHE_PSK": ("ECDHE", "PSK"),
    "ECDH_ECDSA": ("ECDH", "ECDSA"),
    "ECDHE_ECDSA": ("ECDHE", "ECDSA"),
    "ECDH_RSA": ("ECDH", "RSA"),
    "ECDHE_RSA": ("ECDHE", "RSA"),
    "ECDH_anon": ("ECDHE", "anon"),
    "SRP_SHA": ("SRP", "SRP"),
    "SRP_SHA_RSA": ("SRP", "RSA"),
    "SRP_SHA_DSS": ("SRP", "DSS"),
    "ECCPWD": ("ECCPWD", "ECCPWD"),
    "GOSTR341112_256": ("GOST", "GOST"),
}
_MACS = {
    "MD5": "MD5",
    "SHA": "SHA1",
    "SHA256": "SHA256",
    "SHA384": "SHA384",
    "SHA512": "SHA512",
    "SM3": "SM3",
    "OMAC": "OMAC",
    "IMIT": "IMIT",
    "NULL": "NULL",
}
_AEAD_MARKERS = ("GCM", "CCM", "CHACHA20_POLY1305", "MGM", "AEGIS", "ASCONAEAD")
_FIXED_BITS = {
    "NULL": 0,
    "RC4_40": 40,
    "RC2_CBC_40": 40,
    "DES40_CBC": 40,
    "DES_CBC_40": 40,
    "DES_CBC": 56,
    "3DES_EDE_CBC": 112,
    "IDEA_CBC": 128,
    "SEED_CBC": 128,
    "CHACHA20_POLY1305": 256,
    "28147_CNT": 256,
    "AEGIS_128L": 128,
    "ASCONAEAD128": 128,
}


def _bits(cipher: str) -> int:
    if cipher in _FIXED_BITS:
        return _FIXED_BITS[cipher]
    if cipher.startswith(("SM4",)):
        return 128
    if cipher.startswith(("KUZNYECHIK", "MAGMA")):
        return 256
    m = re.search(r"_(128|256)", cipher)
    if m is None:
        raise ValueError(f"no strength rule for cipher {cipher}")  # table bug, caught by tests
    return int(m.group(1))


def _derive(code: int, iana: str, openssl: str | None) -> CipherSuiteInfo:
    """Properties of one suite from its IANA name, with these version rules:

    * TLS 1.3 suites (no ``_WITH_``: RFC 8446 §B.4, RFC 9150, RFC 8998) are TLS 1.3 only.
    * SHA-256/384 MACs and AEAD ciphers need TLS 1.2 (RFC 5246 §1.2, RFC 5289 §4), except
      the PSK CBC/NULL ones, which RFC 5487 §3.2, RFC 5489 §3 and RFC 6367 allow earlier.
    * Suites with SHA-1/MD5 MACs work from SSL 3.0, the ECC ones from TLS 1.0 (RFC 8422
      needs extensions), as OpenSSL also rules.
    * Export suites end at TLS 1.0 (RFC 4346 §A.5); DES and IDEA at TLS 1.1 (RFC 5469).
    """
    flags = SuiteFlag.NONE
    body = iana[4:]
    if iana.endswith("_SCSV"):
        return CipherSuiteInfo(
            code, iana, openssl, "SCSV", "SCSV", "NULL", "NULL", 0, V.SSL3, V.TLS1_3, SuiteFlag.SCSV
        )
    if "_WITH_" not in body:  # TLS 1.3 style: cipher + hash
        cipher, _, hash_name = body.rpartition("_")
        aead = any(m in cipher for m in _AEAD_MARKERS)
        if not aead:  # RFC 9150 integrity-only: TLS_SHA256_SHA256
            cipher, flags = "NULL", SuiteFlag.NULL
        return CipherSuiteInfo(
            code,
            iana,
            openssl,
            "ANY",
            "ANY",
            cipher,
            "AEAD" if aead else _MACS[hash_name],
            _bits(cipher),
            V.TLS1_3,
            V.TLS1_3,
            flags | (SuiteFlag.AEAD if aead else SuiteFlag.NONE) | SuiteFlag.PFS,
        )
    kx_part, _, cipher_part = body.partition("_WITH_")
    if kx_part.endswith("_EXPORT"):
        kx_part, flags = kx_part[: -len("_EXPORT")], flags | SuiteFlag.EXPORT
    kx, auth = _KX_AUTH[kx_part]
    head, _, last = cipher_part.rpartition("_")
    if kx == "GOST" and last in ("L", "S"):  # MGM suites, RFC 9367: cipher names the AEAD mode
        cipher, mac = cipher_part, "AEAD"
    elif last in _MACS and head:
        cipher, mac = head, _MACS[last]
    else:  # RFC 6655 CCM suites carry no hash in the name
        cipher, mac = cipher_part, "AEAD"
    if any(m in cipher for m in _AEAD_MARKERS):
        mac = "AEAD"
    if kx == "GOST" and mac == "AEAD":  # RFC 9367 MGM suites are TLS 1.3 only
        min_v, max_v = V.TLS1_3, V.TLS1_3
    elif mac in ("SHA256", "SHA384", "AEAD", "OMAC", "IMIT"):
        psk_early = auth == "PSK" and mac != "AEAD"
        min_v, max_v = (V.TLS1_0 if psk_early else V.TLS1_2), V.TLS1_2
    else:
        min_v = V.TLS1_0 if kx in ("ECDH", "ECDHE", "ECCPWD") else V.SSL3
        max_v = V.TLS1_2
    if flags & SuiteFlag.EXPORT:
        max_v = V.TLS1_0
    if cipher.startswith(("DES_CBC", "IDEA")) and not flags & SuiteFlag.EXPORT:
        max_v = V.TLS1_1
    if cipher == "NULL":
        flags |= SuiteFlag.NULL
    if auth == "anon":
        flags |= SuiteFlag.ANON
    if cipher.startswith("RC4"):
        flags |= SuiteFlag.RC4
    if cipher.startswith("DES"):
        flags |= SuiteFlag.DES
    if cipher.startswith("3DES"):
        flags |= SuiteFlag.TRIPLE_DES
    if "CBC" in cipher:
        flags |= SuiteFlag.CBC
    if mac == "AEAD":
        flags |= SuiteFlag.AEAD
    if kx in ("DHE", "ECDHE"):
        flags |= SuiteFlag.PFS
    return CipherSuiteInfo(code, iana, openssl, kx, auth, cipher, mac, _bits(cipher), min_v, max_v, flags)


def _load_suites() -> dict[int, CipherSuiteInfo]:
    table: dict[int, CipherSuiteInfo] = {}
    for line in _SUITE_TEXT.strip().splitlines():
        code_s, iana, ossl = line.split()
        table[int(code_s, 16)] = _derive(int(code_s, 16), iana, None if ossl == "-" else ossl)
    return table


SUITES: dict[int, CipherSuiteInfo] = _load_suites()
_BY_NAME: dict[str, CipherSuiteInfo] = {
    **{s.openssl_name: s for s in SUITES.values() if s.openssl_name},
    **{s.iana_name: s for s in SUITES.values()},
}


def suite_info(code: int) -> CipherSuiteInfo | None:
    return SUITES.get(code)


def suite_by_name(name: str) -> CipherSuiteInfo | None:
    """Look up by IANA name or OpenSSL name."""
    return _BY_NAME.get(name)


class CipherSuite(int):
    """An open cipher-suite code point: any 16-bit value, printed by IANA name when known.

    An ``int`` subclass rather than an enum because the ~350 names live in a data table.
    """

    __slots__ = ()

    def __new__(cls, value: int) -> CipherSuite:
        if not 0 <= value <= 0xFFFF:
            raise ValueError(f"cipher suite {value} out of range")
        return super().__new__(cls, value)

    @property
    def info(self) -> CipherSuiteInfo | None:
        return SUITES.get(int(self))

    @property
    def name(self) -> str:
        return suite_name(int(self))

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"CipherSuite({self.name})"

    def __format__(self, spec: str) -> str:
        return self.name if not spec else int.__format__(int(self), spec)


# SSLv2 cipher kinds (draft-hickman-netscape-ssl-00 App. C): 3-byte codes with no IANA TLS names.
SSL2_CIPHER_KINDS: dict[int, str] = {
    0x010080: "SSL_CK_RC4_128_WITH_MD5", 0x020080: "SSL_CK_RC4_128_EXPORT40_WITH_MD5",
    0x030080: "SSL_CK_RC2_128_CBC_WITH_MD5", 0x040080: "SSL_CK_RC2_128_CBC_EXPORT40_WITH_MD5",
    0x050080: "SSL_CK_IDEA_128_CBC_WITH_MD5", 0x060040: "SSL_CK_DES_64_CBC_WITH_MD5",
    0x0700C0: "SSL_CK_DES_192_EDE3_CBC_WITH_MD5",
}  # fmt: skip


# The one way a code point is named in every report (scan, pcap, diagnose, client simulation): the
# registry's name, else the number in hex as the open enums print it (codepoints.py), so that a name
# read off the wire by one command never differs from the same code point named by another.


def version_name(code: int) -> str:
    """``"TLSv1.2"``, ``"SSLv3"``... (contract/cli.md ``scan.protocols[].version``): ProtocolVersion's
    own spelling, which also names the TLS 1.3 drafts; an unknown version by its number."""
    return str(ProtocolVersion(code)) if 0 <= code <= 0xFFFF else _hex(code)


def suite_name(code: int) -> str:
    """The IANA name (``TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256``), or the code point in hex."""
    info = SUITES.get(code)
    return info.iana_name if info else _hex(code)


def group_name(code: int) -> str:
    """The IANA name (``x25519``, ``secp256r1``, ``X25519MLKEM768``), or the code point in hex."""
    info = GROUPS.get(code)
    return info.name if info else _hex(code)


def scheme_name(code: int) -> str:
    """The IANA name (``rsa_pss_rsae_sha256``), or the code point in hex."""
    info = SIGNATURE_SCHEMES.get(code)
    return info.name if info else _hex(code)


def ssl2_kind_name(code: int) -> str:
    """An SSLv2 cipher kind's name (``SSL_CK_RC4_128_WITH_MD5``), or its 3 bytes in hex."""
    return SSL2_CIPHER_KINDS.get(code) or f"0x{code:06x}"


def _hex(code: int) -> str:
    return f"0x{code:04x}"


def _check_enums() -> None:
    """The enums in codepoints.py and these tables must agree (run by the tests)."""
    assert {int(g) for g in NamedGroup} == set(GROUPS), "NamedGroup vs GROUPS"
    assert {int(s) for s in SignatureScheme} == set(SIGNATURE_SCHEMES), "SignatureScheme vs table"
