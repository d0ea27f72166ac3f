"""The ClientHello side of the hostile servers (testing/hostile.py): read the client's first hello (TLS,
or SSLv2 format), see what it offers, and build the ServerHello or HelloRetryRequest that answers it.

Built with the `wire/` codec: these messages are meant to be well-formed (what is hostile is what they
say, not how they are framed). What is decided from the hello is checked with hand-made hellos by
tests/local/test_hostile_servers.py, so a codec bug cannot hide behind it.
"""

from __future__ import annotations

import itertools
import os
import socket
import time
from dataclasses import dataclass

from tlsdoctor.wire.codepoints import (
    CompressionMethod,
    ContentType,
    ExtensionType,
    HandshakeType,
    NamedGroup,
    ProtocolVersion,
    is_grease,
)
from tlsdoctor.wire.extensions import (
    Extension,
    KeyShareClient,
    KeyShareEntry,
    KeyShareHRR,
    KeyShareServer,
    RenegotiationInfo,
    SupportedVersionsServer,
)
from tlsdoctor.wire.handshake import (
    HRR_RANDOM,
    ClientHello,
    HandshakeReassembler,
    ServerHello,
    build_handshake,
    encode_server_hello,
    parse_client_hello,
)
from tlsdoctor.wire.reader import DecodeError
from tlsdoctor.wire.records import RecordBuffer, build_records
from tlsdoctor.wire.registry import CipherSuite, suite_info

V = ProtocolVersion
_HELLO_CAP = 64 << 10  # a ClientHello with a post-quantum share is ~2 KB; 64 KB is plenty


@dataclass(frozen=True)
class FirstHello:
    """What the client opened with: a TLS ClientHello (`tls`), an SSLv2-format CLIENT-HELLO (`sslv2_kinds`,
    the 3-byte cipher kinds it lists, and `sslv2_version`), or neither (`raw` holds what came)."""

    raw: bytes
    tls: ClientHello | None = None
    sslv2_kinds: tuple[int, ...] = ()
    sslv2_version: int | None = None

    @property
    def is_sslv2(self) -> bool:
        return self.sslv2_version is not None


def read_first_hello(conn: socket.socket, timeout: float) -> FirstHello:
    """Read one ClientHello (over as many records as it takes) or one SSLv2 CLIENT-HELLO, within `timeout`
    and `_HELLO_CAP` bytes. Anything else comes back as `raw` only."""
    data = b""
    deadline = time.monotonic() + timeout
    while len(data) < _HELLO_CAP:
        hello = _parse_first(data)
        if hello is not None:
            return hello
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        conn.settimeout(remaining)
        try:
            chunk = conn.recv(_HELLO_CAP - len(data))
        except TimeoutError:
            break
        if not chunk:
            break
        data += chunk
    return FirstHello(raw=data)


def _parse_first(data: bytes) -> FirstHello | None:
    """The hello in `data`; None while more bytes are needed; FirstHello(raw) when it is not a hello."""
    if not data:
        return None
    if data[0] & 0x80:
        return _parse_sslv2(data)
    records = RecordBuffer()
    records.feed(data)
    messages = HandshakeReassembler()
    try:
        while (record := records.next_record()) is not None:
            if record.content_type != ContentType.HANDSHAKE:
                return FirstHello(raw=data)
            messages.feed(record.fragment)
            message = messages.next_message()
            if message is not None:
                if message.msg_type != HandshakeType.CLIENT_HELLO:
                    return FirstHello(raw=data)
                return FirstHello(raw=data, tls=parse_client_hello(message.body))
    except DecodeError:
        return FirstHello(raw=data)
    return None


def _parse_sslv2(data: bytes) -> FirstHello | None:
    """SSLv2 CLIENT-HELLO, 2-byte header (draft-hickman-netscape-ssl-00; RFC 5246 E.2): msg_type 1,
    version, cipher_specs_length, session_id_length, challenge_length, then the cipher specs."""
    if len(data) < 2:
        return None
    length = ((data[0] & 0x7F) << 8) | data[1]
    if len(data) < 2 + length:
        return None
    body = data[2 : 2 + length]
    if len(body) < 9 or body[0] != 1:
        return FirstHello(raw=data)
    version = int.from_bytes(body[1:3], "big")
    specs_len = int.from_bytes(body[3:5], "big")
    specs = body[9 : 9 + specs_len]
    if specs_len % 3 or len(specs) != specs_len:
        return FirstHello(raw=data)
    kinds = tuple(int.from_bytes(specs[i : i + 3], "big") for i in range(0, specs_len, 3))
    return FirstHello(raw=data, sslv2_kinds=kinds, sslv2_version=version)


# -- choosing from the client's offer ------------------------------------------------------------


