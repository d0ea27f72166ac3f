"""The key exchange group the server chose, read from the handshake messages OpenSSL reports
(net/tls.py: chosen_group), since Python's ssl module does not say it."""

from __future__ import annotations

import os

from tlsdoctor.net.tls import SERVER_HELLO, SERVER_KEY_EXCHANGE, chosen_group
from tlsdoctor.wire.codepoints import CompressionMethod, NamedGroup, ProtocolVersion
from tlsdoctor.wire.extensions import KeyShareEntry, KeyShareServer, SupportedVersionsServer
from tlsdoctor.wire.handshake import ServerHello, encode_server_hello
from tlsdoctor.wire.registry import CipherSuite


def test_tls13_server_hello_key_share() -> None:
    hello = ServerHello(
        ProtocolVersion.TLS1_2,
        os.urandom(32),
        b"",
        CipherSuite(0x1301),
        CompressionMethod(0),
        (
            SupportedVersionsServer(ProtocolVersion.TLS1_3),
            KeyShareServer(KeyShareEntry(NamedGroup(0x001D), os.urandom(32))),
        ),
    )
    assert chosen_group(SERVER_HELLO, encode_server_hello(hello)) == 0x001D


def test_tls12_ecdhe_server_key_exchange() -> None:
    # curve_type named_curve (3), secp256r1 (0x0017), then the point and a signature we do not read
    assert chosen_group(SERVER_KEY_EXCHANGE, bytes([3, 0x00, 0x17, 65]) + b"\x04" * 65) == 0x0017


def test_near_misses() -> None:
    assert chosen_group(SERVER_KEY_EXCHANGE, bytes([1, 0x00, 0x17])) is None  # explicit curve, not named
    assert chosen_group(SERVER_KEY_EXCHANGE, b"\x03\x00") is None  # cut short
    assert chosen_group(SERVER_HELLO, b"\x03\x03" + b"\x00" * 10) is None  # a truncated ServerHello
    tls12 = ServerHello(
        ProtocolVersion.TLS1_2, os.urandom(32), b"", CipherSuite(0xC02F), CompressionMethod(0), ()
    )
    assert chosen_group(SERVER_HELLO, encode_server_hello(tls12)) is None  # TLS 1.2: the group is in the SKE
