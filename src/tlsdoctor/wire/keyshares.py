"""Public key-share values for a probe ClientHello (RFC 8446 §4.2.8).

A probe never completes the handshake, but servers do validate what we send: an X25519
or P-256 share must be a real public key, and an ML-KEM encapsulation key must pass the
FIPS 203 §7.2 modulus check, or the server answers illegal_parameter and we would blame
it for our own bytes. So EC and X25519/X448 shares are real public keys (``cryptography``:
pure computation, no I/O); ML-KEM keys are real when the installed ``cryptography`` has
ML-KEM, and otherwise *well-formed* synthetic keys (reduced coefficients, FIPS 203
ByteEncode12) that nobody can decapsulate, which is enough for a probe. FFDHE shares are
random values below the prime; a server that checks subgroup membership may reject them.

Everything is derived from a seed, so a given seed yields the same bytes (for golden
tests); the caller passes fresh random seed bytes for real probes.

``cryptography`` is imported only when a share is computed: a loopback scan spends a tenth of
its time importing it, and the two shares a scan sends are written out in :data:`FIXED_SHARES`.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from .codepoints import NamedGroup
from .registry import group_info

if TYPE_CHECKING:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

__all__ = [
    "FIXED_SEED",
    "FIXED_SHARES",
    "ecdhe_secret",
    "expand",
    "fixed_share",
    "key_share_for",
    "shared_secret",
]

#: A published seed for probes that need a valid share but no secret one: a scan never
#: finishes a handshake, so every scan may send the same public keys (testssl.sh does too).
FIXED_SEED = b"tlsdoctor fixed key share"
#: key_share_for(group, FIXED_SEED) for the two groups a scan's TLS 1.3 hellos carry, written
#: out so that a scan does not import cryptography (tests/unit/wire: test_wire_keyshares
#: recomputes them).
FIXED_SHARES: dict[int, bytes] = {
    NamedGroup.X25519: bytes.fromhex("cc77c60a51cd3e9fffd6f5f1e19d4dfef74750dc1de97914f70cb826847c6f08"),
    NamedGroup.SECP256R1: bytes.fromhex(
        "046b6e781cf8b08ea105216eea6fdaae968644f7df95385aee7d48132747ba51ef"
        "526e9dd104d776ba5b853b8b3e8acd7bfd1747f43b27989714e8c203830c09d6"
    ),
}
_CURVE_BITS: dict[int, int] = {
    NamedGroup.SECP256R1: 256,
    NamedGroup.SECP384R1: 384,
    NamedGroup.SECP521R1: 521,
}
_CURVE_ORDER_BYTES: dict[int, int] = {
    NamedGroup.SECP256R1: 32,
    NamedGroup.SECP384R1: 48,
    NamedGroup.SECP521R1: 66,
}
_MLKEM_Q = 3329  # FIPS 203 §2.3
_MLKEM_K = {512: 2, 768: 3, 1024: 4}


def expand(seed: bytes, label: str, n: int) -> bytes:
    """Deterministic bytes from a seed (SHAKE-256), separated by label."""
    return hashlib.shake_256(label.encode() + b"\x00" + seed).digest(n)


def fixed_share(group: int) -> bytes:
    """key_share_for(group, FIXED_SEED), without computing the common ones."""
    return FIXED_SHARES.get(group) or key_share_for(group, FIXED_SEED)


def _raw() -> tuple[serialization.Encoding, serialization.PublicFormat]:
    from cryptography.hazmat.primitives import serialization

    return serialization.Encoding.Raw, serialization.PublicFormat.Raw


def _ec_scalar(group: int, seed: bytes) -> int:
    """The private scalar behind :func:`_ec_point`: any scalar in [1, 2^(bits-1)] is below the group
    order n of these curves."""
    scalar = int.from_bytes(expand(seed, f"ec{group}", _CURVE_ORDER_BYTES[group] + 8), "big")
    return scalar % (1 << (_CURVE_BITS[group] - 1)) + 1


def _ec_point(group: int, seed: bytes) -> bytes:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    private = ec.derive_private_key(_ec_scalar(group, seed), _curve(group))
    return private.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


def _curve(group: int) -> ec.EllipticCurve:
    from cryptography.hazmat.primitives.asymmetric import ec

    return {256: ec.SECP256R1(), 384: ec.SECP384R1(), 521: ec.SECP521R1()}[_CURVE_BITS[group]]


def ecdhe_secret(group: int, private: bytes, peer_share: bytes) -> bytes:
    """RFC 8446 §7.4.2: X25519/X448 give the raw function output (an all-zero one is refused), the
    NIST curves the x-coordinate of the product. ``private``: the raw private key (X25519/X448)
    or the big-endian scalar. Raises ValueError for a share that is not a point of the group."""
    g = int(group)
    if g == NamedGroup.X25519:
        from cryptography.hazmat.primitives.asymmetric import x25519

        key = x25519.X25519PrivateKey.from_private_bytes(private)
        return key.exchange(x25519.X25519PublicKey.from_public_bytes(peer_share))
    if g == NamedGroup.X448:
        from cryptography.hazmat.primitives.asymmetric import x448

        key448 = x448.X448PrivateKey.from_private_bytes(private)
        return key448.exchange(x448.X448PublicKey.from_public_bytes(peer_share))
    if g in _CURVE_BITS:
        from cryptography.hazmat.primitives.asymmetric import ec

        curve = _curve(g)
        ec_key = ec.derive_private_key(int.from_bytes(private, "big"), curve)
        peer = ec.EllipticCurvePublicKey.from_encoded_point(curve, peer_share)
        return ec_key.exchange(ec.ECDH(), peer)
    raise ValueError(f"no ECDHE secret for group {NamedGroup(g)}")


def shared_secret(group: int, seed: bytes, peer_share: bytes) -> bytes | None:
    """The shared secret of our key share for ``group`` (the one :func:`key_share_for` sent for
    ``seed``) with the server's share; None for groups whose secret this module cannot compute:
    ML-KEM (a synthetic key has nothing to decapsulate with) and FFDHE (a random value below the
    prime has no known exponent). Raises ValueError for a share that is not a point of the group."""
    g = int(group)
    if g == NamedGroup.X25519:
        return ecdhe_secret(g, expand(seed, "x25519", 32), peer_share)
    if g == NamedGroup.X448:
        return ecdhe_secret(g, expand(seed, "x448", 56), peer_share)
    if g in _CURVE_BITS:
        size = _CURVE_ORDER_BYTES[g]
        return ecdhe_secret(g, _ec_scalar(g, seed).to_bytes(size, "big"), peer_share)
    return None


def _mlkem_encapsulation_key(level: int, seed: bytes) -> bytes:
    try:
        from cryptography.hazmat.primitives.asymmetric import mlkem  # cryptography >= 47
    except ImportError:
        return _synthetic_mlkem_key(level, seed)
    cls = {768: getattr(mlkem, "MLKEM768PrivateKey", None), 1024: getattr(mlkem, "MLKEM1024PrivateKey", None)}
    key_cls = cls.get(level)
    if key_cls is None:
        return _synthetic_mlkem_key(level, seed)
    private = key_cls.from_seed_bytes(expand(seed, f"mlkem{level}", 64))
    return bytes(private.public_key().public_bytes(*_raw()))


def _synthetic_mlkem_key(level: int, seed: bytes) -> bytes:
    """A FIPS 203 encapsulation key layout: k*256 coefficients < q packed 12 bits each
    (ByteEncode12, §4.2.1), then the 32-byte rho. Passes the §7.2 modulus check."""
    k = _MLKEM_K[level]
    raw = expand(seed, f"mlkem-synthetic{level}", 2 * 256 * k)
    coeffs = [int.from_bytes(raw[i : i + 2], "little") % _MLKEM_Q for i in range(0, len(raw), 2)]
    out = bytearray()
    for a, b in zip(coeffs[0::2], coeffs[1::2], strict=True):
        out += bytes((a & 0xFF, (a >> 8) | ((b & 0x0F) << 4), b >> 4))
    return bytes(out) + expand(seed, f"mlkem-rho{level}", 32)


def key_share_for(group: int, seed: bytes) -> bytes:
    """The ``key_exchange`` bytes a client sends for ``group`` (RFC 8446 §4.2.8.2,
    draft-ietf-tls-ecdhe-mlkem §3 for the hybrids' concatenation order).

    Raises ValueError for groups with no TLS 1.3 key share (our spec bug, not peer data).
    """
    g = int(group)
    if g == NamedGroup.X25519:
        from cryptography.hazmat.primitives.asymmetric import x25519

        return (
            x25519.X25519PrivateKey.from_private_bytes(expand(seed, "x25519", 32))
            .public_key()
            .public_bytes(*_raw())
        )
    if g == NamedGroup.X448:
        from cryptography.hazmat.primitives.asymmetric import x448

        private = x448.X448PrivateKey.from_private_bytes(expand(seed, "x448", 56))
        return private.public_key().public_bytes(*_raw())
    if g in _CURVE_BITS:
        return _ec_point(g, seed)
    if g in (NamedGroup.MLKEM512, NamedGroup.MLKEM768, NamedGroup.MLKEM1024):
        level = {NamedGroup.MLKEM512: 512, NamedGroup.MLKEM768: 768, NamedGroup.MLKEM1024: 1024}[
            NamedGroup(g)
        ]
        return _synthetic_mlkem_key(512, seed) if level == 512 else _mlkem_encapsulation_key(level, seed)
    if g in (NamedGroup.X25519MLKEM768, NamedGroup.X25519KYBER768DRAFT00):
        kem = _mlkem_encapsulation_key(768, seed)
        x = key_share_for(NamedGroup.X25519, seed)
        return kem + x if g == NamedGroup.X25519MLKEM768 else x + kem
    if g in (NamedGroup.SECP256R1MLKEM768, NamedGroup.SECP256R1KYBER768DRAFT00):
        return _ec_point(NamedGroup.SECP256R1, seed) + _mlkem_encapsulation_key(768, seed)
    if g == NamedGroup.SECP384R1MLKEM1024:
        return _ec_point(NamedGroup.SECP384R1, seed) + _mlkem_encapsulation_key(1024, seed)
    info = group_info(g)
    if info is not None and info.kind == "ffdhe":
        value = bytearray(expand(seed, f"ffdhe{g}", info.client_share))
        value[0] = 0x7F  # below every RFC 7919 prime (they start with 64 one bits)
        return bytes(value)
    raise ValueError(f"no key share for group {NamedGroup(g)}")