def offered_versions(hello: ClientHello) -> tuple[ProtocolVersion, ...]:
    """The versions the client can speak: its supported_versions (RFC 8446 4.2.1) without GREASE, else
    everything from SSL 3.0 up to legacy_version (RFC 5246 E.1)."""
    if hello.supported_versions:
        return tuple(v for v in hello.supported_versions if not is_grease(v))
    return tuple(v for v in (V.SSL3, V.TLS1_0, V.TLS1_1, V.TLS1_2) if v <= hello.legacy_version)


def best_version(hello: ClientHello, allowed: tuple[ProtocolVersion, ...]) -> ProtocolVersion | None:
    common = set(offered_versions(hello)) & set(allowed)
    return max(common) if common else None


def offered_suite(hello: ClientHello, version: ProtocolVersion, *, certificate: bool = False) -> int | None:
    """The client's first real suite usable at `version` (with certificate authentication if asked)."""
    for suite in hello.cipher_suites:
        info = suite_info(suite)
        if info is None or is_grease(suite) or info.kx == "SCSV":
            continue
        tls13 = info.kx == "ANY"
        if tls13 != (version == V.TLS1_3) or not info.min_version <= version <= info.max_version:
            continue
        if certificate and info.auth not in ("RSA", "ECDSA"):
            continue
        return int(suite)
    return None


# Real, assigned suites a server might pick; the first the client did not offer is the one "chosen".
_UNOFFERED_CANDIDATES = (0x002F, 0x0035, 0x000A, 0xC013, 0xC02F, 0x009C, 0x0005, 0x1301, 0x1302)


def unoffered_suite(hello: ClientHello, version: ProtocolVersion) -> int:
    """A suite the client did not offer: a real one of the right kind for `version` when possible."""
    offered = {int(s) for s in hello.cipher_suites}
    wanted = [c for c in _UNOFFERED_CANDIDATES if (c >> 8 == 0x13) == (version == V.TLS1_3)]
    for code in itertools.chain(wanted, _UNOFFERED_CANDIDATES, range(0x0001, 0x10000)):
        if code not in offered:
            return code
    return 0x0000  # every code was offered: only a fuzzer sends that


def _server_share(hello: ClientHello) -> KeyShareEntry:
    """A key share for the ServerHello: the client's own bytes echoed back under its first group (right
    length for x25519 and the NIST curves; nobody will finish this handshake anyway)."""
    entries = shares(hello)
    for entry in entries:
        if entry.group in (NamedGroup.X25519, NamedGroup.SECP256R1):
            return entry
    real = [e for e in entries if not is_grease(e.group)]
    return real[0] if real else KeyShareEntry(NamedGroup.X25519, os.urandom(32))


def server_hello(hello: ClientHello, version: ProtocolVersion, suite: int) -> bytes:
    """A ServerHello record answering `hello` with `version` and `suite` (RFC 8446 4.1.3, RFC 5246 7.4.1.3);
    well-formed whatever the suite."""
    extensions: tuple[Extension, ...]
    if version == V.TLS1_3:
        extensions = (SupportedVersionsServer(V.TLS1_3), KeyShareServer(_server_share(hello)))
        legacy, session_id = V.TLS1_2, hello.session_id
    else:
        extensions = (RenegotiationInfo(),)
        legacy, session_id = version, os.urandom(32)
    body = ServerHello(
        legacy, os.urandom(32), session_id, CipherSuite(suite), CompressionMethod.NULL, extensions
    )
    return handshake_records(version, HandshakeType.SERVER_HELLO, encode_server_hello(body))


def hello_retry(hello: ClientHello, group: int, suite: int) -> bytes:
    """A HelloRetryRequest (RFC 8446 4.1.4): a ServerHello with the special random, asking for `group`."""
    extensions: tuple[Extension, ...] = (SupportedVersionsServer(V.TLS1_3), KeyShareHRR(NamedGroup(group)))
    body = ServerHello(
        V.TLS1_2, HRR_RANDOM, hello.session_id, CipherSuite(suite), CompressionMethod.NULL, extensions
    )
    return handshake_records(V.TLS1_3, HandshakeType.SERVER_HELLO, encode_server_hello(body))


def handshake_records(version: ProtocolVersion, msg_type: int, body: bytes) -> bytes:
    record_version = V.TLS1_2 if version == V.TLS1_3 else version
    return build_records(ContentType.HANDSHAKE, record_version, build_handshake(msg_type, body))


def shares(hello: ClientHello) -> tuple[KeyShareEntry, ...]:
    """The key shares the ClientHello carries (RFC 8446 4.2.8)."""
    ext = hello.extension(ExtensionType.KEY_SHARE)
    return ext.entries if isinstance(ext, KeyShareClient) else ()
