"""ClientConversation reading a TLS 1.3 server's encrypted flight with the probe's own key share
(wire/flight13.py): the flight is made by testing/flight13.py, a server-side implementation of the
RFC 8446 key schedule fed with a fresh server key, so nothing here is the client's own bytes echoed."""

from __future__ import annotations

import datetime as dt
import hashlib

from hypothesis import given, settings
from hypothesis import strategies as st

from tlsdoctor.scan.offers import DEFAULT_SHARES, Offer, build, suites_for
from tlsdoctor.testing.flight13 import tls13_flight
from tlsdoctor.testing.ocsp import sample_scts
from tlsdoctor.wire.codepoints import ExtensionType, HandshakeType, ProtocolVersion
from tlsdoctor.wire.conversation import (
    DONE,
    NEED_DATA,
    CertificatesEvent,
    CertificateStatusEvent,
    ClientConversation,
    EncryptedEvent,
    EncryptedExtensionsEvent,
    Event,
    HandshakeMessageEvent,
    ProtocolErrorEvent,
    ServerFinishedEvent,
    ServerHelloEvent,
    UnreadableFlightEvent,
)
from tlsdoctor.wire.extensions import RawExtension
from tlsdoctor.wire.handshake import parse_client_hello
from tlsdoctor.wire.keyshares import FIXED_SEED
from tlsdoctor.wire.sct import encode_sct_list

V = ProtocolVersion
CHAIN = (b"\x30\x03leaf-der", b"\x30\x03intermediate-der")  # opaque to the conversation
OCSP = b"\x30\x82" + bytes(300)  # an OCSPResponse's DER, as far as framing goes
STATUS = b"\x01" + len(OCSP).to_bytes(3, "big") + OCSP  # RFC 6066 §8 CertificateStatus, ocsp
SCTS = encode_sct_list(sample_scts(2, dt.datetime(2026, 1, 2, tzinfo=dt.UTC)))
LEAF_EXTENSIONS = (
    RawExtension(ExtensionType.STATUS_REQUEST, STATUS),
    RawExtension(ExtensionType.SIGNED_CERTIFICATE_TIMESTAMP, SCTS),
)


def _hello() -> bytes:
    offer = Offer(version=V.TLS1_3, suites=suites_for(V.TLS1_3), status_request=True, sct=True)
    return build(offer)


def _flight(hello: bytes, fault: str = "") -> bytes:
    parsed = parse_client_hello(hello[9:])
    flight = tls13_flight(hello, parsed, CHAIN, leaf_extensions=LEAF_EXTENSIONS, fault=fault)
    assert flight is not None
    return flight


def _events(hello: bytes, flight: bytes, *, seed: bytes | None = FIXED_SEED, step: int = 0) -> list[Event]:
    conv = ClientConversation(flight_seed=seed)
    conv.sent(hello)
    chunks = [flight[i : i + step] for i in range(0, len(flight), step)] if step else [flight]
    out: list[Event] = []
    for chunk in chunks:
        conv.receive_data(chunk)
        while (ev := conv.next_event()) is not NEED_DATA and ev is not DONE:
            out.append(ev)
        if ev is DONE:
            break
    return out


def test_the_flight_is_read_to_a_verified_finished_with_the_leafs_staple_and_scts() -> None:
    hello = _hello()
    for step in (0, 1, 7):  # whole, byte by byte, odd pieces: the same events
        events = _events(hello, _flight(hello), step=step)
        kinds = [type(e) for e in events]
        assert kinds == [
            ServerHelloEvent,
            EncryptedExtensionsEvent,
            CertificatesEvent,
            CertificateStatusEvent,
            HandshakeMessageEvent,  # CertificateVerify: its signature is not the scan's business
            ServerFinishedEvent,
        ], step
        certs = events[2]
        assert isinstance(certs, CertificatesEvent) and certs.certificates == CHAIN
        assert certs.entry_extensions == (LEAF_EXTENSIONS, ())
        status = events[3]
        assert isinstance(status, CertificateStatusEvent) and status.status.responses == (OCSP,)
        assert events[4] == HandshakeMessageEvent(HandshakeType.CERTIFICATE_VERIFY, 260)
        assert events[5] == ServerFinishedEvent(verified=True)


