"""Atheris fuzz target for ``tlsdoctor pcap``'s reader and analysis: any bytes as a capture file.

Run: ``nice -n 19 .venv/bin/python bench/fuzz_pcap.py -max_total_time=600 [corpus_dir]``
(limits and statistics: bench/fuzz_harness.py). The invariant is the bad-input rule: a file that is no
capture raises InputError before any output; anything else (truncation, corrupt records, hostile
lengths, garbage link, IP, TCP or TLS bytes) yields flow reports and warnings, never another exception,
in bounded time and memory. A second mode feeds the bytes to the frame decoder under every link type.
Seeds: the recorded captures of tests/golden/pcap and synthetic ones (pcapng, SLL2, VLAN, IPv6).
"""

from __future__ import annotations

import io
from pathlib import Path

from fuzz_harness import GOLDEN, atheris, main

with atheris.instrument_imports(include=["tlsdoctor"]):  # not cryptography or the stdlib
    from tlsdoctor.errors import InputError
    from tlsdoctor.pcap.analyse import Totals, analyse_flows, summarise
    from tlsdoctor.pcap.decode import SUPPORTED_LINKTYPES, decode
    from tlsdoctor.pcap.reader import Capture

LINKTYPES = sorted(SUPPORTED_LINKTYPES)
NAME = Path("fuzz.pcap")


def analyse(data: bytes) -> None:
    try:
        capture = Capture(NAME, io.BytesIO(data))
    except InputError:
        return
    with capture:
        reports = list(analyse_flows(capture, Totals()))
    summarise(reports)
    for report in reports:
        report.to_data()


def test_one_input(data: bytes) -> None:
    if data[:1] == b"\xff" and len(data) > 2:  # decoder mode: the rest is one frame of a chosen link type
        decode(LINKTYPES[data[1] % len(LINKTYPES)], data[2:])
        return
    analyse(data)


def seeds() -> list[bytes]:
    from tlsdoctor.testing.pcapgen import Flow, frame, tls_payloads, write_pcap, write_pcapng

    out = [p.read_bytes() for p in sorted((GOLDEN / "pcap").glob("*.pcap"))]
    flow = Flow(bytes(16), bytes(15) + b"\x01", 40000, 443, mss=300).handshake()
    for side, data in tls_payloads(str(GOLDEN / "pcap" / "healthy-tls12.pcap")):
        flow.send(side, data)
    flow.close()
    for linktype in (276, 113, 0):
        buf = io.BytesIO()
        write_pcap(buf, [(t, frame(linktype, p)) for t, p in flow.packets], linktype)
        out.append(buf.getvalue())
    buf = io.BytesIO()
    write_pcapng(buf, [(t, 0, frame(1, p, vlans=(7,))) for t, p in flow.packets], (1,))
    out.append(buf.getvalue())
    return out


if __name__ == "__main__":
    main(test_one_input, seeds)
