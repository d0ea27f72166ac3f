"""The TLS key schedules and record protection (pure: bytes in, bytes out), shared by the scan's
TLS 1.3 probe (wire/flight13.py: its own hello's secrets) and pcap (pcap/decrypt.py: a key log's).

TLS 1.3: an (EC)DHE shared secret gives the handshake secret and the handshake traffic secrets
over the transcript hash (RFC 8446 §7.1); each traffic secret gives a key and an IV by
HKDF-Expand-Label (§7.1, §7.3); a record is AEAD-opened with the IV XOR its sequence number as
nonce and its 5-byte header as additional data (§5.2, §5.3), and the inner content type is the
last non-zero byte (§5.4). HKDF (RFC 5869) is computed with the standard library's HMAC.
TLS 1.2: the master secret gives the key block by the PRF (RFC 5246 §5, §6.3); only AEAD
suites are supported: AES-GCM (RFC 5288: 4-byte salt + 8-byte explicit nonce), AES-CCM
(RFC 6655, same layout) and ChaCha20-Poly1305 (RFC 7905: IV XOR sequence number), with the
sequence number, type, version and plaintext length as additional data (RFC 5246 §6.2.3.3).
CBC suites would need the MAC check to be trusted and are refused by :func:`cipher_for`.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from typing import NamedTuple

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESCCM, AESGCM, ChaCha20Poly1305

from .registry import CipherSuiteInfo, suite_info

__all__ = [
    "Cipher",
    "InvalidTag",
    "RecordKey",
    "cipher_for",
    "derive_secret",
    "finished_verify_data",
    "handshake_traffic_secrets",
    "hkdf_expand",
    "hkdf_expand_label",
    "hkdf_extract",
    "message_hash",
    "next_traffic_secret",
    "tls12_keys",
    "tls12_prf",
    "tls13_key",
]

_Aead = AESGCM | AESCCM | ChaCha20Poly1305


class Cipher(NamedTuple):
    """An AEAD as a record layer uses it."""

    name: str
    key_len: int
    tag_len: int
    make: Callable[[bytes], _Aead]
    tls12_salt: int  # TLS 1.2 fixed IV bytes (client_write_IV length)
    tls12_explicit: int  # TLS 1.2 per-record explicit nonce bytes
    hash_name: str  # the suite's hash: HKDF (1.3) or PRF (1.2)

    @property
    def hash_len(self) -> int:
        return hashlib.new(self.hash_name).digest_size


def _ccm(tag: int) -> Callable[[bytes], _Aead]:
    return lambda key: AESCCM(key, tag_length=tag)


# cipher name (registry spelling) -> key length, tag length, constructor, TLS 1.2 nonce layout
_AEADS: dict[str, tuple[int, int, Callable[[bytes], _Aead], int, int]] = {
    "AES_128_GCM": (16, 16, AESGCM, 4, 8),
    "AES_256_GCM": (32, 16, AESGCM, 4, 8),
    "CHACHA20_POLY1305": (32, 16, ChaCha20Poly1305, 12, 0),
    "AES_128_CCM": (16, 16, _ccm(16), 4, 8),
    "AES_256_CCM": (32, 16, _ccm(16), 4, 8),
    "AES_128_CCM_8": (16, 8, _ccm(8), 4, 8),
    "AES_256_CCM_8": (32, 8, _ccm(8), 4, 8),
}


def cipher_for(suite: int) -> Cipher | None:
    """The AEAD of ``suite``, or None when it is not one we decrypt (CBC, RC4, NULL, unknown)."""
    info: CipherSuiteInfo | None = suite_info(suite)
    if info is None or info.cipher not in _AEADS:
        return None
    key_len, tag_len, make, salt, explicit = _AEADS[info.cipher]
    # The suite's hash is its name's last word (RFC 8446 §B.4; RFC 5288 / 5289 for TLS 1.2);
    # CCM suites of RFC 6655 name none and use the TLS 1.2 default, SHA-256.
    hash_name = "sha384" if info.iana_name.endswith("_SHA384") else "sha256"
    return Cipher(info.iana_name, key_len, tag_len, make, salt, explicit, hash_name)


def hkdf_extract(hash_name: str, salt: bytes, ikm: bytes) -> bytes:
    """RFC 5869 §2.2: PRK = HMAC-Hash(salt, IKM); an empty salt is HashLen zero bytes."""
    return hmac.digest(salt or bytes(hashlib.new(hash_name).digest_size), ikm, hash_name)


def hkdf_expand(hash_name: str, prk: bytes, info: bytes, length: int) -> bytes:
    """RFC 5869 §2.3: T(i) = HMAC-Hash(PRK, T(i-1) | info | i), the first ``length`` bytes."""
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.digest(prk, block + info + bytes([counter]), hash_name)
        out += block
        counter += 1
    return out[:length]


def hkdf_expand_label(hash_name: str, secret: bytes, label: bytes, context: bytes, length: int) -> bytes:
    """RFC 8446 §7.1: HKDF-Expand(Secret, HkdfLabel, Length), HkdfLabel = uint16 length,
    opaque label<7..255> = "tls13 " + Label, opaque context<0..255>."""
    full = b"tls13 " + label
    info = length.to_bytes(2, "big") + bytes([len(full)]) + full + bytes([len(context)]) + context
    return hkdf_expand(hash_name, secret, info, length)


def derive_secret(hash_name: str, secret: bytes, label: bytes, transcript_hash: bytes) -> bytes:
    """RFC 8446 §7.1: Derive-Secret(Secret, Label, Messages), given Transcript-Hash(Messages)."""
    return hkdf_expand_label(hash_name, secret, label, transcript_hash, hashlib.new(hash_name).digest_size)


def handshake_traffic_secrets(hash_name: str, shared_secret: bytes, hello_hash: bytes) -> tuple[bytes, bytes]:
    """(client, server) handshake traffic secrets of a full handshake without PSK (RFC 8446 §7.1):
    Early Secret = HKDF-Extract(0, 0); Handshake Secret = HKDF-Extract(Derive-Secret(Early Secret,
    "derived", ""), (EC)DHE); then "c hs traffic" and "s hs traffic" over Transcript-Hash(ClientHello
    ..ServerHello) (``hello_hash``)."""
    zeros = bytes(hashlib.new(hash_name).digest_size)
    early = hkdf_extract(hash_name, zeros, zeros)
    empty = hashlib.new(hash_name, b"").digest()
    handshake = hkdf_extract(hash_name, derive_secret(hash_name, early, b"derived", empty), shared_secret)
    return (
        derive_secret(hash_name, handshake, b"c hs traffic", hello_hash),
        derive_secret(hash_name, handshake, b"s hs traffic", hello_hash),
    )


def message_hash(hash_name: str, client_hello: bytes) -> bytes:
    """RFC 8446 §4.4.1: after a HelloRetryRequest, the first ClientHello (a handshake message) stands
    in the transcript as a synthetic message_hash message: type 254, length, Hash(ClientHello1)."""
    digest = hashlib.new(hash_name, client_hello).digest()
    return bytes([254, 0, 0, len(digest)]) + digest


def finished_verify_data(hash_name: str, base_key: bytes, transcript_hash: bytes) -> bytes:
    """RFC 8446 §4.4.4: HMAC(finished_key, Transcript-Hash(... CertificateVerify)), finished_key
    = HKDF-Expand-Label(BaseKey, "finished", "", Hash.length)."""
    size = hashlib.new(hash_name).digest_size
    finished_key = hkdf_expand_label(hash_name, base_key, b"finished", b"", size)
    return hmac.digest(finished_key, transcript_hash, hash_name)


def next_traffic_secret(cipher: Cipher, secret: bytes) -> bytes:
    """RFC 8446 §7.2: application_traffic_secret_N+1 after a KeyUpdate."""
    return hkdf_expand_label(cipher.hash_name, secret, b"traffic upd", b"", cipher.hash_len)


class RecordKey:
    """One direction's AEAD key and IV at one epoch; opens records by sequence number."""

    __slots__ = ("_aead", "_iv", "_salt", "cipher", "secret")

    def __init__(self, cipher: Cipher, key: bytes, iv: bytes, secret: bytes = b"") -> None:
        self.cipher = cipher
        self.secret = secret  # the TLS 1.3 traffic secret, kept to derive the next one
        self._aead = cipher.make(key)
        self._iv = int.from_bytes(iv, "big") if len(iv) == 12 else 0
        self._salt = iv if len(iv) != 12 else b""

    def _xor_nonce(self, seq: int) -> bytes:
        return (self._iv ^ seq).to_bytes(12, "big")

    def open13(self, seq: int, header: bytes, fragment: bytes) -> bytes:
        """TLSCiphertext -> TLSInnerPlaintext (RFC 8446 §5.2); raises InvalidTag."""
        return self._aead.decrypt(self._xor_nonce(seq), fragment, header)

    def seal13(self, seq: int, content_type: int, content: bytes) -> bytes:
        """TLSInnerPlaintext -> a whole TLSCiphertext record (RFC 8446 §5.2), for test servers that
        speak TLS 1.3 to the probes."""
        size = len(content) + 1 + self.cipher.tag_len
        header = b"\x17\x03\x03" + size.to_bytes(2, "big")
        return header + self._aead.encrypt(self._xor_nonce(seq), content + bytes([content_type]), header)

    def open12(self, seq: int, content_type: int, version: int, fragment: bytes) -> bytes:
        """GenericAEADCipher -> plaintext (RFC 5246 §6.2.3.3); raises InvalidTag."""
        c = self.cipher
        if c.tls12_explicit:
            if len(fragment) < c.tls12_explicit + c.tag_len:
                raise InvalidTag
            nonce, body = self._salt + fragment[: c.tls12_explicit], fragment[c.tls12_explicit :]
        else:
            if len(fragment) < c.tag_len:
                raise InvalidTag
            nonce, body = self._xor_nonce(seq), fragment
        aad = seq.to_bytes(8, "big") + bytes([content_type]) + version.to_bytes(2, "big")
        aad += (len(body) - c.tag_len).to_bytes(2, "big")
        return self._aead.decrypt(nonce, body, aad)


