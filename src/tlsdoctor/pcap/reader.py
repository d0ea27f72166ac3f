"""pcap and pcapng files as a stream of frames, in bounded memory, whatever the file's size.

The file headers (pcap's file header, pcapng's section and interface description blocks with their
options) are read with dpkt's definitions. The per-packet records are read here with ``struct``: dpkt's
``pcap.Reader`` builds a header object per packet and hides the original length that tells a frame cut
by the snaplen from a whole one, and its ``pcapng.Reader`` keeps only the first interface's link type;
on a 1 GB capture the per-record loop below is about 3x faster (bench/pcap_bench.py).

Damage is data, not an exception: a file that is not a capture, or has no usable link type, raises
:class:`InputError` before any frame is read; damage later (a truncated last record, a corrupt length)
ends the stream there with a warning in :attr:`Capture.warnings`, so a partial report still comes out.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO, NamedTuple

from tlsdoctor.errors import InputError
from tlsdoctor.pcap.decode import LINKTYPE_NAMES, SUPPORTED_LINKTYPES

PCAP_MAGICS = {
    b"\xa1\xb2\xc3\xd4": (">", 1e-6),
    b"\xd4\xc3\xb2\xa1": ("<", 1e-6),
    b"\xa1\xb2\x3c\x4d": (">", 1e-9),
    b"\x4d\x3c\xb2\xa1": ("<", 1e-9),
}
PCAPNG_SHB = b"\x0a\x0d\x0d\x0a"
# No link layer holds a frame this large (pcap's own limit is 256 KiB; tcpdump uses 262144 as its
# default snaplen): a larger record length is corruption, and reading it would cost unbounded memory.
MAX_RECORD = 256 * 1024
MAX_BLOCK = MAX_RECORD + 4096
_BUFFER = 1 << 20


class Frame(NamedTuple):
    ts: float  # seconds since the epoch
    linktype: int
    data: bytes  # the captured bytes (a snaplen may have cut them)
    wire_len: int  # the frame's length on the wire


class Capture:
    """An open capture: its format, and its frames in file order (a one-shot iterator)."""

    def __init__(self, path: Path, stream: BinaryIO | None = None) -> None:
        """Open ``path`` (or read ``stream``, named ``path`` in messages: a pipe, bytes in memory)."""
        self.path = path
        try:
            self._file: BinaryIO = stream or open(path, "rb", buffering=_BUFFER)  # noqa: SIM115 - close()
        except IsADirectoryError:
            raise InputError(f"{path}: is a directory, not a capture file") from None
        except OSError as exc:
            raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
        self.warnings: list[str] = []
        # Set by the caller: called with (read buffer, frame start, frame end, time) for each whole pcap
        # frame before it is cut out; True means it was consumed there (pcap/fastpath.Skimmer).
        self.skip: Callable[[bytes, int, int, float], bool] | None = None
        self.frames_read = 0
        self.bytes_read = 0
        self.linktypes: set[int] = set()  # the link types of the file's interfaces
        self.size = _size(self._file)
        try:
            self._open()
        except BaseException:
            self._file.close()
            raise

    def _open(self) -> None:
        head = self._file.read(4)
        if not head:
            raise InputError(f"{self.path}: the file is empty (0 bytes): not a capture")
        if head in PCAP_MAGICS:
            self.format = "pcap"
            self._iter = self._pcap(head)
        elif head == PCAPNG_SHB:
            self.format = "pcapng"
            self._iter = self._pcapng(head)
        else:
            raise InputError(
                f"{self.path}: not a pcap or pcapng capture (it starts with {head.hex()}; "
                "save one with tcpdump -w FILE or Wireshark)"
            )
        self._first = next(self._iter, None)  # reads the headers: a bad one fails here, before any output

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> Capture:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __iter__(self) -> Iterator[Frame]:
        first, self._first = self._first, None
        if first is not None:
            yield first
        yield from self._iter

    def _warn(self, text: str) -> None:
        self.warnings.append(f"{text}; the report covers what came before")

    # -- pcap (https://www.ietf.org/archive/id/draft-ietf-opsawg-pcap-04.html) --------------------
    def _pcap(self, magic: bytes) -> Iterator[Frame]:
        import dpkt

        rest = self._file.read(20)
        if len(rest) < 20:
            raise InputError(f"{self.path}: truncated pcap file header ({4 + len(rest)} of 24 bytes)")
        order, unit = PCAP_MAGICS[magic]
        header = (dpkt.pcap.LEFileHdr if order == "<" else dpkt.pcap.FileHdr)(magic + rest)
        linktype = header.linktype & 0x0FFFFFFF  # the top bits carry FCS flags (pcap draft §4)
        _check_linktype(self.path, linktype)
        self.linktype_names = {LINKTYPE_NAMES[linktype]}
        self.linktypes = {linktype}
        unpack = struct.Struct(order + "IIII").unpack_from
        read, pos = self._file.read, 24  # pos: file offset of buf[0]
        buf, off, eof = b"", 0, False
        skip = self.skip
        while True:
            if not eof and len(buf) - off < 16 + MAX_RECORD:  # records are cut from large reads
                more = read(_BUFFER)
                eof = not more
                skip = self.skip  # set by the caller after the first frame
                buf, pos, off = buf[off:] + more, pos + off, 0
            if len(buf) - off < 16:
                if len(buf) > off:
                    self._warn(f"the file ends inside a packet record header at byte {pos + off}")
                break
            sec, frac, caplen, wire_len = unpack(buf, off)
            if caplen > MAX_RECORD:
                self._warn(f"corrupt packet record at byte {pos + off} (captured length {caplen})")
                break
            start, end = off + 16, off + 16 + caplen
            if (
                skip is not None
                and end <= len(buf)
                and wire_len == caplen
                and skip(buf, start, end, sec + frac * unit)
            ):
                off = end
                self.frames_read += 1
                continue
            data = buf[start:end]
            off = min(end, len(buf))
            self.bytes_read = pos + off
            self.frames_read += 1
            if len(data) < caplen:
                self._warn(f"the file ends inside packet {self.frames_read} (truncated capture)")
                if data:
                    yield Frame(sec + frac * unit, linktype, data, max(wire_len, caplen))
                break
            # a plain tuple, the hot path's shape (Frame's fields, without its constructor's cost)
            yield (sec + frac * unit, linktype, data, wire_len if wire_len > caplen else caplen)  # type: ignore[misc]

    # -- pcapng (https://www.ietf.org/archive/id/draft-ietf-opsawg-pcapng-02.html) ---------------
    def _pcapng(self, magic: bytes) -> Iterator[Frame]:
        import dpkt

        read, pos = self._file.read, 0
        order = "<"
        interfaces: list[tuple[int, float, int]] = []  # (linktype, seconds per tick, offset) per IDB
        unknown: set[int] = set()
        self.linktype_names = set()
        self.linktypes = set()
        epb = struct.Struct("<IIIII")
        first, pending = True, magic
        while True:
            head, pending = pending + read(8 - len(pending)), b""
            if len(head) < 8:
                if head:
                    self._warn(f"the file ends inside a block header at byte {pos}")
                break
            if head[:4] == PCAPNG_SHB:
                body = read(4)
                if len(body) < 4 or body not in (b"\x4d\x3c\x2b\x1a", b"\x1a\x2b\x3c\x4d"):
                    if first:
                        raise InputError(f"{self.path}: corrupt pcapng section header (no byte-order magic)")
                    self._warn(f"corrupt pcapng section header at byte {pos}")
                    break
                order = "<" if body == b"\x4d\x3c\x2b\x1a" else ">"
                epb = struct.Struct(order + "IIIII")
                interfaces = []  # a new section restarts the interface numbering
                head += body
            btype, blen = struct.unpack(order + "II", head[:8])
            if blen < 12 or blen % 4 or blen > MAX_BLOCK:
                if first:
                    raise InputError(f"{self.path}: corrupt pcapng section header (block length {blen})")
                self._warn(f"corrupt pcapng block at byte {pos} (length {blen})")
                break
            body = read(blen - len(head))
            if len(body) < blen - len(head):
                if first:
                    raise InputError(f"{self.path}: truncated pcapng section header")
                self._warn(f"the file ends inside a pcapng block at byte {pos} (truncated capture)")
                break
            pos += blen
            self.bytes_read = pos
            first = False
            if btype == 6 and len(body) >= 20:  # Enhanced Packet Block
                iface, high, low, caplen, wire_len = epb.unpack_from(body, 0)
                if iface >= len(interfaces) or caplen > len(body) - 24:
                    self._warn(f"corrupt pcapng packet block at byte {pos - blen}")
                    break
                linktype, tick, offset = interfaces[iface]
                if linktype in unknown:
                    continue
                self.frames_read += 1
                yield Frame(offset + ((high << 32) | low) * tick, linktype, body[20 : 20 + caplen], wire_len)
            elif btype == 3 and len(body) >= 8 and interfaces:  # Simple Packet Block: interface 0, no time
                wire_len = struct.unpack_from(order + "I", body, 0)[0]
                linktype = interfaces[0][0]
                if linktype not in unknown:
                    self.frames_read += 1
                    yield Frame(0.0, linktype, body[4 : 4 + min(wire_len, len(body) - 8)], wire_len)
            elif btype == 1:  # Interface Description Block
                cls = (
                    dpkt.pcapng.InterfaceDescriptionBlockLE
                    if order == "<"
                    else dpkt.pcapng.InterfaceDescriptionBlock
                )
                try:
                    idb = cls(head + body)
                except (dpkt.dpkt.Error, struct.error, ValueError):
                    self._warn(f"corrupt pcapng interface block at byte {pos - blen}")
                    break
                tick, offset = _ts_options(idb, order)
                interfaces.append((idb.linktype, tick, offset))
                if idb.linktype in SUPPORTED_LINKTYPES:
                    self.linktype_names.add(LINKTYPE_NAMES[idb.linktype])
                    self.linktypes.add(idb.linktype)
                elif idb.linktype not in unknown:
                    unknown.add(idb.linktype)
                    self.warnings.append(
                        f"interface {len(interfaces) - 1} has link type {idb.linktype}, which this reader "
                        "does not decode: its packets are skipped"
                    )
        if interfaces and not self.linktype_names and not self.frames_read:
            _check_linktype(self.path, interfaces[0][0])


def _ts_options(idb: object, order: str) -> tuple[float, int]:
    """The interface's timestamp unit (if_tsresol, default microseconds) and offset (if_tsoffset)."""
    tick, offset = 1e-6, 0
    for opt in getattr(idb, "opts", ()):
        if opt.code == 9 and len(opt.data) >= 1:  # if_tsresol
            value = opt.data[0]
            tick = 2.0 ** -(value & 0x7F) if value & 0x80 else 10.0 ** -(value & 0x7F)
        elif opt.code == 14 and len(opt.data) >= 8:  # if_tsoffset
            offset = struct.unpack_from(order + "q", opt.data, 0)[0]
    return tick, offset


def _check_linktype(path: Path, linktype: int) -> None:
    if linktype not in SUPPORTED_LINKTYPES:
        known = ", ".join(sorted({f"{name}" for name in LINKTYPE_NAMES.values()}))
        raise InputError(f"{path}: link type {linktype} is not supported (supported: {known})")


def _size(f: BinaryIO) -> int:
    import os

    try:
        return os.fstat(f.fileno()).st_size
    except OSError:
        return 0
