"""Benchmark of ``tlsdoctor pcap`` on large generated captures, as ratios measured in one run.

    .venv/bin/python bench/pcap_bench.py [--sizes 100,1000] [--tshark-size 500] [--dir D] [--keep]

1. Writes captures of the given sizes (MB) synthetically (tlsdoctor.testing.pcapgen around the recorded
   handshakes of tests/golden/pcap): thousands of TLS flows, 64 open at a time, 7 in 8 completing and then
   carrying 64-640 KB of application data, one in eight failing (an injected RST, a client alert, a server
   FIN, silence).
2. For each file: ``cat FILE > /dev/null`` (the disk, or here the page cache), ``tlsdoctor pcap FILE`` (the
   human report, streamed) with its peak RSS and the time its first flow was printed; on the tshark-size
   file also ``tshark -r FILE -Y "tls.handshake or tcp.flags.reset==1 or tls.alert_message"``.
3. Micro: decoding the same frames with dpkt's Ethernet/IP/TCP classes vs pcap/decode.py's unpack_from,
   and iterating the file with dpkt.pcap.Reader vs pcap/reader.py.
Prints one table (Markdown). The big files are deleted afterwards unless --keep.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import struct
import subprocess
import sys
import time
from pathlib import Path

from tlsdoctor.testing.pcapgen import Flow, frame, tls_payloads

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden" / "pcap"
TSHARK_FILTER = "tls.handshake or tcp.flags.reset==1 or tls.alert_message"
CONCURRENT = 64
APP_RECORD = 16384


def _conversation(name: str) -> list[tuple[str, bytes]]:
    return list(tls_payloads(str(GOLDEN / f"{name}.pcap")))


def _flow(
    kind: str, i: int, start: float, templates: dict[str, list[tuple[str, bytes]]], bulk: bytes
) -> Flow:
    client = bytes([10, 1, (i >> 8) & 0xFF, i & 0xFF])
    flow = Flow(client, bytes([198, 18, 0, 10]), 20000 + i % 40000, 443, start=start, server_ttl=57)
    flow.handshake()
    # close-after-hello: the ClientHello only (the recorded client's answer to the FIN comes after it)
    for side, data in templates[kind][:1] if kind == "close-after-hello" else templates[kind]:
        flow.send(side, data)
    if kind == "healthy-tls13":
        for k in range(len(bulk) // APP_RECORD):
            chunk = bulk[k * APP_RECORD : (k + 1) * APP_RECORD]
            flow.send("server", b"\x17\x03\x03" + struct.pack("!H", len(chunk)) + chunk, dt=0.0002)
        return flow.close()
    if kind == "reset-after-hello":
        return flow.close("server", reset=True, ttl=250)
    if kind == "close-after-hello":
        return flow.close("server")
    return flow.close("client")


def generate(path: Path, size_mb: int) -> int:
    """Write about ``size_mb`` MB; returns the number of flows."""
    failing = ["reset-after-hello", "self-signed-tls12", "close-after-hello", "silent"]
    templates = {k: _conversation(k) for k in ["healthy-tls13", *failing]}
    rng = random.Random(7)
    bulk = rng.randbytes(APP_RECORD * 40)
    target = size_mb * 1_000_000
    flows = 0
    t = time.time() - 86400  # within the recorded certificates validity
    with path.open("wb", buffering=1 << 22) as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        while out.tell() < target:
            batch = []
            for j in range(CONCURRENT):
                n = flows + j  # one flow in eight fails, each failure in turn
                kind = failing[n // 8 % len(failing)] if n % 8 == 7 else "healthy-tls13"
                size = bulk[: APP_RECORD * rng.randint(4, 40)]
                batch.append(_flow(kind, flows + j, t + j * 0.003, templates, size))
            flows += CONCURRENT
            t += 2.0
            packets = sorted((p for f in batch for p in f.packets), key=lambda p: p[0])
            rec = struct.Struct("<IIII")
            for ts, pkt in packets:
                data = frame(1, pkt)
                sec = int(ts)
                out.write(rec.pack(sec, int((ts - sec) * 1e6), len(data), len(data)))
                out.write(data)
    return flows


def timed(cmd: list[str], *, shell: bool = False) -> tuple[float, int, float | None]:
    """(seconds, peak RSS in MB of the child, seconds until its first line of output)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    proc = subprocess.Popen(
        " ".join(cmd) if shell else cmd, shell=shell, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    assert proc.stdout is not None
    first = None
    for line in proc.stdout:
        if first is None and line.strip():
            first = time.perf_counter() - start
    proc.wait()
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # ru_maxrss of children is the largest of any child so far: run the small-footprint commands first.
    return seconds, max(peak, before) // 1024, first


def peak_rss(cmd: list[str]) -> int:
    """The command's own peak RSS (MB), from GNU time when present, else 0."""
    if not Path("/usr/bin/time").exists():
        return 0
    out = subprocess.run(["/usr/bin/time", "-f", "%M", *cmd], capture_output=True, text=True, check=False)
    return int(out.stderr.strip().splitlines()[-1]) // 1024


def micro(path: Path, limit: int = 200_000) -> dict[str, float]:
    """CPU ns per frame (process time: the machine is shared): dpkt's decoders vs unpack_from;
    dpkt.pcap.Reader vs pcap/reader.py."""
    import dpkt

    from tlsdoctor.pcap.decode import decode
    from tlsdoctor.pcap.reader import Capture

    frames = []
    with path.open("rb") as f:
        for _, buf in dpkt.pcap.Reader(f):
            frames.append(buf)
            if len(frames) >= limit:
                break
    start = time.process_time()
    for buf in frames:
        eth = dpkt.ethernet.Ethernet(buf)
        ip = eth.data
        tcp = ip.data
        fields = (ip.src, ip.dst, ip.ttl, tcp.sport, tcp.dport, tcp.seq, tcp.flags, tcp.data)
        del fields
    dpkt_ns = (time.process_time() - start) / len(frames) * 1e9
    start = time.process_time()
    for buf in frames:
        decode(1, buf)
    ours_ns = (time.process_time() - start) / len(frames) * 1e9
    start = time.process_time()
    with path.open("rb") as f:
        n = sum(1 for _ in dpkt.pcap.Reader(f))
    dpkt_read = (time.process_time() - start) / n * 1e9
    start = time.process_time()
    with Capture(path) as capture:
        n = sum(1 for _ in capture)
    ours_read = (time.process_time() - start) / n * 1e9
    return {"dpkt_decode": dpkt_ns, "decode": ours_ns, "dpkt_read": dpkt_read, "read": ours_read}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100,1000")
    parser.add_argument("--tshark-size", type=int, default=500)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/pcapbench"))
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    sizes = sorted({int(s) for s in args.sizes.split(",")} | {args.tshark_size})
    tool = str(Path(sys.executable).with_name("tlsdoctor"))
    rows = []
    micro_row: dict[str, float] = {}
    for size in sizes:
        path = args.dir / f"bench-{size}.pcap"
        start = time.perf_counter()
        flows = generate(path, size)
        made = time.perf_counter() - start
        mb = path.stat().st_size / 1e6
        cat, _, _ = timed(["cat", str(path), ">", "/dev/null"], shell=True)
        ours, _, first = timed([tool, "pcap", str(path)])
        rss = peak_rss([tool, "pcap", str(path)])
        row = {"MB": mb, "flows": flows, "made_s": made, "cat_s": cat, "pcap_s": ours, "first_s": first,
               "rss": rss, "tshark_s": None, "tshark_rss": None}  # fmt: skip
        if size == args.tshark_size:
            row["tshark_s"], _, _ = timed(["tshark", "-r", str(path), "-Y", f'"{TSHARK_FILTER}"'], shell=True)
            row["tshark_rss"] = peak_rss(["tshark", "-r", str(path), "-Y", TSHARK_FILTER])
        if not micro_row:
            micro_row = micro(path)
        rows.append(row)
        if not args.keep:
            os.unlink(path)
    print(
        "| file MB | flows | cat s (MB/s) | tlsdoctor pcap s (MB/s) | first flow s | peak RSS MB | "
        "tshark s | tshark RSS MB | tshark / pcap |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        ts = f"{r['tshark_s']:.1f}" if r["tshark_s"] else "-"
        ratio = f"{r['tshark_s'] / r['pcap_s']:.2f}x" if r["tshark_s"] else "-"
        print(
            f"| {r['MB']:.0f} | {r['flows']} | {r['cat_s']:.2f} ({r['MB'] / r['cat_s']:.0f}) | "
            f"{r['pcap_s']:.1f} ({r['MB'] / r['pcap_s']:.0f}) | {r['first_s'] or 0:.2f} | {r['rss']} | "
            f"{ts} | {r['tshark_rss'] or '-'} | {ratio} |"
        )
    m = micro_row
    print(
        f"\nper frame: dpkt Ethernet/IP/TCP decode {m['dpkt_decode']:.0f} ns vs unpack_from "
        f"{m['decode']:.0f} ns ({m['dpkt_decode'] / m['decode']:.1f}x); "
        f"dpkt.pcap.Reader {m['dpkt_read']:.0f} ns vs "
        f"pcap/reader.py {m['read']:.0f} ns ({m['dpkt_read'] / m['read']:.1f}x)"
    )


if __name__ == "__main__":
    main()
