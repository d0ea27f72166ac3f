"""wire/sct.py: the TLS-encoded SCT list (RFC 6962 §3.3) and CertificateStatus (RFC 6066 §8), as
golden bytes annotated field by field, byte-exact round trips, truncations and arbitrary bytes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from wire_golden import golden

from tlsdoctor.wire.conversation import (
    CertificatesEvent,
    CertificateStatusEvent,
    ClientConversation,
    ClosedEvent,
    ServerHelloDoneEvent,
    ServerHelloEvent,
    ServerKeyExchangeEvent,
)
from tlsdoctor.wire.handshake import build_handshake
from tlsdoctor.wire.reader import DecodeError
from tlsdoctor.wire.records import build_records
from tlsdoctor.wire.sct import MAX_SCTS, Sct, encode_sct_list, parse_certificate_status, parse_sct_list

LOG = bytes(range(32))
# One v1 SCT, field by field (RFC 6962 §3.2)
ONE_SCT = (
    "00"  # version v1
    + LOG.hex()  # log_id: 32 bytes
    + "0000018b40d85000"  # timestamp: 1697600000000 ms (2023-10-18T03:33:20Z)
    + "0000"  # extensions: none
    + "0403"  # hash sha256(4), signature ecdsa(3)
    + "0004deadbeef"  # signature<0..2^16-1>: 4 bytes
)
SCT_LIST = bytes.fromhex(f"{len(ONE_SCT) // 2 + 2:04x}{len(ONE_SCT) // 2:04x}{ONE_SCT}")


def test_golden_sct_list() -> None:
    (sct,) = parse_sct_list(SCT_LIST)
    assert sct == Sct(version=0, log_id=LOG, timestamp_ms=1697600000000, extensions=b"", hash_algorithm=4,
                      signature_algorithm=3, signature=bytes.fromhex("deadbeef"))  # fmt: skip
    assert encode_sct_list([sct]) == SCT_LIST


def test_an_unknown_version_keeps_its_place_and_the_others_parse() -> None:
    v2 = bytes.fromhex("01") + b"opaque future layout"
    both = (len(v2) + 2 + len(ONE_SCT) // 2 + 2).to_bytes(2, "big")
    both += len(v2).to_bytes(2, "big") + v2 + (len(ONE_SCT) // 2).to_bytes(2, "big") + bytes.fromhex(ONE_SCT)
    first, second = parse_sct_list(both)
    assert first.version == 1 and first.log_id == b"" and second.log_id == LOG


@pytest.mark.parametrize("cut", [1, 2, 3, 10, len(SCT_LIST) - 1])
def test_a_truncated_list_is_a_decode_error(cut: int) -> None:
    with pytest.raises(DecodeError):
        parse_sct_list(SCT_LIST[:cut])


def test_an_empty_list_trailing_bytes_and_too_many_scts_are_refused() -> None:
    with pytest.raises(DecodeError):
        parse_sct_list(b"\x00\x00")  # sct_list<1..2^16-1>
    with pytest.raises(DecodeError):
        parse_sct_list(SCT_LIST + b"\x00")
    many = [Sct(version=0, log_id=LOG, timestamp_ms=i) for i in range(MAX_SCTS + 1)]
    with pytest.raises(DecodeError, match="more than"):
        parse_sct_list(encode_sct_list(many))
    assert len(parse_sct_list(encode_sct_list(many[:MAX_SCTS]))) == MAX_SCTS  # near miss


@given(st.binary(max_size=300))
def test_arbitrary_bytes_parse_or_raise_decode_error(data: bytes) -> None:
    try:
        parse_sct_list(data)
        parse_certificate_status(data)
    except DecodeError:
        pass


def test_certificate_status_ocsp_and_ocsp_multi() -> None:
    der = b"\x30\x03\x0a\x01\x00"
    status = parse_certificate_status(b"\x01" + len(der).to_bytes(3, "big") + der)
    assert status.status_type == 1 and status.responses == (der,)
    entries = len(der).to_bytes(3, "big") + der + b"\x00\x00\x00"  # RFC 6961: an empty entry is allowed
    multi = parse_certificate_status(b"\x02" + len(entries).to_bytes(3, "big") + entries)
    assert multi.responses == (der, b"")
    with pytest.raises(DecodeError):
        parse_certificate_status(b"\x01\x00\x00\x00")  # OCSPResponse<1..2^24-1>


@pytest.mark.parametrize("bytewise", [False, True])
def test_a_flight_with_a_stapled_response(bytewise: bool) -> None:
    """The conversation hands the stapled response over as an event of its own."""
    flight = golden("server_tls12_ecdhe_rsa")
    der = b"\x30\x03\x0a\x01\x00"
    status = build_records(22, 0x0303, build_handshake(22, b"\x01" + len(der).to_bytes(3, "big") + der))
    data = flight[:98] + status + flight[98:]  # the ServerHello record is 98 bytes
    conv, events = ClientConversation(), []
    for chunk in [data[i : i + 1] for i in range(len(data))] if bytewise else [data]:
        conv.receive_data(chunk)
        while isinstance(ev := conv.next_event(), tuple):
            events.append(ev)
    conv.receive_data(b"")
    events.append(conv.next_event())
    assert [type(e) for e in events] == [ServerHelloEvent, CertificateStatusEvent, CertificatesEvent,
                                         ServerKeyExchangeEvent, ServerHelloDoneEvent,
                                         ClosedEvent]  # fmt: skip
    assert isinstance(events[1], CertificateStatusEvent) and events[1].status.responses == (der,)