def tls13_key(cipher: Cipher, secret: bytes) -> RecordKey:
    """RFC 8446 §7.3: [sender]_write_key and _iv from a traffic secret."""
    key = hkdf_expand_label(cipher.hash_name, secret, b"key", b"", cipher.key_len)
    iv = hkdf_expand_label(cipher.hash_name, secret, b"iv", b"", 12)
    return RecordKey(cipher, key, iv, secret)


def tls12_prf(hash_name: str, secret: bytes, label: bytes, seed: bytes, length: int) -> bytes:
    """RFC 5246 §5: PRF(secret, label, seed) = P_<hash>(secret, label + seed)."""
    seed = label + seed
    out, a = b"", seed
    while len(out) < length:
        a = hmac.digest(secret, a, hash_name)
        out += hmac.digest(secret, a + seed, hash_name)
    return out[:length]


def tls12_keys(
    cipher: Cipher, master_secret: bytes, client_random: bytes, server_random: bytes
) -> tuple[RecordKey, RecordKey]:
    """(client write, server write) keys from the key block (RFC 5246 §6.3); AEAD suites have
    no MAC keys, so the block is client key, server key, client IV, server IV."""
    n, s = cipher.key_len, cipher.tls12_salt
    block = tls12_prf(
        cipher.hash_name, master_secret, b"key expansion", server_random + client_random, 2 * (n + s)
    )
    client_key, server_key = block[:n], block[n : 2 * n]
    client_iv, server_iv = block[2 * n : 2 * n + s], block[2 * n + s :]
    return RecordKey(cipher, client_key, client_iv), RecordKey(cipher, server_key, server_iv)
