"""wire/keyschedule.py and wire/keyshares.shared_secret against RFC 8448 §3 (Example Handshake Traces
for TLS 1.3, "Simple 1-RTT Handshake"): the trace's keys are public test vectors, so every step from the
x25519 exchange to the server's protected flight is checked against bytes we did not produce."""

from __future__ import annotations

import hashlib

import pytest

from tlsdoctor.wire.codepoints import HandshakeType
from tlsdoctor.wire.handshake import HandshakeReassembler
from tlsdoctor.wire.keyschedule import (
    InvalidTag,
    cipher_for,
    derive_secret,
    finished_verify_data,
    handshake_traffic_secrets,
    hkdf_expand,
    hkdf_extract,
    message_hash,
    tls13_key,
)
from tlsdoctor.wire.keyshares import FIXED_SEED, ecdhe_secret, fixed_share, shared_secret

# RFC 8448 §3, {client} and {server} "create an ephemeral x25519 key pair".
CLIENT_PRIVATE = bytes.fromhex("49af42ba7f7994852d713ef2784bcbcaa7911de26adc5642cb634540e7ea5005")
SERVER_PUBLIC = bytes.fromhex("c9828876112095fe66762bdbf7c672e156d6cc253b833df1dd69b1b04e751f0f")
CLIENT_HELLO = bytes.fromhex(
    "010000c00303cb34ecb1e78163ba1c38c6dacb196a6dffa21a8d9912ec18a2ef6283024dece7000006130113031302"
    "010000910000000b0009000006736572766572ff01000100000a00140012001d00170018001901000101010201030104"
    "00230000003300260024001d002099381de560e4bd43d23d8e435a7dbafeb3c06e51c13cae4d5413691e529aaf2c002b"
    "0003020304000d0020001e040305030603020308040805080604010501060102010402050206020202002d0002010100"
    "1c00024001"
)
SERVER_HELLO = bytes.fromhex(
    "020000560303a6af06a4121860dc5e6e60249cd34c95930c8ac5cb1434dac155772ed3e2692800130100002e003300"
    "24001d0020c9828876112095fe66762bdbf7c672e156d6cc253b833df1dd69b1b04e751f0f002b00020304"
)
ECDHE = "8bd4054fb55b9d63fdfbacf9f04b9f0d35e6d63f537563efd46272900f89492d"
HELLO_HASH = "860c06edc07858ee8e78f0e7428c58edd6b43f2ca3e6e95f02ed063cf0e1cad8"
CLIENT_HS_TRAFFIC = "b3eddb126e067f35a780b3abf45e2d8f3b1a950738f52e9600746a0e27a55a21"
SERVER_HS_TRAFFIC = "b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38"
# {server} "send handshake record": EncryptedExtensions, Certificate, CertificateVerify, Finished.
SERVER_FLIGHT_RECORD = bytes.fromhex(
    "17030302a2"
    "d1ff334a56f5bff6594a07cc87b580233f500f45e489e7f33af35edf7869fcf40aa40aa2b8ea73f848a7ca07612ef9f9"
    "45cb960b4068905123ea78b111b429ba9191cd05d2a389280f526134aadc7fc78c4b729df828b5ecf7b13bd9aefb0e57"
    "f271585b8ea9bb355c7c79020716cfb9b1183ef3ab20e37d57a6b9d7477609aee6e122a4cf51427325250c7d0e509289"
    "444c9b3a648f1d71035d2ed65b0e3cdd0cbae8bf2d0b227812cbb360987255cc744110c453baa4fcd610928d809810e4"
    "b7ed1a8fd991f06aa6248204797e36a6a73b70a2559c09ead686945ba246ab66e5edd8044b4c6de3fcf2a89441ac6627"
    "2fd8fb330ef8190579b3684596c960bd596eea520a56a8d650f563aad27409960dca63d3e688611ea5e22f4415cf9538"
    "d51a200c27034272968a264ed6540c84838d89f72c24461aad6d26f59ecaba9acbbb317b66d902f4f292a36ac1b639c6"
    "37ce343117b659622245317b49eeda0c6258f100d7d961ffb138647e92ea330faeea6dfa31c7a84dc3bd7e1b7a6c7178"
    "af36879018e3f252107f243d243dc7339d5684c8b0378bf30244da8c87c843f5e56eb4c5e8280a2b48052cf93b16499a"
    "66db7cca71e4599426f7d461e66f99882bd89fc50800becca62d6c74116dbd2972fda1fa80f85df881edbe5a37668936"
    "b335583b599186dc5c6918a396fa48a181d6b6fa4f9d62d513afbb992f2b992f67f8afe67f76913fa388cb5630c8ca01"
    "e0c65d11c66a1e2ac4c85977b7c7a6999bbf10dc35ae69f5515614636c0b9b68c19ed2e31c0b3b66763038ebba42f3b3"
    "8edc0399f3a9f23faa63978c317fc9fa66a73f60f0504de93b5b845e275592c12335ee340bbc4fddd502784016e4b3be"
    "7ef04dda49f4b440a30cb5d2af939828fd4ae3794e44f94df5a631ede42c1719bfdabf0253fe5175be898e750edc5337"
    "0d2b"
)
SERVER_FINISHED = "9b9b141d906337fbd2cbdce71df4deda4ab42c309572cb7fffee5454b78f0718"


