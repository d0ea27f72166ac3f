"""A TLS 1.3 server's first flight, encrypted for real, and the ways a broken or hostile server spoils it.

The scan reads a TLS 1.3-only server's stapled OCSP response and SCTs by decrypting its flight with the
probe's own key share (wire/flight13.py). ``openssl s_server`` and nginx show the healthy case; this
server shows the rest, reproducibly: a record that does not decrypt (a flipped tag bit), random bytes in
place of the flight, a Certificate whose lengths run past its end (it decrypts, it does not parse), and a
Finished that does not match the transcript. The ServerHello answers the client's X25519 share with a
fresh key of its own, so only a client that knows its private share can read what follows.
"""

from __future__ import annotations

import hashlib
import os
import socket
from collections.abc import Callable, Sequence

from tlsdoctor.testing.base import close_gracefully
from tlsdoctor.testing.hostile import HostileServer
from tlsdoctor.testing.hostile_hello import (
    handshake_records,
    offered_versions,
    read_first_hello,
    shares,
)
from tlsdoctor.wire.codepoints import (
    AlertDescription,
    CompressionMethod,
    ContentType,
    HandshakeType,
    NamedGroup,
    ProtocolVersion,
)
from tlsdoctor.wire.extensions import Extension, KeyShareEntry, KeyShareServer, SupportedVersionsServer
from tlsdoctor.wire.flight13 import client_hellos
from tlsdoctor.wire.handshake import ClientHello, ServerHello, build_handshake, encode_server_hello
from tlsdoctor.wire.keyschedule import cipher_for, finished_verify_data, handshake_traffic_secrets, tls13_key
from tlsdoctor.wire.records import MAX_PLAINTEXT
from tlsdoctor.wire.registry import CipherSuite
from tlsdoctor.wire.server_messages import CertificateMessage, encode_certificate

V = ProtocolVersion
#: What can be wrong with the flight: nothing, a corrupt record, random bytes, a Certificate that does
#: not parse once decrypted, a Finished that does not verify.
FAULTS = ("", "bad-tag", "garbage", "bad-certificate", "bad-finished")
_CCS = b"\x14\x03\x03\x00\x01\x01"  # RFC 8446 §D.4: the middlebox-compatibility ChangeCipherSpec


