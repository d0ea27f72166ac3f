"""Atheris fuzz target for the wire codec: records, ClientConversation, hello and server-message
parsers, and the other first-bytes parsers of wire/ (sniff, the proxy's CONNECT answer, NTP replies).

Run: ``nice -n 19 .venv/bin/python bench/fuzz_wire.py -max_total_time=600 [corpus_dir]``
(``.venv/bin/pip install atheris``; limits and statistics: bench/fuzz_harness.py). The invariant
under test is STYLE rule 2: any peer bytes yield events or DecodeError, in bounded time and memory;
any other exception is a crash. Seeds: the golden flights in tests/golden and the hellos our builder
makes.
"""

from __future__ import annotations

import contextlib
from dataclasses import replace

from fuzz_harness import atheris, golden_flights, main

with atheris.instrument_imports(include=["tlsdoctor"]):  # not cryptography or the stdlib
    from tlsdoctor.wire.codepoints import ProtocolVersion
    from tlsdoctor.wire.connect_proxy import parse_connect_response
    from tlsdoctor.wire.conversation import DONE, NEED_DATA, ClientConversation
    from tlsdoctor.wire.handshake import HandshakeReassembler, parse_client_hello, parse_server_hello
    from tlsdoctor.wire.hello import build_client_hello
    from tlsdoctor.wire.ntp import parse_reply
    from tlsdoctor.wire.reader import DecodeError
    from tlsdoctor.wire.records import RecordBuffer, detect_sslv2, parse_alert, parse_sslv2_server_hello
    from tlsdoctor.wire.server_messages import (
        parse_certificate,
        parse_certificate_request,
        parse_server_key_exchange,
    )
    from tlsdoctor.wire.sniff import sniff
    from tlsdoctor.wire.variants import VARIANTS

VERSIONS = [ProtocolVersion(v) for v in (0x0300, 0x0301, 0x0302, 0x0303, 0x0304)]


def conversation(data: bytes, split: int) -> None:
    conv = ClientConversation(max_buffer=64 * 1024)
    chunks = [data[i : i + split] for i in range(0, len(data), split)] if split else [data]
    chunks = [c for c in chunks if c]  # b"" means EOF, sent once below
    steps = 0
    for chunk in [*chunks, b""]:
        conv.receive_data(chunk)
        while True:
            steps += 1
            assert steps < 200_000, "next_event does not converge"
            ev = conv.next_event()
            if ev is NEED_DATA or ev is DONE:
                break


def parsers(data: bytes, selector: int) -> None:
    version = VERSIONS[selector % len(VERSIONS)]
    suite = int.from_bytes(data[:2], "big") if len(data) >= 2 else 0
    body = data[2:]
    for parse in (
        lambda: parse_server_hello(body),
        lambda: parse_client_hello(body),
        lambda: parse_certificate(body, tls13=bool(selector & 1)),
        lambda: parse_certificate_request(body, version),
        lambda: parse_server_key_exchange(body, suite, version),
        lambda: parse_alert(body[:2]),
        lambda: parse_sslv2_server_hello(body),
    ):
        with contextlib.suppress(DecodeError):
            parse()
    detect_sslv2(data)
    sniff(data)
    parse_connect_response(data)
    with contextlib.suppress(DecodeError):
        parse_reply(data)


def records(data: bytes) -> None:
    buf, hs = RecordBuffer(), HandshakeReassembler()
    buf.feed(data)
    with contextlib.suppress(DecodeError):
        while (rec := buf.next_record()) is not None:
            if rec.content_type == 22:
                hs.feed(rec.fragment)
                while (msg := hs.next_message()) is not None:
                    if msg.msg_type == 1:
                        parse_client_hello(msg.body)


def test_one_input(raw: bytes) -> None:
    if not raw:
        return
    mode, rest = raw[0], raw[1:]
    if mode % 3 == 0:
        conversation(rest, mode // 3 % 17)
    elif mode % 3 == 1:
        parsers(rest, mode // 3)
    else:
        records(rest)


def seeds() -> list[bytes]:
    """Golden flights and our own hellos, behind each mode byte; a proxy answer and an NTP reply."""
    samples = golden_flights()
    for spec in VARIANTS.values():
        samples.append(build_client_hello(replace(spec, sni="localhost"), random=bytes(32)))
    samples.append(b"HTTP/1.1 200 Connection established\r\nProxy-Agent: x\r\n\r\n")
    samples.append(bytes([0x24, 2, 6, 0xEC]) + bytes(44))
    return [bytes([mode]) + sample for sample in samples for mode in (0, 3, 2, 1)]


if __name__ == "__main__":
    main(test_one_input, seeds)
