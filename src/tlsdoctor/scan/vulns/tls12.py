"""Just enough TLS 1.2 cryptography to finish a real handshake, sans-IO: the PRF, the master
secret (RFC 7627 extended too), the key block, AEAD record protection and Finished.

Two probes need a finished handshake and no stdlib API gives one that can be driven further:
Ticketbleed needs the server's session ticket (RFC 5077 §3.3, sent only after the client's
Finished) and client-initiated renegotiation needs a ClientHello sent *inside* the protected
connection, which Python's ``ssl`` cannot send. Only ECDHE key exchange with AEAD suites is
spoken (what every TLS 1.2 server still has); certificates and signatures are not checked:
these are probes of the server's behaviour, not connections anyone trusts. The crafted servers
of ``tlsdoctor.testing.vulnerable`` use the same functions from the other end.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import struct
from collections.abc import Callable
from typing import NamedTuple

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

from tlsdoctor.wire.codepoints import ContentType, HandshakeType, ProtocolVersion
from tlsdoctor.wire.handshake import build_handshake
from tlsdoctor.wire.reader import DecodeError, Reader


class AeadSuite(NamedTuple):
    """RFC 5288 (AES-GCM: 4-byte implicit salt, 8-byte explicit nonce) or RFC 7905 (ChaCha20:
    12-byte IV xor the sequence number, no explicit part)."""

    hash_name: str
    key_len: int
    chacha: bool


# ECDHE suites this client can finish, server preference aside (RFC 5289, RFC 7905).
SUITES: dict[int, AeadSuite] = {
    0xC02F: AeadSuite("sha256", 16, False),  # TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
    0xC02B: AeadSuite("sha256", 16, False),  # TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
    0xC030: AeadSuite("sha384", 32, False),  # TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384
    0xC02C: AeadSuite("sha384", 32, False),  # TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384
    0xCCA8: AeadSuite("sha256", 32, True),  # TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256
    0xCCA9: AeadSuite("sha256", 32, True),  # TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
}
GROUPS = (0x001D, 0x0017, 0x0018)  # x25519, secp256r1, secp384r1
_CURVES: dict[int, ec.EllipticCurve] = {0x0017: ec.SECP256R1(), 0x0018: ec.SECP384R1()}
TLS12 = ProtocolVersion.TLS1_2
MAX_CIPHERTEXT = 2**14 + 256  # RFC 5246 §6.2.3


def prf(hash_name: str, secret: bytes, label: bytes, seed: bytes, size: int) -> bytes:
    """RFC 5246 §5: P_hash(secret, label + seed), cut to ``size`` bytes."""
    seed = label + seed
    out = b""
    a = seed
    while len(out) < size:
        a = hmac.new(secret, a, hash_name).digest()
        out += hmac.new(secret, a + seed, hash_name).digest()
    return out[:size]


class KeyShare(NamedTuple):
    """One side's ephemeral ECDH key: ``public`` as sent on the wire, ``agree`` the other side's
    public value -> the shared secret (the pre-master secret, RFC 8422 §5.10)."""

    group: int
    public: bytes
    agree: Callable[[bytes], bytes]


def key_share(group: int) -> KeyShare:
    """A fresh ephemeral key for ``group`` (one of :data:`GROUPS`)."""
    if group == 0x001D:
        xkey = x25519.X25519PrivateKey.generate()
        raw = xkey.public_key().public_bytes_raw()
        return KeyShare(
            group, raw, lambda peer: xkey.exchange(x25519.X25519PublicKey.from_public_bytes(peer))
        )
    curve = _CURVES[group]
    key = ec.generate_private_key(curve)
    point = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )

    def agree(peer: bytes) -> bytes:
        return key.exchange(ec.ECDH(), ec.EllipticCurvePublicKey.from_encoded_point(curve, peer))

    return KeyShare(group, point, agree)


def parse_ecdhe_params(ske_body: bytes) -> tuple[int, bytes]:
    """The named group and public point of an ECDHE ServerKeyExchange (RFC 8422 §5.4)."""
    r = Reader(ske_body)
    if r.u8("ServerKeyExchange.curve_type") != 3:
        raise r.fail("ServerKeyExchange.curve_type", "not a named curve")
    group = r.u16("ServerKeyExchange.named_curve")
    return group, r.vector(1, "ServerKeyExchange.public", min_len=1)


def ecdhe_params(group: int, public: bytes) -> bytes:
    """The unsigned part of an ECDHE ServerKeyExchange (RFC 8422 §5.4)."""
    return b"\x03" + group.to_bytes(2, "big") + bytes([len(public)]) + public


def master_secret(suite: AeadSuite, pms: bytes, client_random: bytes, server_random: bytes,
                  session_hash: bytes | None) -> bytes:  # fmt: skip
    """RFC 5246 §8.1, or RFC 7627 §4 when the extended master secret was agreed."""
    if session_hash is not None:
        return prf(suite.hash_name, pms, b"extended master secret", session_hash, 48)
    return prf(suite.hash_name, pms, b"master secret", client_random + server_random, 48)


def verify_data(suite: AeadSuite, master: bytes, sender: str, transcript: bytes) -> bytes:
    """RFC 5246 §7.4.9: 12 bytes over the hash of every handshake message so far."""
    digest = hashlib.new(suite.hash_name, transcript).digest()
    return prf(suite.hash_name, master, f"{sender} finished".encode(), digest, 12)


def finished(data: bytes) -> bytes:
    return build_handshake(HandshakeType.FINISHED, data)


@dataclasses.dataclass(slots=True)
class RecordProtection:
    """One direction's AEAD state (RFC 5246 §6.2.3.3): key, IV and the sequence number."""

    suite: AeadSuite
    key: bytes
    iv: bytes
    seq: int = 0

    def _nonce(self) -> tuple[bytes, bytes]:
        """(nonce, explicit part sent in the record)."""
        seq = struct.pack(">Q", self.seq)
        if self.suite.chacha:
            pad = bytes(4) + seq
            return bytes(a ^ b for a, b in zip(self.iv, pad, strict=True)), b""
        return self.iv + seq, seq

    def _aead(self) -> AESGCM | ChaCha20Poly1305:
        return ChaCha20Poly1305(self.key) if self.suite.chacha else AESGCM(self.key)

    def seal(self, content_type: int, plaintext: bytes, version: int = TLS12) -> bytes:
        """One protected record carrying ``plaintext``."""
        nonce, explicit = self._nonce()
        aad = struct.pack(">QBHH", self.seq, content_type, version, len(plaintext))
        body = explicit + self._aead().encrypt(nonce, plaintext, aad)
        self.seq += 1
        return struct.pack(">BHH", content_type, version, len(body)) + body

    def open(self, content_type: int, fragment: bytes, version: int = TLS12) -> bytes:
        """The plaintext of one protected record; DecodeError when it does not authenticate."""
        explicit = 0 if self.suite.chacha else 8
        if not 16 + explicit <= len(fragment) <= MAX_CIPHERTEXT:
            raise DecodeError(0, "record.fragment", f"{len(fragment)} bytes cannot be an AEAD record")
        nonce, _ = self._nonce()
        if explicit:
            nonce = self.iv + fragment[:8]
        size = len(fragment) - explicit - 16
        aad = struct.pack(">QBHH", self.seq, content_type, version, size)
        try:
            plain = self._aead().decrypt(nonce, fragment[explicit:], aad)
        except InvalidTag:
            raise DecodeError(
                0, "record.fragment", "the record does not authenticate (bad_record_mac)"
            ) from None
        self.seq += 1
        return plain


def key_block(suite: AeadSuite, master: bytes, client_random: bytes, server_random: bytes
              ) -> tuple[RecordProtection, RecordProtection]:  # fmt: skip
    """RFC 5246 §6.3: (client write, server write) protection; AEAD suites have no MAC keys."""
    iv_len = 12 if suite.chacha else 4
    block = prf(suite.hash_name, master, b"key expansion", server_random + client_random,
                2 * suite.key_len + 2 * iv_len)  # fmt: skip
    k = suite.key_len
    client = RecordProtection(suite, block[:k], block[2 * k : 2 * k + iv_len])
    server = RecordProtection(suite, block[k : 2 * k], block[2 * k + iv_len : 2 * k + 2 * iv_len])
    return client, server


CHANGE_CIPHER_SPEC = bytes([ContentType.CHANGE_CIPHER_SPEC]) + TLS12.to_bytes(2, "big") + b"\x00\x01\x01"
