"""Golden server flights parsed message by message (bytes from tests/golden/make_golden.py)."""

from __future__ import annotations

import pytest
from wire_golden import golden

from tlsdoctor.wire.codepoints import ExtensionType, HandshakeType, NamedGroup, ProtocolVersion
from tlsdoctor.wire.extensions import KeyShareHRR, RawExtension, SupportedVersionsServer
from tlsdoctor.wire.handshake import (
    DOWNGRADE_TLS12,
    HRR_RANDOM,
    ClientHello,
    HandshakeMessage,
    HandshakeReassembler,
    ServerHello,
    encode_server_hello,
    parse_client_hello,
    parse_server_hello,
)
from tlsdoctor.wire.reader import DecodeError
from tlsdoctor.wire.records import RecordBuffer
from tlsdoctor.wire.registry import CipherSuite
from tlsdoctor.wire.server_messages import (
    CertificateMessage,
    encode_certificate,
    parse_certificate,
    parse_certificate_request,
    parse_server_key_exchange,
)


def messages(data: bytes) -> list[HandshakeMessage]:
    buf, hs = RecordBuffer(), HandshakeReassembler()
    buf.feed(data)
    out = []
    while (rec := buf.next_record()) is not None:
        if rec.content_type == 22:
            hs.feed(rec.fragment)
            while (msg := hs.next_message()) is not None:
                out.append(msg)
    return out


def test_tls12_ecdhe_flight_field_by_field() -> None:
    sh_msg, cert_msg, ske_msg, done = messages(golden("server_tls12_ecdhe_rsa"))
    assert [m.msg_type for m in (sh_msg, cert_msg, ske_msg, done)] == [2, 11, 12, 14]
    sh = parse_server_hello(sh_msg.body)
    assert sh.legacy_version == ProtocolVersion.TLS1_2 and sh.selected_version == ProtocolVersion.TLS1_2
    assert sh.cipher_suite == 0xC02F and not sh.is_hrr and len(sh.session_id) == 32
    assert sh.extension(ExtensionType.RENEGOTIATION_INFO) is not None
    # s_server was limited to TLS 1.2 (-tls1_2), so it is not a TLS 1.3 server: no sentinel
    assert sh.downgrade_sentinel is None
    assert encode_server_hello(sh) == sh_msg.body
    certs = parse_certificate(cert_msg.body, tls13=False)
    assert len(certs.certificates) == 1 and certs.certificates[0][0] == 0x30
    assert encode_certificate(certs) == cert_msg.body
    ske = parse_server_key_exchange(ske_msg.body, sh.cipher_suite, sh.selected_version)
    assert ske.kind == "ecdhe" and ske.group == NamedGroup.X25519 and ske.public_len == 32
    assert ske.signature_scheme is not None and ske.signature_scheme.known and len(ske.signature) == 256


def test_downgrade_sentinel() -> None:
    sh = ServerHello(ProtocolVersion.TLS1_2, bytes(24) + DOWNGRADE_TLS12, b"", CipherSuite(0xC02F), 0, None)  # type: ignore[arg-type]
    assert parse_server_hello(encode_server_hello(sh)).downgrade_sentinel == ProtocolVersion.TLS1_2


def test_tls12_dhe_prime_size() -> None:
    sh_msg, _, ske_msg, _ = messages(golden("server_tls12_dhe_rsa"))
    sh = parse_server_hello(sh_msg.body)
    assert sh.cipher_suite == 0x009E
    ske = parse_server_key_exchange(ske_msg.body, sh.cipher_suite, sh.selected_version)
    assert ske.kind == "dhe" and ske.dh_prime_bits == 2048


def test_tls12_certificate_request() -> None:
    msgs = messages(golden("server_tls12_certreq"))
    req_msg = next(m for m in msgs if m.msg_type == HandshakeType.CERTIFICATE_REQUEST)
    req = parse_certificate_request(req_msg.body, ProtocolVersion.TLS1_2)
    assert 1 in req.certificate_types and req.signature_schemes and req.authorities == ()


