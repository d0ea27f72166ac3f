"""Well-known clients as their recorded ClientHellos, and how each is replayed.

"Would Java 8 connect?" is answered by sending Java 8's own first flight, byte for byte, not a hello
we compose from a list of its suites: real hellos carry the extension order, GREASE, padding and
legacy quirks (an SSLv2-format hello from IE 6) that decide what a server or a middlebox does with
them. The recordings live in ``profiles.toml`` (made by ``scripts/client_profiles.py``, each entry
naming its source); only the SNI, the random and the session id are replaced when replaying, and the
hello is re-encoded by the wire codec so every length field stays right.
"""

from __future__ import annotations

import dataclasses
import functools
import secrets
import tomllib
from pathlib import Path

from tlsdoctor.wire.codepoints import ContentType, ExtensionType, HandshakeType, ProtocolVersion
from tlsdoctor.wire.extensions import Padding, ServerName
from tlsdoctor.wire.handshake import ClientHello, build_handshake, encode_client_hello, parse_client_hello
from tlsdoctor.wire.reader import DecodeError
from tlsdoctor.wire.records import MAX_PLAINTEXT, build_records

__all__ = ["ClientPolicy", "ClientProfile", "profile_names", "profiles", "replay_hello"]

_SSLV2_CLIENT_HELLO = 1  # draft-hickman-netscape-ssl-00: MSG-CLIENT-HELLO
_RECORD_HEADER = 5
_HANDSHAKE_HEADER = 4
_V = ProtocolVersion


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ClientPolicy:
    """Limits the client enforces on what the server sends (absent: none known). They are what the
    source measured (SSL Labs) or what the library's shipped defaults enforce."""

    min_dh_bits: int | None = None
    max_dh_bits: int | None = None  # Java 8 cannot use a DH prime above 2048 bits
    min_rsa_bits: int | None = None
    max_rsa_bits: int | None = None
    min_ecdsa_bits: int | None = None
    requires_sha2: bool = False  # refuses a certificate signed with SHA-1
    lowest_version: int | None = None  # below what the hello shows (a pre-1.3 hello names only the top)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ClientProfile:
    """One client: its recorded hello (parsed when it is a TLS-format hello) and its policy."""

    name: str
    label: str
    source: str
    trust: str  # whose roots it trusts: system, mozilla, java, node
    record: bytes  # the first record as recorded
    hello: ClientHello | None  # None: an SSLv2-format hello, replayed as recorded
    policy: ClientPolicy

    @property
    def versions(self) -> tuple[int, ...]:
        """The protocol versions the hello offers, highest first (RFC 8446 §4.2.1; before TLS 1.3
        every version from legacy_version down to the client's minimum, which the hello does not say,
        so down to the lowest version the source measured, else SSL 3.0)."""
        if self.hello is None:
            return (
                (_V.SSL3, _V.SSL2)
                if self.record[2:3] == b"\x01" and self.record[3:5] >= b"\x03\x00"
                else (_V.SSL2,)
            )
        listed = self.hello.supported_versions
        if listed:
            return tuple(int(v) for v in listed if (int(v) & 0x0F0F) != 0x0A0A)
        top, low = int(self.hello.legacy_version), self.policy.lowest_version or _V.SSL3
        return tuple(v for v in (_V.TLS1_2, _V.TLS1_1, _V.TLS1_0, _V.SSL3) if low <= v <= top)

    @property
    def cipher_suites(self) -> tuple[int, ...]:
        if self.hello is None:
            return ()
        return tuple(int(s) for s in self.hello.cipher_suites if (int(s) & 0x0F0F) != 0x0A0A)

    @property
    def groups(self) -> tuple[int, ...]:
        if self.hello is None:
            return ()
        return tuple(int(g) for g in self.hello.supported_groups if (int(g) & 0x0F0F) != 0x0A0A)

    @property
    def signature_schemes(self) -> tuple[int, ...]:
        return () if self.hello is None else tuple(self.hello.signature_schemes)


