"""Named groups and signature schemes as data (re-exported by ``registry``).

Sources: IANA "TLS Supported Groups" and "TLS SignatureScheme" registries; RFC 8422,
RFC 7919, RFC 8446 §4.2.3/§4.2.7/§4.2.8, RFC 8734, RFC 8998, RFC 9189, RFC 9367,
FIPS 203, draft-ietf-tls-mlkem, draft-ietf-tls-ecdhe-mlkem, draft-ietf-tls-mldsa.
The 0x01xx-0x06xx DSA/SHA-224/MD5 rows are TLS 1.2 (hash, signature) pairs from the RFC 5246
registries, which the SignatureScheme registry does not list. Written by hand, not downloaded.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["GROUPS", "SIGNATURE_SCHEMES", "GroupInfo", "SchemeInfo", "group_info", "scheme_info"]


# -- named groups (IANA "TLS Supported Groups") ---------------------------------------
class GroupInfo(NamedTuple):
    code: int
    name: str  # IANA description
    kind: str  # ec-prime, ec-binary, montgomery, ffdhe, mlkem, hybrid, gost, sm2, explicit
    bits: int  # classical security strength
    client_share: int  # KeyShareEntry.key_exchange length from a client (0 = not for TLS 1.3)
    server_share: int  # ... from a server
    tls13: bool  # usable in TLS 1.3 (RFC 8446 §4.2.7)
    deprecated: bool  # RFC 8422 §5.1.1 / RFC 9325 / superseded drafts


_G = GroupInfo
GROUPS: dict[int, GroupInfo] = {
    g.code: g
    for g in [
        # RFC 8422 §5.1.1 deprecates all binary curves and the small prime curves.
        *[
            _G(c, n, "ec-binary", b, 0, 0, False, True)
            for c, n, b in [
                (1, "sect163k1", 80),
                (2, "sect163r1", 80),
                (3, "sect163r2", 80),
                (4, "sect193r1", 96),
                (5, "sect193r2", 96),
                (6, "sect233k1", 112),
                (7, "sect233r1", 112),
                (8, "sect239k1", 112),
                (9, "sect283k1", 128),
                (10, "sect283r1", 128),
                (11, "sect409k1", 192),
                (12, "sect409r1", 192),
                (13, "sect571k1", 256),
                (14, "sect571r1", 256),
            ]
        ],
        *[
            _G(c, n, "ec-prime", b, 0, 0, False, True)
            for c, n, b in [
                (15, "secp160k1", 80),
                (16, "secp160r1", 80),
                (17, "secp160r2", 80),
                (18, "secp192k1", 96),
                (19, "secp192r1", 96),
                (20, "secp224k1", 112),
                (21, "secp224r1", 112),
                (22, "secp256k1", 128),
            ]
        ],
        _G(23, "secp256r1", "ec-prime", 128, 65, 65, True, False),  # RFC 8446 §4.2.8.2 uncompressed
        _G(24, "secp384r1", "ec-prime", 192, 97, 97, True, False),
        _G(25, "secp521r1", "ec-prime", 256, 133, 133, True, False),
        _G(26, "brainpoolP256r1", "ec-prime", 128, 0, 0, False, False),  # RFC 7027, TLS <= 1.2
        _G(27, "brainpoolP384r1", "ec-prime", 192, 0, 0, False, False),
        _G(28, "brainpoolP512r1", "ec-prime", 256, 0, 0, False, False),
        _G(29, "x25519", "montgomery", 128, 32, 32, True, False),  # RFC 8446 §4.2.8.2, RFC 7748
        _G(30, "x448", "montgomery", 224, 56, 56, True, False),
        _G(31, "brainpoolP256r1tls13", "ec-prime", 128, 65, 65, True, False),  # RFC 8734
        _G(32, "brainpoolP384r1tls13", "ec-prime", 192, 97, 97, True, False),
        _G(33, "brainpoolP512r1tls13", "ec-prime", 256, 129, 129, True, False),
        *[
            _G(c, n, "gost", b, s, s, True, False)
            for c, n, b, s in [  # RFC 9189 / 9367
                (34, "GC256A", 128, 64),
                (35, "GC256B", 128, 64),
                (36, "GC256C", 128, 64),
                (37, "GC256D", 128, 64),
                (38, "GC512A", 256, 128),
                (39, "GC512B", 256, 128),
                (40, "GC512C", 256, 128),
            ]
        ],
        _G(41, "curveSM2", "sm2", 128, 65, 65, True, False),  # RFC 8998
        # RFC 7919 §4 / RFC 8446 §4.2.8.1: the share is the public value padded to the prime size.
        *[
            _G(c, f"ffdhe{p}", "ffdhe", b, p // 8, p // 8, True, False)
            for c, p, b in [
                (256, 2048, 103),
                (257, 3072, 125),
                (258, 4096, 150),
                (259, 6144, 175),
                (260, 8192, 192),
            ]
        ],
        # FIPS 203 encapsulation key (client) / ciphertext (server) sizes; draft-ietf-tls-mlkem.
        _G(0x0200, "MLKEM512", "mlkem", 128, 800, 768, True, False),
        _G(0x0201, "MLKEM768", "mlkem", 192, 1184, 1088, True, False),
        _G(0x0202, "MLKEM1024", "mlkem", 256, 1568, 1568, True, False),
        # draft-ietf-tls-ecdhe-mlkem: X25519MLKEM768 puts ML-KEM first, the others the ECDH share first.
        _G(0x11E9, "SecP256r1MLKEM512", "hybrid", 128, 65 + 800, 65 + 768, True, False),
        _G(0x11EA, "MLKEM512X25519", "hybrid", 128, 800 + 32, 768 + 32, True, False),
        _G(0x11EB, "SecP256r1MLKEM768", "hybrid", 128, 65 + 1184, 65 + 1088, True, False),
        _G(0x11EC, "X25519MLKEM768", "hybrid", 128, 1184 + 32, 1088 + 32, True, False),
        _G(0x11ED, "SecP384r1MLKEM1024", "hybrid", 192, 97 + 1568, 97 + 1568, True, False),
        _G(0x11EE, "curveSM2MLKEM768", "hybrid", 128, 65 + 1184, 65 + 1088, True, False),
        _G(0x6399, "X25519Kyber768Draft00", "hybrid", 128, 32 + 1184, 32 + 1088, True, True),
        _G(0x639A, "SecP256r1Kyber768Draft00", "hybrid", 128, 65 + 1184, 65 + 1088, True, True),
        _G(0xFF01, "arbitrary_explicit_prime_curves", "explicit", 0, 0, 0, False, True),
        _G(0xFF02, "arbitrary_explicit_char2_curves", "explicit", 0, 0, 0, False, True),
    ]
}


def group_info(code: int) -> GroupInfo | None:
    return GROUPS.get(code)


# -- signature schemes (IANA "TLS SignatureScheme", RFC 8446 §4.2.3) -------------------
class SchemeInfo(NamedTuple):
    code: int
    name: str
    algorithm: str  # rsa_pkcs1, rsa_pss_rsae, rsa_pss_pss, ecdsa, dsa, eddsa, sm2, gost, mldsa
    hash: str
    tls13: bool  # allowed in TLS 1.3 CertificateVerify
    deprecated: bool  # SHA-1/MD5/SHA-224/DSA (RFC 9155, RFC 8446 §4.2.3)


_S = SchemeInfo
SIGNATURE_SCHEMES: dict[int, SchemeInfo] = {
    s.code: s
    for s in [
        _S(0x0101, "rsa_pkcs1_md5", "rsa_pkcs1", "md5", False, True),  # TLS 1.2 pair (md5, rsa)
        _S(0x0201, "rsa_pkcs1_sha1", "rsa_pkcs1", "sha1", False, True),
        _S(0x0202, "dsa_sha1", "dsa", "sha1", False, True),
        _S(0x0203, "ecdsa_sha1", "ecdsa", "sha1", False, True),
        _S(0x0301, "rsa_pkcs1_sha224", "rsa_pkcs1", "sha224", False, True),
        _S(0x0302, "dsa_sha224", "dsa", "sha224", False, True),
        _S(0x0303, "ecdsa_sha224", "ecdsa", "sha224", False, True),
        _S(0x0401, "rsa_pkcs1_sha256", "rsa_pkcs1", "sha256", False, False),  # certs only in 1.3
        _S(
            0x0420, "rsa_pkcs1_sha256_legacy", "rsa_pkcs1", "sha256", True, False
        ),  # draft-ietf-tls-tls13-pkcs1
        _S(0x0402, "dsa_sha256", "dsa", "sha256", False, True),
        _S(0x0403, "ecdsa_secp256r1_sha256", "ecdsa", "sha256", True, False),
        _S(0x0501, "rsa_pkcs1_sha384", "rsa_pkcs1", "sha384", False, False),
        _S(0x0520, "rsa_pkcs1_sha384_legacy", "rsa_pkcs1", "sha384", True, False),
        _S(0x0502, "dsa_sha384", "dsa", "sha384", False, True),
        _S(0x0503, "ecdsa_secp384r1_sha384", "ecdsa", "sha384", True, False),
        _S(0x0601, "rsa_pkcs1_sha512", "rsa_pkcs1", "sha512", False, False),
        _S(0x0620, "rsa_pkcs1_sha512_legacy", "rsa_pkcs1", "sha512", True, False),
        _S(0x0602, "dsa_sha512", "dsa", "sha512", False, True),
        _S(0x0603, "ecdsa_secp521r1_sha512", "ecdsa", "sha512", True, False),
        _S(0x0704, "eccsi_sha256", "eccsi", "sha256", True, False),  # RFC 8446 is silent; IANA lists them
        _S(0x0705, "iso_ibs1", "ibs", "intrinsic", True, False),
        _S(0x0706, "iso_ibs2", "ibs", "intrinsic", True, False),
        _S(0x0707, "iso_chinese_ibs", "ibs", "intrinsic", True, False),
        _S(0x0708, "sm2sig_sm3", "sm2", "sm3", True, False),  # RFC 8998
        *[
            _S(c, n, "gost", h, True, False)
            for c, n, h in [  # RFC 9367
                (0x0709, "gostr34102012_256a", "streebog256"),
                (0x070A, "gostr34102012_256b", "streebog256"),
                (0x070B, "gostr34102012_256c", "streebog256"),
                (0x070C, "gostr34102012_256d", "streebog256"),
                (0x070D, "gostr34102012_512a", "streebog512"),
                (0x070E, "gostr34102012_512b", "streebog512"),
                (0x070F, "gostr34102012_512c", "streebog512"),
            ]
        ],
        _S(0x0804, "rsa_pss_rsae_sha256", "rsa_pss_rsae", "sha256", True, False),
        _S(0x0805, "rsa_pss_rsae_sha384", "rsa_pss_rsae", "sha384", True, False),
        _S(0x0806, "rsa_pss_rsae_sha512", "rsa_pss_rsae", "sha512", True, False),
        _S(0x0807, "ed25519", "eddsa", "intrinsic", True, False),
        _S(0x0808, "ed448", "eddsa", "intrinsic", True, False),
        _S(0x0809, "rsa_pss_pss_sha256", "rsa_pss_pss", "sha256", True, False),
        _S(0x080A, "rsa_pss_pss_sha384", "rsa_pss_pss", "sha384", True, False),
        _S(0x080B, "rsa_pss_pss_sha512", "rsa_pss_pss", "sha512", True, False),
        _S(0x081A, "ecdsa_brainpoolP256r1tls13_sha256", "ecdsa", "sha256", True, False),  # RFC 8734
        _S(0x081B, "ecdsa_brainpoolP384r1tls13_sha384", "ecdsa", "sha384", True, False),
        _S(0x081C, "ecdsa_brainpoolP512r1tls13_sha512", "ecdsa", "sha512", True, False),
        _S(0x0904, "mldsa44", "mldsa", "intrinsic", True, False),  # draft-ietf-tls-mldsa
        _S(0x0905, "mldsa65", "mldsa", "intrinsic", True, False),
        _S(0x0906, "mldsa87", "mldsa", "intrinsic", True, False),
        *[
            _S(0x0911 + i, f"slhdsa_{n}", "slhdsa", "intrinsic", True, False)
            for i, n in enumerate(
                [  # draft-ietf-tls-slhdsa
                    "sha2_128s",
                    "sha2_128f",
                    "sha2_192s",
                    "sha2_192f",
                    "sha2_256s",
                    "sha2_256f",
                    "shake_128s",
                    "shake_128f",
                    "shake_192s",
                    "shake_192f",
                    "shake_256s",
                    "shake_256f",
                ]
            )
        ],
    ]
}


def scheme_info(code: int) -> SchemeInfo | None:
    return SIGNATURE_SCHEMES.get(code)