def tls13_flight(
    sent: bytes,
    hello: ClientHello,
    chain: Sequence[bytes],
    *,
    leaf_extensions: tuple[Extension, ...] = (),
    fault: str = "",
    mangle: Callable[[bytes], bytes] | None = None,
    private_key: bytes | None = None,
) -> bytes | None:
    """The bytes a TLS 1.3 server sends after the ClientHello in ``sent`` (its records): ServerHello,
    ChangeCipherSpec, then EncryptedExtensions, Certificate (``leaf_extensions`` in the leaf's entry),
    CertificateVerify (an unchecked placeholder signature) and Finished in handshake-key records.
    None when the hello offers no TLS 1.3 suite or no X25519 share. ``mangle``: replaces the
    plaintext before it is encrypted (fuzzing what a client parses once it has decrypted);
    ``private_key``: the server's X25519 key (32 bytes) instead of a fresh one, for repeatable bytes."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import x25519

    if fault not in FAULTS:
        raise ValueError(f"unknown fault {fault!r}")
    # the client's first TLS 1.3 suite (RFC 8446 §B.4: 0x13xx) that has an AEAD here
    suite = next((int(s) for s in hello.cipher_suites if int(s) >> 8 == 0x13 and cipher_for(int(s))), None)
    cipher = cipher_for(suite) if suite is not None else None
    client_share = next((e for e in shares(hello) if e.group == NamedGroup.X25519), None)
    messages = client_hellos(sent)
    if cipher is None or suite is None or client_share is None or len(messages) != 1:
        return None
    if private_key is not None:
        private = x25519.X25519PrivateKey.from_private_bytes(private_key)
    else:
        private = x25519.X25519PrivateKey.generate()
    public = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    secret = private.exchange(x25519.X25519PublicKey.from_public_bytes(client_share.key_exchange))
    extensions = (SupportedVersionsServer(V.TLS1_3), KeyShareServer(KeyShareEntry(NamedGroup.X25519, public)))
    body = ServerHello(
        V.TLS1_2, os.urandom(32), hello.session_id, CipherSuite(suite), CompressionMethod.NULL, extensions
    )
    sh = build_handshake(HandshakeType.SERVER_HELLO, encode_server_hello(body))
    h = cipher.hash_name
    transcript = messages[0] + sh
    _, server_secret = handshake_traffic_secrets(h, secret, hashlib.new(h, transcript).digest())
    ee = build_handshake(HandshakeType.ENCRYPTED_EXTENSIONS, b"\x00\x00")
    if fault == "bad-certificate":  # a certificate_list length running 1000 bytes past the message
        cert = build_handshake(
            HandshakeType.CERTIFICATE, b"\x00" + (1000).to_bytes(3, "big") + b"\x00\x00\x01"
        )
    else:
        entries = (leaf_extensions,) + ((),) * (len(chain) - 1)
        cert = build_handshake(
            HandshakeType.CERTIFICATE, encode_certificate(CertificateMessage(tuple(chain), b"", entries))
        )
    signature = (0x0804).to_bytes(2, "big") + (256).to_bytes(2, "big") + bytes(256)  # rsa_pss_rsae_sha256
    cv = build_handshake(HandshakeType.CERTIFICATE_VERIFY, signature)
    transcript += ee + cert + cv
    verify = finished_verify_data(h, server_secret, hashlib.new(h, transcript).digest())
    if fault == "bad-finished":
        verify = bytes([verify[0] ^ 1]) + verify[1:]
    plaintext = ee + cert + cv + build_handshake(HandshakeType.FINISHED, verify)
    if mangle is not None:
        plaintext = mangle(plaintext) or b"\x00"
    key = tls13_key(cipher, server_secret)
    chunks = [plaintext[i : i + MAX_PLAINTEXT] for i in range(0, len(plaintext), MAX_PLAINTEXT)]
    records = b"".join(key.seal13(seq, ContentType.HANDSHAKE, chunk) for seq, chunk in enumerate(chunks))
    if fault == "bad-tag":
        records = records[:-1] + bytes([records[-1] ^ 0x80])
    elif fault == "garbage":
        noise = os.urandom(600)
        records = b"\x17\x03\x03" + len(noise).to_bytes(2, "big") + noise
    return handshake_records(V.TLS1_3, HandshakeType.SERVER_HELLO, encode_server_hello(body)) + _CCS + records


class Tls13FlightServer(HostileServer):
    """TLS 1.3 only: answers a ClientHello with a real encrypted flight (:func:`tls13_flight`) spoiled by
    ``fault``, and a TLS <= 1.2-only hello with a protocol_version alert. Never finishes a handshake."""

    def __init__(
        self, chain: Sequence[bytes], *, leaf_extensions: tuple[Extension, ...] = (), fault: str = ""
    ) -> None:
        super().__init__()
        self.chain = tuple(chain)
        self.leaf_extensions = leaf_extensions
        self.fault = fault

    def handle(self, conn: socket.socket) -> None:
        first = read_first_hello(conn, self.io_timeout)
        if first.tls is None:
            close_gracefully(conn)
            return
        flight = tls13_flight(
            first.raw, first.tls, self.chain, leaf_extensions=self.leaf_extensions, fault=self.fault
        )
        if flight is None:  # no TLS 1.3 at all, or nothing this server can answer it with
            tls13 = V.TLS1_3 in offered_versions(first.tls)
            self.refuse(
                conn, AlertDescription.HANDSHAKE_FAILURE if tls13 else AlertDescription.PROTOCOL_VERSION
            )
            return
        conn.sendall(flight)
        close_gracefully(conn)
