"""``tlsdoctor pcap FILE``: explain the TLS connections in a packet capture, offline.

The playbook: open the capture (a file that is not one fails here, exit 2, before any output); read it
once, flow by flow, handing each TLS flow's report to ``on_flow`` as soon as the flow ends (so output
streams while a large file is still being read); then rank the causes across flows, the cause of the
most failed flows first. Exit 0 when every flow completed its handshake, 1 when one failed.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from tlsdoctor.errors import InputError
from tlsdoctor.model import CheckResult, Report, Status
from tlsdoctor.pcap.analyse import Decrypter, FlowReport, Totals, analyse_flows, summarise
from tlsdoctor.pcap.reader import Capture

READ_CHECK = "pcap.read"
FLOWS_CHECK = "pcap.flows"


def run_pcap(
    path: Path,
    *,
    on_flow: Callable[[FlowReport], None] | None = None,
    decrypt: Decrypter | None = None,
    keep_events: bool = True,
) -> Report:
    """Analyse the capture at ``path``. ``keep_events=False`` drops each flow's timeline once
    ``on_flow`` has shown it (the human report streams it): memory then stays flat over many flows."""
    start = time.perf_counter()
    totals = Totals()
    reports: list[FlowReport] = []
    with Capture(path) as capture:
        for report in analyse_flows(capture, totals, decrypt):
            if on_flow is not None:
                on_flow(report)
            reports.append(report if keep_events else slim(report))
        read = _read_check(capture, totals, time.perf_counter() - start)
    if not reports:
        raise InputError(_nothing_found(path, capture, totals))
    verdict, causes = summarise(reports)
    tally = Counter(r.outcome.value for r in reports)
    failed = sum(1 for r in reports if r.failed)
    flows_check = CheckResult(
        id=FLOWS_CHECK,
        status=Status.FAIL if failed else Status.PASS,
        summary=f"{len(reports)} TLS flows, {failed} failed: "
        + ", ".join(f"{k} {n}" for k, n in tally.most_common()),
    )
    return Report(
        command="pcap",
        target=None,
        verdict=verdict,
        causes=tuple(causes),
        checks=(read, flows_check, *_keylog_check(decrypt)),
        duration_ms=round((time.perf_counter() - start) * 1000, 1),
        extra={
            "capture": {
                "file": str(path),
                "format": capture.format,
                "link_types": sorted(capture.linktype_names),
                "packets": totals.frames,
                "bytes": capture.bytes_read,
                "tcp_flows": totals.flows,
                "tls_flows": totals.tls_flows,
                "other_flows": totals.skipped,
                "warnings": list(capture.warnings),
            },
            "flows": [r.to_data() for r in reports],
        },
    )


def _keylog_check(decrypt: Decrypter | None) -> tuple[CheckResult, ...]:
    """What --keylog did for the capture (pcap/unseal.py), when one was given."""
    check = getattr(decrypt, "check", None)
    return (check(),) if callable(check) else ()


def slim(report: FlowReport) -> FlowReport:
    """The report without its timeline, once shown."""
    import dataclasses

    return dataclasses.replace(report, events=())


def _read_check(capture: Capture, totals: Totals, seconds: float) -> CheckResult:
    links = ", ".join(sorted(capture.linktype_names)) or "no decodable link type"
    mb = capture.bytes_read / 1e6
    summary = (
        f"{capture.format} file ({links}), {totals.frames} packets ({mb:.1f} MB) read in {seconds:.2f} s; "
        f"{totals.flows} TCP flows, {totals.tls_flows} TLS, {totals.skipped} of other protocols"
    )
    if totals.cut:
        summary += "; " + _cut(totals)
    if totals.evicted:
        summary += f"; {totals.evicted} flows were cut short to keep the flow table bounded"
    if capture.warnings:
        summary += "; " + "; ".join(capture.warnings[:3])
    status = Status.WARN if capture.warnings or totals.evicted or totals.cut else Status.PASS
    return CheckResult(id=READ_CHECK, status=status, summary=summary, duration_ms=round(seconds * 1000, 1))


def _cut(totals: Totals) -> str:
    return (
        f"{totals.cut} frames were cut by the capture's snaplen ({totals.kept} bytes kept): the TLS bytes "
        "beyond are not in the file (capture with tcpdump -s 0)"
    )


def _nothing_found(path: Path, capture: Capture, totals: Totals) -> str:
    damage = f" ({capture.warnings[0]})" if capture.warnings else f" ({_cut(totals)})" if totals.cut else ""
    if not totals.frames:
        return f"{path}: the capture holds no packets{damage}"
    if not totals.segments:
        return f"{path}: no TCP packets among {totals.frames} packets{damage}: nothing to explain"
    return (
        f"{path}: no TLS connection among {totals.flows} TCP flows ({totals.frames} packets){damage}: "
        "no ClientHello, and no failed connect to a TLS port"
    )


def pcap_cli(args: argparse.Namespace) -> int:
    """The command line: the human report streams each flow as it ends; --json prints one document."""
    from tlsdoctor.report.output import emit, make_console, stdout_gone

    decrypt = None
    if getattr(args, "keylog", None) is not None:  # read first: a bad key log fails before any output
        from tlsdoctor.pcap.unseal import KeyLogDecrypter

        decrypt = KeyLogDecrypter.from_file(args.keylog)
    if args.json:
        return emit(run_pcap(args.file, decrypt=decrypt), args)
    from rich.console import Console

    from tlsdoctor.report import pcap_human

    console = make_console()
    assert isinstance(console, Console)
    gone = False

    def show(flow: FlowReport) -> None:
        nonlocal gone
        if gone:
            return
        try:
            pcap_human.render_flow(flow, console)
        except BrokenPipeError:  # the reader left (| head): the analysis goes on for the exit status
            gone = True
            stdout_gone()

    report = run_pcap(args.file, on_flow=show, decrypt=decrypt, keep_events=False)
    if not gone:
        try:
            pcap_human.render_summary(report, console)
        except BrokenPipeError:
            stdout_gone()
    if getattr(args, "report", None):
        emit_html(report, args.report)
    return report.exit_status


def emit_html(report: Report, path: Path) -> None:
    from tlsdoctor.report import html

    try:
        Path(path).write_text(html.render(report), encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write --report {path}: {exc.strerror or exc}") from None
