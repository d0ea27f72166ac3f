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
import contextlib
import dataclasses
import os
import tempfile
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from tlsdoctor.context import CheckObserver, Context
from tlsdoctor.errors import InputError, UsageError
from tlsdoctor.model import Cause, CheckResult, Evidence, Report, Status
from tlsdoctor.net.recorder import PacketRecorder, can_record, write_pcap
from tlsdoctor.observations.base import Observation
from tlsdoctor.observations.capture import DecryptedHandshake, ProbeCapture
from tlsdoctor.observations.dns import DnsLookup

if TYPE_CHECKING:
    from tlsdoctor.pcap.analyse import FlowReport

__all__ = [
    "CHECK_ID",
    "CaptureRequest",
    "capture_request",
    "diagnose_captured",
    "keylog_path_for",
    "with_wire_evidence",
]

CHECK_ID = "capture"
MAX_FLOW_EVIDENCE = 2  # flows quoted per cause


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


class _Watch:
    """The run's observer while recording: each address the diagnosis's own DNS checks answer is added
    to the recorder's filter as the check ends, before any probe connects to it (the tcp and TLS steps
    wait for DNS). No lookup of our own: the recording follows the resolver the diagnosis asks (the
    system's, or --resolver's), not a second getaddrinfo that may answer differently."""

    def __init__(self, recorder: PacketRecorder, inner: CheckObserver | None, ctx: Context) -> None:
        self.recorder, self.inner = recorder, inner
        opts = ctx.options
        first = opts.connect_to or (opts.host if opts.host_is_ip else None)
        self.addresses: set[str] = set()
        self.fixed = first is not None  # --connect-to or an IP literal: DNS does not choose the address
        if first is not None:
            self._add(first)

    def _add(self, address: str) -> None:
        with contextlib.suppress(ValueError):  # not an address (a resolver's odd answer): nothing to watch
            self.recorder.watch(address)
            self.addresses.add(address)

    def started(self, check_id: str) -> None:
        if self.inner is not None:
            self.inner.started(check_id)

    def finished(self, result: CheckResult) -> None:
        if not self.fixed:
            for o in result.observations:
                if isinstance(o, DnsLookup):
                    for address in o.addresses:
                        self._add(address)
        if self.inner is not None:
            self.inner.finished(result)


async def diagnose_captured(ctx: Context, request: CaptureRequest) -> Report:
    """The diagnosis, recorded; the report gains a ``capture`` check with the wire evidence."""
    from tlsdoctor.commands.diagnose import diagnose

    with tempfile.TemporaryDirectory(prefix="tlsdoctor-capture-") as tmp:
        pcap = request.keep or Path(tmp) / "probes.pcap"
        keylog = keylog_path_for(pcap)
        keylog.unlink(missing_ok=True)  # OpenSSL appends: start from an empty key log
        os.close(os.open(keylog, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600))
        options = dataclasses.replace(ctx.options, keylog_file=keylog)
        recorder = PacketRecorder(ctx.options.port)
        watch = _Watch(recorder, ctx.observer, ctx)
        async with recorder:
            report = await diagnose(dataclasses.replace(ctx, options=options, observer=watch))
        addresses = watch.addresses
        write_pcap(pcap, recorder.packets)
        recorded = ProbeCapture(
            packets=len(recorder.packets),
            bytes=recorder.kept_bytes,
            dropped=recorder.dropped,
            addresses=tuple(sorted(addresses)),
            port=ctx.options.port,
            pcap=str(pcap) if request.keep else None,
            keylog=str(keylog) if request.keep else None,
            note=_proxy_note(ctx),
        )
        flows = await asyncio.to_thread(_analyse, pcap, keylog) if recorder.packets else []
    return with_wire_evidence(report, recorded, flows)


