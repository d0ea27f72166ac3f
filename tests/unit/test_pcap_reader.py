"""The reader and the flow builder on captures written synthetically (tlsdoctor.testing.pcapgen) around
the TLS bytes of a real recorded handshake: every link type, IPv6, VLAN tags, pcapng, reordering,
retransmissions, overlaps, a truncated file, frames cut by the snaplen, and input that is no capture."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import pytest

from tlsdoctor.cli import main
from tlsdoctor.commands.pcap import run_pcap
from tlsdoctor.errors import InputError
from tlsdoctor.pcap.analyse import Totals, analyse_flows
from tlsdoctor.pcap.reader import Capture
from tlsdoctor.testing import pcapgen
from tlsdoctor.testing.pcapgen import ACK, PSH, Flow, frame, tls_payloads, write_pcap, write_pcapng

GOLDEN = Path(__file__).parent.parent / "golden" / "pcap"
V4 = (bytes([198, 18, 0, 1]), bytes([198, 18, 0, 2]))
V6 = (bytes.fromhex("20010db8000000000000000000000001"), bytes.fromhex("20010db8000000000000000000000002"))


def healthy_flow(addresses: tuple[bytes, bytes] = V4, cport: int = 40000, start: float = 1.7e9) -> Flow:
    """The recorded healthy TLS 1.3 conversation, re-framed segment by segment."""
    flow = Flow(addresses[0], addresses[1], cport, 443, start=start).handshake()
    for side, data in tls_payloads(str(GOLDEN / "healthy-tls13.pcap")):
        flow.send(side, data)
    return flow.close()


def write(tmp_path: Path, packets: list[tuple[float, bytes]], linktype: int = 1, **kw: object) -> Path:
    path = tmp_path / "c.pcap"
    with path.open("wb") as f:
        write_pcap(f, [(t, frame(linktype, p)) for t, p in packets], linktype, **kw)  # type: ignore[arg-type]
    return path


def only_flow(path: Path) -> dict[str, object]:
    report = run_pcap(path)
    flows = report.extra["flows"]
    assert len(flows) == 1
    return flows[0]  # type: ignore[no-any-return]


@pytest.mark.parametrize("linktype", [1, 0, 101, 108, 113, 228, 276])
@pytest.mark.parametrize("addresses", [V4, V6], ids=["ipv4", "ipv6"])
def test_every_link_type_and_family(tmp_path: Path, linktype: int, addresses: tuple[bytes, bytes]) -> None:
    if linktype == 228 and addresses is V6:
        linktype = 229
    flow = only_flow(write(tmp_path, healthy_flow(addresses).packets, linktype))
    assert flow["outcome"] == "completed" and flow["verdict"] == "healthy"
    assert flow["sni"] == "localhost"
    assert flow["server"] == ("198.18.0.2:443" if addresses is V4 else "[2001:db8::2]:443")


def test_vlan_tags(tmp_path: Path) -> None:
    path = tmp_path / "vlan.pcap"
    with path.open("wb") as f:
        write_pcap(f, [(t, frame(1, p, vlans=(100, 200))) for t, p in healthy_flow().packets], 1)
    assert only_flow(path)["outcome"] == "completed"


def test_pcapng_with_two_interfaces_and_nanoseconds(tmp_path: Path) -> None:
    """Interface 0 (Ethernet, ns timestamps) carries one flow, interface 1 (SLL2, µs) another."""
    a, b = healthy_flow(cport=40001), healthy_flow(cport=40002, start=1.7e9 + 0.5)
    frames = [(t, 0, frame(1, p)) for t, p in a.packets] + [(t, 1, frame(276, p)) for t, p in b.packets]
    path = tmp_path / "c.pcapng"
    with path.open("wb") as f:
        write_pcapng(f, sorted(frames, key=lambda x: x[0]), (1, 276))
    report = run_pcap(path)
    assert [fl["outcome"] for fl in report.extra["flows"]] == ["completed", "completed"]
    assert report.extra["capture"]["format"] == "pcapng"
    first = report.extra["flows"][0]["events"]
    syn_ack = next(e for e in first if e["what"].startswith("SYN-ACK"))
    assert syn_ack["t_ms"] == pytest.approx(5.0, abs=0.001)  # half the 10 ms RTT, from ns timestamps


def test_reordered_retransmitted_and_overlapping_segments(tmp_path: Path) -> None:
    """The server's flight arrives out of order, one segment twice, one overlapping: the same handshake."""
    flow = Flow(*V4, 40000, 443, mss=400).handshake()
    payloads = list(tls_payloads(str(GOLDEN / "healthy-tls13.pcap")))
    side, hello = payloads[0]
    flow.send(side, hello)
    server = next(d for s, d in payloads if s == "server")
    segs = flow.segments("server", server)
    assert len(segs) >= 3
    order = [segs[2], segs[0], segs[1], segs[1], *segs[3:]]
    for seq, chunk in order:
        flow.raw("server", ACK | PSH, chunk, seq=seq)
    seq0, chunk0 = segs[0]
    flow.raw("server", ACK | PSH, chunk0 + segs[1][1][:50], seq=seq0)  # overlap: old bytes plus some new
    flow.advance("server", len(server))
    for s, d in payloads[1:]:
        if d is not server:
            flow.send(s, d)
    flow.close()
    fl = only_flow(write(tmp_path, flow.packets))
    assert fl["outcome"] == "completed"
    assert fl["retransmissions"]["server"] >= 2
    assert any(e["what"].startswith("ServerHello") for e in fl["events"])