def test_hkdf_rfc5869_case_1() -> None:
    """RFC 5869 A.1: the stdlib-HMAC HKDF the schedule is built on."""
    prk = hkdf_extract("sha256", bytes.fromhex("000102030405060708090a0b0c"), bytes([0x0B]) * 22)
    assert prk.hex() == "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5"
    okm = hkdf_expand("sha256", prk, bytes.fromhex("f0f1f2f3f4f5f6f7f8f9"), 42)
    assert okm.hex() == (
        "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
    )


def test_x25519_secret_rfc8448() -> None:
    assert ecdhe_secret(0x001D, CLIENT_PRIVATE, SERVER_PUBLIC).hex() == ECDHE


def test_handshake_traffic_secrets_rfc8448() -> None:
    hello_hash = hashlib.sha256(CLIENT_HELLO + SERVER_HELLO).digest()
    assert hello_hash.hex() == HELLO_HASH
    client, server = handshake_traffic_secrets("sha256", bytes.fromhex(ECDHE), hello_hash)
    assert (client.hex(), server.hex()) == (CLIENT_HS_TRAFFIC, SERVER_HS_TRAFFIC)
    # "derive secret for master": Derive-Secret(Handshake Secret, "derived", "") of the trace
    early = hkdf_extract("sha256", b"", bytes(32))
    assert early.hex() == "33ad0a1c607ec03b09e6cd9893680ce210adf300aa1f2660e1b22e10f170f92a"
    derived = derive_secret("sha256", early, b"derived", hashlib.sha256().digest())
    assert derived.hex() == "6f2615a108c702c5678f54fc9dbab69716c076189c48250cebeac3576c3611ba"


def test_server_flight_record_rfc8448_opens_and_its_finished_verifies() -> None:
    """The trace's own protected record opens with the derived key and IV, holds the four messages,
    and the server's Finished is the HMAC over the transcript up to CertificateVerify (§4.4.4)."""
    cipher = cipher_for(0x1301)
    assert cipher is not None
    key = tls13_key(cipher, bytes.fromhex(SERVER_HS_TRAFFIC))
    header, fragment = SERVER_FLIGHT_RECORD[:5], SERVER_FLIGHT_RECORD[5:]
    inner = key.open13(0, header, fragment)
    assert inner[-1] == 22  # TLSInnerPlaintext.type: handshake
    reassembler = HandshakeReassembler()
    reassembler.feed(inner[:-1])
    messages = []
    while (msg := reassembler.next_message()) is not None:
        messages.append(msg)
    assert [m.msg_type for m in messages] == [
        HandshakeType.ENCRYPTED_EXTENSIONS,
        HandshakeType.CERTIFICATE,
        HandshakeType.CERTIFICATE_VERIFY,
        HandshakeType.FINISHED,
    ]
    raw = [bytes([m.msg_type]) + len(m.body).to_bytes(3, "big") + m.body for m in messages]
    transcript = hashlib.sha256(CLIENT_HELLO + SERVER_HELLO + b"".join(raw[:3])).digest()
    expected = finished_verify_data("sha256", bytes.fromhex(SERVER_HS_TRAFFIC), transcript)
    assert expected.hex() == SERVER_FINISHED == messages[3].body.hex()
    with pytest.raises(InvalidTag):  # the next sequence number's nonce does not open it
        key.open13(1, header, fragment)
    with pytest.raises(InvalidTag):  # nor does a record whose header was altered
        key.open13(0, b"\x17\x03\x01" + header[3:], fragment)