def _proxy_note(ctx: Context) -> str:
    """The recording keeps the target's packets: probes tunnelled through a proxy talk to the proxy."""
    from tlsdoctor.net.proxy import proxy_for

    opts = ctx.options
    proxy = proxy_for(opts.host, opts.proxy, opts.no_proxy)
    if proxy is None:
        return ""
    return f"probes through the proxy {proxy.host}:{proxy.port} are not in the recording (only direct ones)"


def _analyse(pcap: Path, keylog: Path) -> list[FlowReport]:
    """The recording through the pcap analysis, decrypted with the probes' own key log."""
    from tlsdoctor.commands.pcap import run_pcap
    from tlsdoctor.pcap.unseal import KeyLogDecrypter

    decrypt = None
    with contextlib.suppress(InputError):  # empty: no probe got as far as deriving a secret
        decrypt = KeyLogDecrypter.from_file(keylog)
    flows: list[FlowReport] = []
    with contextlib.suppress(InputError):  # no TLS flow recorded (every probe failed before a ClientHello)
        run_pcap(pcap, on_flow=flows.append, decrypt=decrypt)
    return flows


def with_wire_evidence(report: Report, recorded: ProbeCapture, flows: list[FlowReport]) -> Report:
    """Add the capture to a finished diagnosis: a ``capture`` check (the recording, each probe's flow as
    the capture saw it) and, on each cause, what the flows that show the same cause saw on the wire.

    The flows are not fed back to the engine: the playbook's probes fail on purpose (a TLS 1.0 variant
    against a modern server), so one flow's reading is not the endpoint's diagnosis; it is evidence for
    the cause the probes' comparison already named.
    """
    tally = Counter(f.outcome.value for f in flows)
    summary = recorded.describe()
    if flows:
        summary += f"; {len(flows)} TLS flow(s): " + ", ".join(f"{k} {n}" for k, n in tally.most_common())
    check = CheckResult(
        id=CHECK_ID,
        status=Status.PASS if recorded.packets else Status.WARN,
        summary=summary,
        observations=(recorded, *(o for f in flows for o in f.check.observations if _wire_only(o))),
    )
    causes = tuple(_with_evidence(c, flows) for c in report.causes)
    extra = {**report.extra, "capture": {**recorded.to_data(), "flows": [f.to_data() for f in flows]}}
    return dataclasses.replace(report, causes=causes, checks=(*report.checks, check), extra=extra)


def _wire_only(o: Observation) -> bool:
    """What the capture adds to the probes' own observations: each flow's summary and what only the
    wire (or the key log) shows; not the probes' HandshakeAttempt/TcpConnect restated."""
    from tlsdoctor.observations.pcap import CapturedFlow, ClientAbort, ClientAlert, FlightStall, FlowIcmp

    return isinstance(
        o, CapturedFlow | ClientAlert | ClientAbort | FlightStall | FlowIcmp | DecryptedHandshake
    )


def _with_evidence(cause: Cause, flows: list[FlowReport]) -> Cause:
    if cause.id == "healthy":
        done = [f for f in flows if not f.failed]
        if not done:
            return cause
        line = f"{len(done)} of {len(flows)} captured flow(s) completed: {done[0].summary.describe()}"
        return dataclasses.replace(
            cause, evidence=(*cause.evidence, Evidence(check=CHECK_ID, observation=line))
        )
    same = [(f, c) for f in flows for c in f.causes[:1] if c.id == cause.id and c.confidence >= 0.5]
    same = same[:MAX_FLOW_EVIDENCE]  # decisive flows only: a candidate adds nothing
    added = [
        Evidence(
            check=CHECK_ID, observation=f"captured flow #{f.index} {f.client} -> {f.server}: {c.summary}"
        )
        for f, c in same
    ]
    for f, _ in same[:1]:  # the wire's own words for the first one: an alert, a TTL, a stall
        added += [
            Evidence(check=CHECK_ID, observation=o.describe()) for o in f.check.observations if _wire_only(o)
        ]
    return dataclasses.replace(cause, evidence=(*cause.evidence, *added)) if added else cause