def test_tls13_server_hello() -> None:
    (sh_msg,) = messages(golden("server_tls13"))
    sh = parse_server_hello(sh_msg.body)
    assert sh.legacy_version == ProtocolVersion.TLS1_2  # RFC 8446 §4.1.3
    assert sh.selected_version == ProtocolVersion.TLS1_3
    assert sh.key_share_group == NamedGroup.X25519 and sh.cipher_suite.info is not None
    assert sh.downgrade_sentinel is None


def test_hello_retry_request() -> None:
    (hrr_msg,) = messages(golden("server_tls13_hrr"))
    hrr = parse_server_hello(hrr_msg.body)
    assert hrr.random == HRR_RANDOM and hrr.is_hrr
    assert isinstance(hrr.extension(ExtensionType.KEY_SHARE), KeyShareHRR)
    assert hrr.key_share_group == NamedGroup.SECP384R1
    assert isinstance(hrr.extension(ExtensionType.SUPPORTED_VERSIONS), SupportedVersionsServer)


@pytest.mark.parametrize("name", ["client_hello_openssl", "client_hello_python"])
def test_real_client_hellos(name: str) -> None:
    (msg,) = messages(golden(name))
    ch = parse_client_hello(msg.body)
    assert ch.server_name == "localhost"
    assert ProtocolVersion.TLS1_3 in ch.supported_versions
    assert NamedGroup.X25519 in ch.key_share_groups and ch.cipher_suites
    assert all(isinstance(s, CipherSuite) for s in ch.cipher_suites)


def test_reassembly_across_records_and_coalesced_messages() -> None:
    hs = HandshakeReassembler()
    two = b"\x0e\x00\x00\x00" + b"\x0e\x00\x00\x00"
    for b in two:
        hs.feed(bytes([b]))
    assert hs.next_message() == HandshakeMessage(HandshakeType.SERVER_HELLO_DONE, b"", 0)
    assert hs.next_message() == HandshakeMessage(HandshakeType.SERVER_HELLO_DONE, b"", 4)
    assert hs.next_message() is None


def test_reassembler_rejects_16mb_claim_without_buffering() -> None:
    hs = HandshakeReassembler()
    hs.feed(b"\x0b\xff\xff\xff")
    with pytest.raises(DecodeError, match="exceeds the cap"):
        hs.next_message()


def test_server_hello_trailing_and_truncated() -> None:
    (sh_msg, *_) = messages(golden("server_tls12_ecdhe_rsa"))
    with pytest.raises(DecodeError):
        parse_server_hello(sh_msg.body + b"\x00")
    with pytest.raises(DecodeError):
        parse_server_hello(sh_msg.body[:-1])


def test_duplicate_extension_rejected() -> None:
    reneg = RawExtension(ExtensionType(0xFF01), b"\x00")
    sh = ServerHello(ProtocolVersion.TLS1_2, bytes(32), b"", CipherSuite(0xC02F), 0, (reneg, reneg))  # type: ignore[arg-type]
    with pytest.raises(DecodeError, match="duplicate"):
        parse_server_hello(encode_server_hello(sh))


def test_tls13_certificate_form_round_trip() -> None:
    msg = CertificateMessage((b"\x30\x01\x00", b"\x30\x00"), context=b"", entry_extensions=((), ()))
    assert parse_certificate(encode_certificate(msg), tls13=True) == msg
    # RFC 8446 §4.4.2.1: the leaf entry's status_request and SCT extensions are kept, per entry
    from tlsdoctor.wire.extensions import RawExtension

    leaf = (RawExtension(ExtensionType.STATUS_REQUEST, b"\x01\x00\x00\x01\x30"),)
    leaf += (RawExtension(ExtensionType.SIGNED_CERTIFICATE_TIMESTAMP, b"\x00\x00"),)
    msg = msg._replace(entry_extensions=(leaf, ()))
    assert parse_certificate(encode_certificate(msg), tls13=True) == msg


def test_client_hello_without_extensions() -> None:
    ch = ClientHello(ProtocolVersion.SSL3, bytes(32), b"", (CipherSuite(0x2F),), (0,), None)  # type: ignore[arg-type]
    from tlsdoctor.wire.handshake import encode_client_hello

    assert parse_client_hello(encode_client_hello(ch)) == ch