def test_a_flight_over_several_records_is_read_in_sequence() -> None:
    """A chain larger than one record (2^14 bytes, RFC 8446 §5.1): each record opens with the next
    sequence number's nonce (§5.3), and a message split across records is reassembled."""
    hello = _hello()
    big = (b"\x30" + bytes(9000), b"\x30" + bytes(9000), b"\x30" + bytes(9000))
    flight = tls13_flight(hello, parse_client_hello(hello[9:]), big, leaf_extensions=LEAF_EXTENSIONS)
    assert flight is not None and flight.count(b"\x17\x03\x03") >= 2
    events = _events(hello, flight)
    certs = next(e for e in events if isinstance(e, CertificatesEvent))
    assert certs.certificates == big and events[-1] == ServerFinishedEvent(verified=True)


def test_without_the_seed_the_flight_stays_encrypted() -> None:
    """Near miss: a conversation not asked to decrypt ends at the first protected record, as before."""
    hello = _hello()
    events = _events(hello, _flight(hello), seed=None)
    assert [type(e) for e in events] == [ServerHelloEvent, EncryptedEvent]


def test_another_seed_does_not_open_the_flight() -> None:
    hello = _hello()
    events = _events(hello, _flight(hello), seed=hashlib.sha256(b"not ours").digest())
    assert isinstance(events[-1], UnreadableFlightEvent)
    assert "does not decrypt with the server handshake key" in events[-1].reason


def test_a_flipped_tag_bit_and_random_bytes_are_said_not_raised() -> None:
    hello = _hello()
    for fault in ("bad-tag", "garbage"):
        events = _events(hello, _flight(hello, fault))
        assert isinstance(events[-1], UnreadableFlightEvent), fault
        assert "TLS_AES_128_GCM_SHA256, x25519" in events[-1].reason


def test_a_certificate_that_decrypts_but_does_not_parse_is_a_protocol_error() -> None:
    hello = _hello()
    events = _events(hello, _flight(hello, "bad-certificate"))
    assert [type(e) for e in events] == [ServerHelloEvent, EncryptedExtensionsEvent, ProtocolErrorEvent]
    assert "Certificate.certificate_list" in str(events[-1].error)  # type: ignore[union-attr]


def test_a_finished_that_does_not_match_the_transcript_is_flagged() -> None:
    hello = _hello()
    events = _events(hello, _flight(hello, "bad-finished"))
    assert events[-1] == ServerFinishedEvent(verified=False)


def test_a_conversation_told_nothing_of_its_hello_says_so() -> None:
    """The transcript starts with the ClientHello: without it (sent() not called) there is no key."""
    hello = _hello()
    conv = ClientConversation(flight_seed=FIXED_SEED)
    conv.receive_data(_flight(hello))
    events = []
    while (ev := conv.next_event()) is not NEED_DATA and ev is not DONE:
        events.append(ev)
    assert isinstance(events[-1], UnreadableFlightEvent)
    assert "0 ClientHello message(s)" in events[-1].reason


def test_the_scan_hello_carries_the_fixed_shares() -> None:
    """The seed the probe decrypts with is the one its hello's shares were made from."""
    from tlsdoctor.wire.keyshares import key_share_for

    parsed = parse_client_hello(_hello()[9:])
    shares = {int(e.group): e.key_exchange for e in parsed.extension(ExtensionType.KEY_SHARE).entries}  # type: ignore[union-attr]
    assert shares == {g: key_share_for(g, FIXED_SEED) for g in DEFAULT_SHARES}


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=600), st.integers(min_value=0, max_value=40))
def test_any_decrypted_content_ends_in_events(noise: bytes, cut: int) -> None:
    """Hostile plaintext under the right key: the flight's messages replaced or cut; the conversation
    ends in events (a protocol error, a close), never an exception."""
    hello = _hello()
    parsed = parse_client_hello(hello[9:])

    def mangle(plaintext: bytes) -> bytes:
        return plaintext[: cut * 8] + noise

    flight = tls13_flight(hello, parsed, CHAIN, leaf_extensions=LEAF_EXTENSIONS, mangle=mangle)
    assert flight is not None
    conv = ClientConversation(flight_seed=FIXED_SEED, max_buffer=64 * 1024)
    conv.sent(hello)
    conv.receive_data(flight)
    conv.receive_data(b"")
    for _ in range(1000):
        ev = conv.next_event()
        if ev is DONE or ev is NEED_DATA:
            break
    else:
        raise AssertionError("next_event does not converge")