def test_truncated_final_packet_gives_a_partial_report(tmp_path: Path) -> None:
    path = write(tmp_path, healthy_flow().packets)
    data = path.read_bytes()
    path.write_bytes(data[:-30])
    report = run_pcap(path)
    assert report.extra["capture"]["warnings"] and "truncated" in report.extra["capture"]["warnings"][0]
    assert report.checks[0].status.value == "warn"
    assert report.extra["flows"][0]["sni"] == "localhost"


def test_snaplen_cut_frames_are_read_as_far_as_they_go(tmp_path: Path) -> None:
    """Frames cut at 300 bytes: the ClientHello's first 246 bytes are all there is; no crash, and the
    report says what the snaplen hid."""
    path = write(tmp_path, healthy_flow().packets, snaplen=300)
    with pytest.raises(InputError, match="cut by the capture's snaplen"):
        run_pcap(path)
    path = write(tmp_path, healthy_flow().packets, snaplen=1200)
    report = run_pcap(path)
    assert "cut by the capture's snaplen (1200 bytes kept)" in report.checks[0].summary
    assert report.extra["flows"][0]["sni"] == "localhost"


def test_flows_stream_before_the_file_ends(tmp_path: Path) -> None:
    """A closed flow is reported while later packets are still unread."""
    first = healthy_flow(cport=40001)
    later = healthy_flow(cport=40002, start=1.7e9 + 10)
    filler = Flow(*V4, 40003, 8080, start=1.7e9 + 10).handshake()
    for _ in range(3000):
        filler.send("client", b"x" * 100)
    path = write(tmp_path, first.packets + sorted(later.packets + filler.packets))
    totals = Totals()
    with Capture(path) as capture:
        flows = analyse_flows(capture, totals)
        report = next(flows)
        assert report.client.endswith(":40001")
        assert capture.frames_read < len(first.packets) + len(later.packets) + len(filler.packets)
        rest = list(flows)
    assert [r.client[-5:] for r in rest] == ["40002"]


def test_many_flows_keep_the_table_bounded(tmp_path: Path) -> None:
    from tlsdoctor.pcap.flows import FlowTable

    table = FlowTable(max_flows=50)
    out = []
    for i in range(200):
        flow = Flow(*V4, 20000 + i, 443, start=1.7e9 + i * 0.001).handshake()
        for t, p in flow.packets:
            seg = __import__("tlsdoctor.pcap.decode", fromlist=["decode"]).decode(101, p)
            out.extend(table.add(seg, t))  # type: ignore[arg-type]
        assert len(table.flows) <= 50
    out.extend(table.close_all())
    assert len(out) == 200 and table.evicted_for_room > 0


# -- bad input: one line, exit 2 ------------------------------------------------------------------
def _cli(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    status = main(["pcap", str(path)])
    err = capsys.readouterr().err
    return status, err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "not a pcap or pcapng"),
        (b"\xd4\xc3\xb2\xa1\x02\x00", "truncated pcap file header"),
        (struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 147), "link type 147 is not supported"),
        (struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1), "holds no packets"),
        (b"\x0a\x0d\x0d\x0a\x1c\x00\x00\x00\x00\x00", "corrupt pcapng"),
    ],
    ids=["empty", "text", "short-header", "unknown-link", "no-packets", "pcapng-cut"],
)
def test_bad_input_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, message: str
) -> None:
    path = tmp_path / "bad.pcap"
    path.write_bytes(content)
    status, err = _cli(path, capsys)
    assert status == 2
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_capture_without_tls_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    flow = (
        Flow(*V4, 40000, 80)
        .handshake()
        .send("client", b"GET / HTTP/1.1\r\n\r\n")
        .send("server", b"HTTP/1.1 200 OK\r\n\r\n")
    )
    status, err = _cli(write(tmp_path, flow.close().packets), capsys)
    assert status == 2 and "no TLS connection among 1 TCP flows" in err


def test_missing_file_and_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli(tmp_path / "nope.pcap", capsys)[0] == 2
    assert _cli(tmp_path, capsys)[0] == 2


def test_corrupt_record_length_stops_with_a_warning(tmp_path: Path) -> None:
    path = write(tmp_path, healthy_flow().packets)
    data = bytearray(path.read_bytes())
    buf = io.BytesIO()
    write_pcap(buf, [(t, frame(1, p)) for t, p in healthy_flow().packets[:12]], 1)
    cut = len(buf.getvalue())
    data[cut + 8 : cut + 12] = struct.pack("<I", 10**8)  # the 13th record claims 100 MB
    path.write_bytes(bytes(data))
    report = run_pcap(path)
    assert "corrupt packet record" in report.extra["capture"]["warnings"][0]


