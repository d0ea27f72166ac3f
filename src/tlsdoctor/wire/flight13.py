"""A TLS 1.3 server's encrypted first flight, read with the probe's own key share (sans-IO).

A scan probe never finishes a handshake, and its ClientHello's key shares come from a published
seed (wire/keyshares.py), so the client's half of the (EC)DHE exchange is known. With the
server's share from its ServerHello that gives the server handshake traffic secret (RFC 8446
§7.1), and the server's EncryptedExtensions, Certificate (with each entry's stapled OCSP response
and SCT list, §4.4.2.1), CertificateVerify and Finished read like a TLS 1.2 flight. The server's
Finished is checked (§4.4.4): it proves that the transcript, and so every byte read, is what
the server meant. Only the server's handshake flight is opened; no Finished is ever sent.

wire/conversation.py drives this: :func:`client_hellos` takes the hello messages out of what was
sent, :func:`start` keys a :class:`FlightReader` at the ServerHello, or says why it cannot.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .codepoints import ContentType, ExtensionType, HandshakeType
from .extensions import KeyShareServer
from .handshake import HandshakeReassembler, ServerHello
from .keyshares import shared_secret
from .reader import DecodeError
from .registry import group_name, suite_name

if TYPE_CHECKING:
    from .keyschedule import RecordKey  # cryptography's AEADs: imported when a flight is read

__all__ = ["FlightReader", "client_hellos", "start"]


def client_hellos(payload: bytes) -> list[bytes]:
    """The ClientHello handshake messages (type, length, body) in the records of ``payload``;
    [] for bytes that are not whole TLS handshake records (an SSLv2 hello, a STARTTLS line)."""
    fragments, i = bytearray(), 0
    while i + 5 <= len(payload) and payload[i] == ContentType.HANDSHAKE:
        n = int.from_bytes(payload[i + 3 : i + 5], "big")
        fragments += payload[i + 5 : i + 5 + n]
        i += 5 + n
    reassembler = HandshakeReassembler()
    reassembler.feed(bytes(fragments))
    out: list[bytes] = []
    try:
        while (msg := reassembler.next_message()) is not None:
            if msg.msg_type == HandshakeType.CLIENT_HELLO:
                out.append(_message(msg.msg_type, msg.body))
    except DecodeError:
        return out
    return out


def _message(msg_type: int, body: bytes) -> bytes:
    return bytes([msg_type]) + len(body).to_bytes(3, "big") + body


class FlightReader:
    """The server's handshake key and the running transcript of one connection."""

    __slots__ = ("_base", "_hash", "_key", "_seq", "cipher_name", "group")

    def __init__(
        self, hash_name: str, transcript: bytes, key: RecordKey, base: bytes, names: tuple[str, str]
    ) -> None:
        self._key = key
        self._base = base  # server_handshake_traffic_secret: the Finished key's base (§4.4.4)
        self._hash = hashlib.new(hash_name, transcript)
        self._seq = 0
        self.cipher_name, self.group = names

    def open(self, content_type: int, version: int, fragment: bytes) -> tuple[int, bytes] | None:
        """(inner content type, content) of the next protected record (RFC 8446 §5.2, §5.4), or
        None when it does not open with the handshake key (a wrong transcript, a corrupt record)."""
        from .keyschedule import InvalidTag

        header = bytes([content_type]) + version.to_bytes(2, "big") + len(fragment).to_bytes(2, "big")
        try:
            inner = self._key.open13(self._seq, header, fragment)
        except InvalidTag:
            return None
        self._seq += 1
        content = inner.rstrip(b"\0")
        if not content:
            return None  # §5.4: all zeros, no content type: a peer error like a bad tag
        return content[-1], content[:-1]

    def add(self, msg_type: int, body: bytes) -> None:
        """A decrypted handshake message joins the transcript (§4.4.1)."""
        self._hash.update(_message(msg_type, body))

    def finished(self, verify_data: bytes) -> bool:
        """The server's Finished matches the transcript so far (§4.4.4); it then joins it."""
        from .keyschedule import finished_verify_data

        expected = finished_verify_data(self._hash.name, self._base, self._hash.copy().digest())
        self.add(HandshakeType.FINISHED, verify_data)
        return hmac.compare_digest(expected, verify_data)


def start(
    sent: Sequence[bytes], hrr: bytes | None, server_hello: bytes, hello: ServerHello, seed: bytes
) -> FlightReader | str:
    """The reader of the flight after ``hello`` (``server_hello``: its message bytes), or why there
    is none. ``sent``: the ClientHello messages sent, in order; ``hrr``: the HelloRetryRequest
    message between them, if any (its transcript starts with message_hash, §4.4.1)."""
    from .keyschedule import cipher_for, handshake_traffic_secrets, message_hash, tls13_key

    suite = int(hello.cipher_suite)
    cipher = cipher_for(suite)
    if cipher is None:
        return f"cipher suite {suite_name(suite)} is not one this tool decrypts"
    group = hello.key_share_group
    if group is None:
        return "the ServerHello has no key_share (a PSK-only handshake?)"
    share = hello.extension(ExtensionType.KEY_SHARE)
    if not isinstance(share, KeyShareServer):
        return "the ServerHello's key_share is not a server share"
    try:
        secret = shared_secret(int(group), seed, share.entry.key_exchange)
    except ValueError as exc:
        return f"the server's {group_name(int(group))} key share is not a valid public key ({exc})"
    if secret is None:
        return f"the server chose {group_name(int(group))}, whose shared secret this tool cannot compute"
    expected = 2 if hrr is not None else 1
    if len(sent) != expected:
        return f"{len(sent)} ClientHello message(s) seen where the transcript needs {expected}"
    h = cipher.hash_name
    first = message_hash(h, sent[0]) + hrr if hrr is not None else sent[0]
    transcript = first + b"".join(sent[1:]) + server_hello
    _, server_secret = handshake_traffic_secrets(h, secret, hashlib.new(h, transcript).digest())
    return FlightReader(
        h, transcript, tls13_key(cipher, server_secret), server_secret, (cipher.name, group_name(int(group)))
    )