def _parse(record: bytes) -> ClientHello | None:
    """The ClientHello inside a recorded first record; None for an SSLv2-format hello."""
    if record[:1] and record[0] & 0x80 and record[2:3] == bytes([_SSLV2_CLIENT_HELLO]):
        return None
    if record[0] != ContentType.HANDSHAKE or record[_RECORD_HEADER] != HandshakeType.CLIENT_HELLO:
        raise DecodeError(0, "profile.hello", "not a ClientHello record")
    length = int.from_bytes(record[_RECORD_HEADER + 1 : _RECORD_HEADER + _HANDSHAKE_HEADER], "big")
    body = record[_RECORD_HEADER + _HANDSHAKE_HEADER : _RECORD_HEADER + _HANDSHAKE_HEADER + length]
    return parse_client_hello(body)


@functools.cache
def profiles() -> dict[str, ClientProfile]:
    """Every profile by name, in the data file's order (loaded once)."""
    data = tomllib.loads(Path(__file__).with_name("profiles.toml").read_text(encoding="utf-8"))
    table: dict[str, ClientProfile] = {}
    for entry in data["profile"]:
        record = bytes.fromhex(entry["hello"])
        table[entry["name"]] = ClientProfile(
            name=entry["name"],
            label=entry["label"],
            source=entry["source"],
            trust=entry["trust"],
            record=record,
            hello=_parse(record),
            policy=ClientPolicy(
                min_dh_bits=entry.get("min_dh_bits"),
                max_dh_bits=entry.get("max_dh_bits"),
                min_rsa_bits=entry.get("min_rsa_bits"),
                max_rsa_bits=entry.get("max_rsa_bits"),
                min_ecdsa_bits=entry.get("min_ecdsa_bits"),
                requires_sha2=bool(entry.get("requires_sha2", False)),
                lowest_version=entry.get("lowest_version"),
            ),
        )
    return table


def profile_names() -> tuple[str, ...]:
    return tuple(profiles())


def replay_hello(profile: ClientProfile, sni: str | None, random: bytes | None = None) -> bytes:
    """The profile's first flight for this server: its own hello with our SNI (where the client
    sends one: a client that sends none, like IE on XP, still sends none), a fresh random and
    session id, the padding extension resized so the hello keeps its recorded size, re-framed
    with the recorded record version."""
    random = secrets.token_bytes(32) if random is None else random
    if profile.hello is None:  # SSLv2 CLIENT-HELLO: replace the 16-byte challenge at the end
        return profile.record[:-16] + random[:16]
    hello = profile.hello
    extensions = list(hello.extensions or ())
    if sni is not None:
        extensions = [ServerName(sni) if e.ext_type == ExtensionType.SERVER_NAME else e for e in extensions]
    rebuilt = hello._replace(
        random=random,
        session_id=secrets.token_bytes(len(hello.session_id)) if hello.session_id else b"",
        extensions=tuple(extensions) if hello.extensions is not None else None,
    )
    rebuilt = _keep_size(rebuilt, len(encode_client_hello(hello)))
    message = build_handshake(HandshakeType.CLIENT_HELLO, encode_client_hello(rebuilt))
    record_version = int.from_bytes(profile.record[1:3], "big")
    return build_records(ContentType.HANDSHAKE, record_version, message, MAX_PLAINTEXT)


def _keep_size(hello: ClientHello, recorded: int) -> ClientHello:
    """Resize a padding extension (RFC 7685) so the hello is as long as recorded: clients pad to
    step over the 256-511 byte range some load balancers hang on, and a longer SNI must not undo it."""
    extensions = list(hello.extensions or ())
    index = next((i for i, e in enumerate(extensions) if e.ext_type == ExtensionType.PADDING), None)
    if index is None:
        return hello
    padding = extensions[index]
    assert isinstance(padding, Padding)
    diff = len(encode_client_hello(hello)) - recorded
    extensions[index] = Padding(max(0, padding.length - diff))
    return hello._replace(extensions=tuple(extensions))
