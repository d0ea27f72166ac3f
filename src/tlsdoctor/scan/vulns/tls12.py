"""Just enough TLS 1.2 cryptography to finish a real handshake, sans-IO: the PRF, the master
secret (RFC 7627 extended too), the key block, record protection (AEAD, and CBC with
MAC-then-encrypt for the TLS POODLE padding check) and Finished.

Two probes need a finished handshake and no stdlib API gives one that can be driven further:
Ticketbleed needs the server's session ticket (RFC 5077 §3.3, sent only after the client's
Finished) and client-initiated renegotiation needs a ClientHello sent *inside* the protected
connection, which Python's ``ssl`` cannot send. Only ECDHE key exchange is spoken, with AEAD
suites (what every TLS 1.2 server still has) or AES-CBC ones; certificates and signatures are not checked:
these are probes of the server's behaviour, not connections anyone trusts. The crafted servers
of ``tlsdoctor.testing.vulnerable`` use the same functions from the other end.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import os
import struct
from collections.abc import Callable
from typing import NamedTuple

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric import ec, x25519
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

from tlsdoctor.wire.codepoints import ContentType, HandshakeType, ProtocolVersion
from tlsdoctor.wire.handshake import build_handshake
from tlsdoctor.wire.reader import DecodeError, Reader


class Suite(NamedTuple):
    """How a suite protects records: ``gcm`` (RFC 5288: 4-byte implicit salt, 8-byte explicit
    nonce), ``chacha`` (RFC 7905: 12-byte IV xor the sequence number) or ``cbc`` (RFC 5246
    §6.2.3.2: HMAC over the plaintext, then padding, then AES-CBC under an explicit IV)."""

    hash_name: str  # the PRF's hash (RFC 5246 §5)
    key_len: int
    mode: str  # gcm | chacha | cbc
    mac_name: str = ""  # cbc: the record MAC's hash
    mac_len: int = 0

    @property
    def chacha(self) -> bool:
        return self.mode == "chacha"


AeadSuite = Suite  # the name the AEAD-only code used

# ECDHE suites this client can finish, server preference aside (RFC 5289, RFC 7905).
SUITES: dict[int, Suite] = {
    0xC02F: Suite("sha256", 16, "gcm"),  # TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
    0xC02B: Suite("sha256", 16, "gcm"),  # TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
    0xC030: Suite("sha384", 32, "gcm"),  # TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384
    0xC02C: Suite("sha384", 32, "gcm"),  # TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384
    0xCCA8: Suite("sha256", 32, "chacha"),  # TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256
    0xCCA9: Suite("sha256", 32, "chacha"),  # TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
}
# The CBC ones (RFC 4492, RFC 5289): MAC-then-encrypt, whose padding TLS POODLE is about.
CBC_SUITES: dict[int, Suite] = {
    0xC013: Suite("sha256", 16, "cbc", "sha1", 20),  # TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA
    0xC009: Suite("sha256", 16, "cbc", "sha1", 20),  # TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA
    0xC014: Suite("sha256", 32, "cbc", "sha1", 20),  # TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA
    0xC00A: Suite("sha256", 32, "cbc", "sha1", 20),  # TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA
    0xC027: Suite("sha256", 16, "cbc", "sha256", 32),  # TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256
    0xC023: Suite("sha256", 16, "cbc", "sha256", 32),  # TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256
    0xC028: Suite("sha384", 32, "cbc", "sha384", 48),  # TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384
    0xC024: Suite("sha384", 32, "cbc", "sha384", 48),  # TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384
}
# RSA key transport (RFC 5246, RFC 5288): not offered by the probes' full handshakes (no forward
# secrecy to test), spoken by the crafted servers so real clients can finish with them.
RSA_SUITES: dict[int, Suite] = {
    0x009C: Suite("sha256", 16, "gcm"),  # TLS_RSA_WITH_AES_128_GCM_SHA256
    0x009D: Suite("sha384", 32, "gcm"),  # TLS_RSA_WITH_AES_256_GCM_SHA384
    0x002F: Suite("sha256", 16, "cbc", "sha1", 20),  # TLS_RSA_WITH_AES_128_CBC_SHA
    0x0035: Suite("sha256", 32, "cbc", "sha1", 20),  # TLS_RSA_WITH_AES_256_CBC_SHA
    0x003C: Suite("sha256", 16, "cbc", "sha256", 32),  # TLS_RSA_WITH_AES_128_CBC_SHA256
}
ALL_SUITES = {**SUITES, **CBC_SUITES, **RSA_SUITES}
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
    # SEC 1 §2.3.3 uncompressed point (0x04 || X || Y), what X9.62 encoding gives, built from the
    # numbers: cryptography's serialization module (with its SSH codecs) stays unloaded.
    numbers, size = key.public_key().public_numbers(), (curve.key_size + 7) // 8
    point = b"\x04" + numbers.x.to_bytes(size, "big") + numbers.y.to_bytes(size, "big")

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


def master_secret(suite: Suite, pms: bytes, client_random: bytes, server_random: bytes,
                  session_hash: bytes | None) -> bytes:  # fmt: skip
    """RFC 5246 §8.1, or RFC 7627 §4 when the extended master secret was agreed."""
    if session_hash is not None:
        return prf(suite.hash_name, pms, b"extended master secret", session_hash, 48)
    return prf(suite.hash_name, pms, b"master secret", client_random + server_random, 48)


def verify_data(suite: Suite, master: bytes, sender: str, transcript: bytes) -> bytes:
    """RFC 5246 §7.4.9: 12 bytes over the hash of every handshake message so far."""
    digest = hashlib.new(suite.hash_name, transcript).digest()
    return prf(suite.hash_name, master, f"{sender} finished".encode(), digest, 12)


def finished(data: bytes) -> bytes:
    return build_handshake(HandshakeType.FINISHED, data)


@dataclasses.dataclass(slots=True)
class RecordProtection:
    """One direction's state (RFC 5246 §6.2.3): keys, IV and the sequence number.
    ``lax_padding``: a CBC receiver that checks only the padding length byte, not the padding
    bytes (the TLS POODLE flaw, CVE-2014-8730), for the crafted servers."""

    suite: Suite
    key: bytes
    iv: bytes
    seq: int = 0
    mac_key: bytes = b""
    lax_padding: bool = False

    def _nonce(self) -> tuple[bytes, bytes]:
        """(nonce, explicit part sent in the record)."""
        seq = struct.pack(">Q", self.seq)
        if self.suite.chacha:
            pad = bytes(4) + seq
            return bytes(a ^ b for a, b in zip(self.iv, pad, strict=True)), b""
        return self.iv + seq, seq

    def _aead(self) -> AESGCM | ChaCha20Poly1305:
        return ChaCha20Poly1305(self.key) if self.suite.chacha else AESGCM(self.key)

    def _mac(self, content_type: int, version: int, plaintext: bytes) -> bytes:
        head = struct.pack(">QBHH", self.seq, content_type, version, len(plaintext))
        return hmac.new(self.mac_key, head + plaintext, self.suite.mac_name).digest()

    def seal(
        self, content_type: int, plaintext: bytes, version: int = TLS12, *, bad_padding: bool = False
    ) -> bytes:
        """One protected record carrying ``plaintext``; ``bad_padding`` (CBC): padding bytes that
        are not all the padding length, which RFC 5246 §6.2.3.2 has the receiver refuse."""
        if self.suite.mode == "cbc":
            return self._seal_cbc(content_type, plaintext, version, bad_padding)
        nonce, explicit = self._nonce()
        aad = struct.pack(">QBHH", self.seq, content_type, version, len(plaintext))
        body = explicit + self._aead().encrypt(nonce, plaintext, aad)
        self.seq += 1
        return struct.pack(">BHH", content_type, version, len(body)) + body

    def _seal_cbc(self, content_type: int, plaintext: bytes, version: int, bad_padding: bool) -> bytes:
        data = plaintext + self._mac(content_type, version, plaintext)
        n = -(len(data) + 1) % 16  # padding bytes, besides the length byte
        if bad_padding:  # at least one padding byte, none of them equal to the length
            n = n or 16
            padding = bytes((n + 1 + i) % 256 for i in range(n))
        else:
            padding = bytes([n]) * n
        iv = os.urandom(16)
        encryptor = Cipher(algorithms.AES(self.key), modes.CBC(iv)).encryptor()
        body = iv + encryptor.update(data + padding + bytes([n])) + encryptor.finalize()
        self.seq += 1
        return struct.pack(">BHH", content_type, version, len(body)) + body

    def _open_cbc(self, content_type: int, fragment: bytes, version: int) -> bytes:
        """RFC 5246 §6.2.3.2; every failure is bad_record_mac (RFC 5246 §7.2.2), as it must be."""
        size = self.suite.mac_len
        smallest = 16 + (size + 16) // 16 * 16  # the IV, then MAC + length byte in whole blocks
        if len(fragment) % 16 or not smallest <= len(fragment) <= MAX_CIPHERTEXT:
            raise DecodeError(0, "record.fragment", f"{len(fragment)} bytes cannot be a CBC record")
        decryptor = Cipher(algorithms.AES(self.key), modes.CBC(fragment[:16])).decryptor()
        data = decryptor.update(fragment[16:]) + decryptor.finalize()
        n = data[-1]
        good = n + 1 + size <= len(data) and (self.lax_padding or data[-n - 1 :] == bytes([n]) * (n + 1))
        plain = data[: len(data) - n - 1 - size] if good else b""
        mac = data[len(plain) : len(plain) + size]
        if not good or not hmac.compare_digest(mac, self._mac(content_type, version, plain)):
            raise DecodeError(0, "record.fragment", "the record does not authenticate (bad_record_mac)")
        self.seq += 1
        return plain

    def open(self, content_type: int, fragment: bytes, version: int = TLS12) -> bytes:
        """The plaintext of one protected record; DecodeError when it does not authenticate."""
        if self.suite.mode == "cbc":
            return self._open_cbc(content_type, fragment, version)
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


def key_block(suite: Suite, master: bytes, client_random: bytes, server_random: bytes
              ) -> tuple[RecordProtection, RecordProtection]:  # fmt: skip
    """RFC 5246 §6.3: (client write, server write) protection; AEAD suites have no MAC keys,
    TLS 1.2 CBC ones no IVs (each record carries its own)."""
    if suite.mode == "cbc":
        m, k = suite.mac_len, suite.key_len
        block = prf(suite.hash_name, master, b"key expansion", server_random + client_random, 2 * (m + k))
        client = RecordProtection(suite, block[2 * m : 2 * m + k], b"", mac_key=block[:m])
        server = RecordProtection(suite, block[2 * m + k : 2 * m + 2 * k], b"", mac_key=block[m : 2 * m])
        return client, server
    iv_len = 12 if suite.chacha else 4
    block = prf(suite.hash_name, master, b"key expansion", server_random + client_random,
                2 * suite.key_len + 2 * iv_len)  # fmt: skip
    k = suite.key_len
    client = RecordProtection(suite, block[:k], block[2 * k : 2 * k + iv_len])
    server = RecordProtection(suite, block[k : 2 * k], block[2 * k + iv_len : 2 * k + 2 * iv_len])
    return client, server


CHANGE_CIPHER_SPEC = bytes([ContentType.CHANGE_CIPHER_SPEC]) + TLS12.to_bytes(2, "big") + b"\x00\x01\x01"
