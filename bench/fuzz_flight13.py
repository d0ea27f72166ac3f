"""Atheris fuzz target for a TLS 1.3 flight the scan decrypts (wire/flight13.py, wire/conversation.py):
the input is the plaintext the server encrypts, under the right key, so the fuzzer reaches what a
client parses only after decryption (EncryptedExtensions, Certificate entries and their status_request
and SCT extensions, CertificateStatus, Finished). The first input byte picks how the bytes arrive.

Run: ``nice -n 19 .venv/bin/python bench/fuzz_flight13.py -max_total_time=300 [corpus_dir]``
(``.venv/bin/pip install atheris``; limits and statistics: bench/fuzz_harness.py). Invariant: events,
never an exception, in a bounded number of steps. Seeds: the healthy flight's plaintext, and the
spoiled ones of testing/flight13.py.
"""

from __future__ import annotations

import datetime as dt

from fuzz_harness import atheris, main

with atheris.instrument_imports(include=["tlsdoctor.wire"]):  # not cryptography or the stdlib
    from tlsdoctor.wire.conversation import DONE, NEED_DATA, ClientConversation
    from tlsdoctor.wire.keyshares import FIXED_SEED

from tlsdoctor.scan.offers import Offer, build, suites_for
from tlsdoctor.testing.flight13 import tls13_flight
from tlsdoctor.testing.ocsp import sample_scts
from tlsdoctor.wire.codepoints import ExtensionType, ProtocolVersion
from tlsdoctor.wire.extensions import RawExtension
from tlsdoctor.wire.handshake import parse_client_hello
from tlsdoctor.wire.sct import encode_sct_list

V = ProtocolVersion
HELLO = build(Offer(version=V.TLS1_3, suites=suites_for(V.TLS1_3), status_request=True, sct=True))
PARSED = parse_client_hello(HELLO[9:])
SERVER_KEY = bytes(range(1, 33))  # a fixed server key: the same input, the same bytes
CHAIN = (b"\x30\x03leaf", b"\x30\x03ca!")
STATUS = b"\x01\x00\x00\x05\x30\x03abc"
LEAF = (
    RawExtension(ExtensionType.STATUS_REQUEST, STATUS),
    RawExtension(
        ExtensionType.SIGNED_CERTIFICATE_TIMESTAMP, encode_sct_list(sample_scts(2, dt.datetime(2026, 1, 1)))
    ),
)


def flight(plaintext: bytes | None) -> bytes:
    out = tls13_flight(
        HELLO,
        PARSED,
        CHAIN,
        leaf_extensions=LEAF,
        mangle=(lambda _: plaintext) if plaintext is not None else None,
        private_key=SERVER_KEY,
    )
    assert out is not None
    return out


def test_one_input(data: bytes) -> None:
    split = data[0] % 64 if data else 0
    wire = flight(data[1:])
    conv = ClientConversation(flight_seed=FIXED_SEED, max_buffer=64 * 1024)
    conv.sent(HELLO)
    chunks = [wire[i : i + split] for i in range(0, len(wire), split)] if split else [wire]
    steps = 0
    for chunk in [*chunks, b""]:
        conv.receive_data(chunk)
        while True:
            steps += 1
            assert steps < 100_000, "next_event does not converge"
            ev = conv.next_event()
            if ev is NEED_DATA or ev is DONE:
                break
        if ev is DONE:
            return


def seeds() -> list[bytes]:
    """The healthy flight's plaintext (recovered by a mangle that records it), and cuts of it."""
    seen: list[bytes] = []

    def keep(plaintext: bytes) -> bytes:
        seen.append(plaintext)
        return plaintext

    tls13_flight(HELLO, PARSED, CHAIN, leaf_extensions=LEAF, mangle=keep, private_key=SERVER_KEY)
    whole = seen[0]
    return [b"\x00" + whole, b"\x07" + whole, b"\x00" + whole[: len(whole) // 2], b"\x01" + whole[:40]]


if __name__ == "__main__":
    main(test_one_input, seeds)
