"""``diagnose --capture`` / ``--capture-file F``: record the probes' own packets and TLS secrets while
diagnosing, then read them back with the ``pcap`` analysis and add the wire evidence to the report.

The probes are not changed: an AF_PACKET recorder (net/recorder.py) keeps the packets to and from
the target's addresses and port, and the stdlib-ssl probes append their secrets to a key log
(``Options.keylog_file``, the SSLKEYLOGFILE format), so the capture is decrypted like any user's.
``--capture-file F`` keeps the pcap at F and the key log at ``F.keys``; otherwise both live in a
temporary directory removed after the run. Needs root or CAP_NET_RAW, checked before the run.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import socket
import tempfile
from pathlib import Path

from tlsdoctor.context import Context
from tlsdoctor.errors import InputError, UsageError
from tlsdoctor.model import CheckResult, Report, Status
from tlsdoctor.net.recorder import PacketRecorder, can_record, write_pcap
from tlsdoctor.observations.capture import ProbeCapture

__all__ = ["CaptureRequest", "capture_request", "diagnose_captured", "keylog_path_for"]


@dataclasses.dataclass(frozen=True, slots=True)
class CaptureRequest:
    keep: Path | None  # --capture-file F: where the pcap stays (its key log at F.keys); None: temporary


def keylog_path_for(pcap: Path) -> Path:
    return pcap.with_name(pcap.name + ".keys")


def capture_request(capture: bool, capture_file: Path | None) -> CaptureRequest | None:
    """Validate --capture / --capture-file before the run: privileges, and files that can be written."""
    if not capture and capture_file is None:
        return None
    if not can_record():
        raise UsageError("--capture needs root or CAP_NET_RAW (to open an AF_PACKET socket)")
    if capture_file is not None:
        for path in (capture_file, keylog_path_for(capture_file)):
            _writable(path)
    return CaptureRequest(capture_file)


def _writable(path: Path) -> None:
    existed = os.path.lexists(path)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_NONBLOCK | os.O_CLOEXEC, 0o600)
        os.close(fd)
    except OSError as exc:
        raise InputError(f"cannot write --capture-file {str(path)!r}: {exc.strerror or exc}") from None
    if not existed:
        os.unlink(path)


async def _target_addresses(ctx: Context) -> set[str]:
    """The addresses the probes will connect to, for the recorder's filter: --connect-to or the IP
    literal, else what the system resolver says now (the diagnosis resolves again on its own)."""
    opts = ctx.options
    if opts.connect_to:
        return {opts.connect_to}
    if opts.host_is_ip:
        return {opts.host}
    try:
        infos = await asyncio.wait_for(
            asyncio.get_running_loop().getaddrinfo(opts.host, opts.port, type=socket.SOCK_STREAM), ctx.timeout
        )
    except (OSError, TimeoutError, UnicodeError):
        return set()
    return {str(info[4][0]) for info in infos}


async def diagnose_captured(ctx: Context, request: CaptureRequest) -> Report:
    """The diagnosis, recorded; the report gains a ``capture`` check with the wire evidence."""
    from tlsdoctor.commands.diagnose import diagnose

    with tempfile.TemporaryDirectory(prefix="tlsdoctor-capture-") as tmp:
        pcap = request.keep or Path(tmp) / "probes.pcap"
        keylog = keylog_path_for(pcap)
        keylog.unlink(missing_ok=True)  # OpenSSL appends: start from an empty key log
        fd = os.open(keylog, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600)
        os.close(fd)
        addresses = await _target_addresses(ctx)
        options = dataclasses.replace(ctx.options, keylog_file=keylog)
        recorder = PacketRecorder(ctx.options.port, addresses)
        async with recorder:
            report = await diagnose(dataclasses.replace(ctx, options=options))
        write_pcap(pcap, recorder.packets)
        observation = ProbeCapture(
            packets=len(recorder.packets),
            bytes=recorder.kept_bytes,
            dropped=recorder.dropped,
            addresses=tuple(sorted(addresses)),
            port=ctx.options.port,
            pcap=str(pcap) if request.keep else None,
            keylog=str(keylog) if request.keep else None,
        )
        check = CheckResult(
            id="capture",
            status=Status.PASS if recorder.packets else Status.WARN,
            summary=observation.describe(),
            observations=(observation,),
        )
        return dataclasses.replace(report, checks=(*report.checks, check))