def test_seal_open_round_trip_every_tls13_suite() -> None:
    for suite in (0x1301, 0x1302, 0x1303, 0x1304, 0x1305):
        cipher = cipher_for(suite)
        assert cipher is not None, hex(suite)
        secret = bytes(range(cipher.hash_len))
        record = tls13_key(cipher, secret).seal13(3, 22, b"\x08\x00\x00\x02\x00\x00")
        assert record[:3] == b"\x17\x03\x03" and int.from_bytes(record[3:5], "big") == len(record) - 5
        inner = tls13_key(cipher, secret).open13(3, record[:5], record[5:])
        assert inner == b"\x08\x00\x00\x02\x00\x00\x16"
        with pytest.raises(InvalidTag):
            tls13_key(cipher, bytes(cipher.hash_len)).open13(3, record[:5], record[5:])


def test_message_hash_stands_for_the_first_client_hello() -> None:
    """RFC 8446 §4.4.1: handshake type message_hash (254), a 3-byte length, Hash(ClientHello1)."""
    synthetic = message_hash("sha384", CLIENT_HELLO)
    assert synthetic[:4] == bytes([254, 0, 0, 48])
    assert synthetic[4:] == hashlib.sha384(CLIENT_HELLO).digest()


@pytest.mark.parametrize("group", [0x001D, 0x001E, 0x0017, 0x0018, 0x0019])
def test_shared_secret_matches_the_servers_side(group: int) -> None:
    """Our fixed share's private half (derived from the seed as the public one is) agrees with a
    server's own key pair: the secret both sides compute is the same."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, x448, x25519

    ours = fixed_share(group)
    raw = (serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    point = (serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    if group == 0x001D:
        server = x25519.X25519PrivateKey.generate()
        share = server.public_key().public_bytes(*raw)
        theirs = server.exchange(x25519.X25519PublicKey.from_public_bytes(ours))
    elif group == 0x001E:
        server448 = x448.X448PrivateKey.generate()
        share = server448.public_key().public_bytes(*raw)
        theirs = server448.exchange(x448.X448PublicKey.from_public_bytes(ours))
    else:
        curve = {0x0017: ec.SECP256R1(), 0x0018: ec.SECP384R1(), 0x0019: ec.SECP521R1()}[group]
        server_ec = ec.generate_private_key(curve)
        share = server_ec.public_key().public_bytes(*point)
        theirs = server_ec.exchange(ec.ECDH(), ec.EllipticCurvePublicKey.from_encoded_point(curve, ours))
    assert shared_secret(group, FIXED_SEED, share) == theirs


def test_shared_secret_refuses_what_it_cannot_compute() -> None:
    assert shared_secret(0x11EC, FIXED_SEED, bytes(1120)) is None  # X25519MLKEM768: no decapsulation key
    assert shared_secret(0x0100, FIXED_SEED, bytes(256)) is None  # ffdhe2048: no exponent
    with pytest.raises(ValueError):
        shared_secret(0x001D, FIXED_SEED, bytes(32))  # a low-order point: all-zero output
    with pytest.raises(ValueError):
        shared_secret(0x0017, FIXED_SEED, b"\x04" + bytes(64))  # not on the curve