def test_pcapgen_is_read_back_by_dpkt() -> None:
    """The writer's framing is what an independent reader (dpkt) expects."""
    import dpkt

    buf = io.BytesIO()
    packets = healthy_flow().packets
    write_pcap(buf, [(t, frame(1, p)) for t, p in packets], 1)
    buf.seek(0)
    read = [(ts, dpkt.ethernet.Ethernet(b)) for ts, b in dpkt.pcap.Reader(buf)]
    assert len(read) == len(packets)
    assert all(isinstance(e.data.data, dpkt.tcp.TCP) for _, e in read)
    assert read[0][1].data.data.flags == pcapgen.SYN


def _stalled_flight(addresses: tuple[bytes, bytes], icmp: bool) -> Flow:
    """Seen at the server: its certificate flight's full-size segments are retransmitted and never ACKed;
    with ``icmp`` a router says "fragmentation needed" (IPv6: packet too big) about the first one."""
    flow = Flow(*addresses, 40000, 443, mss=1448).handshake()
    payloads = list(tls_payloads(str(GOLDEN / "healthy-tls13.pcap")))
    flow.send("client", payloads[0][1])
    flight = next(d for s, d in payloads if s == "server") * 2  # large enough for two full segments
    segs = flow.segments("server", flight)
    big = [s for s in segs if len(s[1]) == 1448]
    for seq, chunk in segs:
        flow.raw("server", ACK | PSH, chunk, seq=seq)
    if icmp:
        router = (
            bytes([198, 18, 0, 254])
            if len(addresses[0]) == 4
            else bytes.fromhex("20010db8" + "00" * 11 + "fe")
        )
        quoted = next(p for _, p in flow.packets[::-1] if len(p) > 1000)
        flow.packets.append((flow.now + 0.001, pcapgen.icmp_error(router, addresses[1], quoted, mtu=1280)))
    for wait in (0.2, 0.4, 0.8):
        flow.raw("server", ACK | PSH, big[0][1], seq=big[0][0], dt=wait)
    flow.advance("server", len(flight))
    return flow.close("client", reset=True)


@pytest.mark.parametrize("addresses", [V4, V6], ids=["ipv4", "ipv6"])
def test_flight_retransmitted_into_silence_is_a_black_hole(
    tmp_path: Path, addresses: tuple[bytes, bytes]
) -> None:
    fl = only_flow(write(tmp_path, _stalled_flight(addresses, icmp=False).packets))
    top = fl["causes"][0]
    assert top["id"] == "path-mtu-blackhole" and top["confidence"] >= 0.7
    assert "1448-byte segments were retransmitted" in top["summary"]


@pytest.mark.parametrize("addresses", [V4, V6], ids=["ipv4", "ipv6"])
def test_icmp_frag_needed_is_tied_to_its_flow(tmp_path: Path, addresses: tuple[bytes, bytes]) -> None:
    """The router's ICMP quotes the server's segment: the flow shows it, and the stall reads as the
    sender ignoring it (same segment size retransmitted after it)."""
    fl = only_flow(write(tmp_path, _stalled_flight(addresses, icmp=True).packets))
    icmp = [e for e in fl["events"] if e["from"] == "icmp"]
    assert (
        icmp
        and "frag-needed (next-hop MTU 1280)" in icmp[0]["what"]
        and "about the server's packet" in icmp[0]["what"]
    )
    top = fl["causes"][0]
    assert fl["outcome"] == "stalled"
    assert top["id"] == "path-mtu-blackhole" and "did arrive" in top["summary"]


def test_refused_retry_to_a_tls_server_on_another_port_is_reported(tmp_path: Path) -> None:
    """A refused SYN to port 9999 counts when a TLS flow went to the same server and port; one to another
    port of that server does not."""
    from tlsdoctor.testing.pcapgen import RST, SYN, ip_packet

    ok = Flow(*V4, 40000, 9999).handshake()
    for side, data in tls_payloads(str(GOLDEN / "healthy-tls13.pcap")):
        ok.send(side, data)
    ok.close()
    t = ok.now + 1
    refused = [
        (t, ip_packet(V4[0], V4[1], 40001, 9999, 7, 0, SYN, mss=1460)),
        (t + 0.001, ip_packet(V4[1], V4[0], 9999, 40001, 0, 8, RST | ACK)),
        (t + 2, ip_packet(V4[0], V4[1], 40002, 7777, 7, 0, SYN, mss=1460)),
        (t + 2.001, ip_packet(V4[1], V4[0], 7777, 40002, 0, 8, RST | ACK)),
    ]
    report = run_pcap(write(tmp_path, ok.packets + refused))
    flows = report.extra["flows"]
    assert [(f["server"], f["outcome"]) for f in flows] == [
        ("198.18.0.2:9999", "completed"),
        ("198.18.0.2:9999", "refused"),
    ]
    assert flows[1]["causes"][0]["id"] == "tcp-refused"
