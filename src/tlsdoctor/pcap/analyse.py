"""capture -> flows -> observations -> the same inference as diagnose, per flow and across flows.

:func:`analyse_flows` streams: each flow's :class:`FlowReport` is handed out as soon as the flow ends,
while the file is still being read. :func:`summarise` then ranks the causes across flows, the cause of
the most failed flows first.

A key-log decrypter plugs in through ``decrypt`` (pcap/unseal.py): given a finished flow, before it
is judged, it writes what decryption showed back into the flow (the certificate chain, encrypted
alerts, the first application bytes) and returns its own observations, which the rules weigh with
the rest.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from tlsdoctor.model import Cause, CheckResult, Evidence, Status, Verdict
from tlsdoctor.observations.base import Observation
from tlsdoctor.observations.pcap import FAILED, CapturedFlow, FlowOutcome
from tlsdoctor.pcap.classify import is_bare_connect, is_tls_flow, observations, outcome
from tlsdoctor.pcap.decode import IcmpError, Segment, decode, endpoint_text
from tlsdoctor.pcap.fastpath import Skimmer, fast_key
from tlsdoctor.pcap.flows import SWEEP_EVERY, Flow, FlowTable
from tlsdoctor.pcap.reader import Capture

CHECK_ID = "pcap.flow"
# Connection attempts that carried no byte, on ports other than TLS's well-known ones, kept until the end:
# reported when they went to a server that TLS flows went to (a refused or unanswered retry), or when
# the capture holds no TLS at all (then they are what the user captured).
MAX_BARE = 100
Decrypter = Callable[[Flow], Iterable[Observation]]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class FlowReport:
    """One flow's answer: the contract's ``flows[]`` entry, and its check for the envelope."""

    index: int
    client: str
    server: str
    sni: str | None
    outcome: FlowOutcome
    verdict: Verdict
    causes: tuple[Cause, ...]
    events: tuple[tuple[float, str, str], ...]  # (ms from the flow's first packet, side, what)
    start: float  # seconds since the epoch
    summary: CapturedFlow
    check: CheckResult
    dropped_events: int = 0

    @property
    def failed(self) -> bool:
        return self.verdict is not Verdict.HEALTHY

    def to_data(self) -> dict[str, Any]:
        from tlsdoctor.report.envelope import cause_data

        s = self.summary
        return {
            "client": self.client,
            "server": self.server,
            "sni": self.sni,
            "outcome": self.outcome.value,
            "verdict": self.verdict.value,
            "version": s.version,
            "cipher": s.cipher,
            "rtt_ms": s.rtt_ms,
            "duration_ms": s.duration_ms,
            "retransmissions": {"client": s.retransmits_client, "server": s.retransmits_server},
            "causes": [cause_data(c) for c in self.causes],
            "events": [{"t_ms": round(t, 3), "from": side, "what": what} for t, side, what in self.events],
        }


def diagnose_flow(flow: Flow, decrypt: Decrypter | None = None) -> FlowReport:
    """One finished flow through the engine."""
    from tlsdoctor.inference.engine import diagnose, healthy_cause

    unsealed = list(decrypt(flow)) if decrypt is not None else []  # first: it fills in what was hidden
    result = outcome(flow)
    found = observations(flow, result)
    found.extend(unsealed)
    summary = next(o for o in found if isinstance(o, CapturedFlow))
    status = (
        Status.PASS if result is FlowOutcome.COMPLETED else Status.FAIL if result in FAILED else Status.WARN
    )
    check = CheckResult(id=CHECK_ID, status=status, summary=summary.describe(), observations=tuple(found))
    shape = _shape(found) if result is FlowOutcome.COMPLETED else None
    if shape is not None and shape in _HEALTHY_SHAPES:
        verdict, causes = Verdict.HEALTHY, [healthy_cause([check])]
    else:
        verdict, causes = diagnose([check])
        if shape is not None and verdict is Verdict.HEALTHY and len(_HEALTHY_SHAPES) < MAX_SHAPES:
            _HEALTHY_SHAPES.add(shape)
    if result is FlowOutcome.COMPLETED and verdict is Verdict.INCONCLUSIVE:
        verdict = Verdict.HEALTHY  # weak candidates on a completed handshake are notes, not a doubt
    return FlowReport(
        index=flow.index,
        client=summary.client,
        server=summary.server,
        sni=summary.sni,
        outcome=result,
        verdict=verdict,
        causes=tuple(causes),
        events=tuple(((e.ts - flow.start_ts) * 1000, e.side, e.what) for e in flow.events),
        start=flow.start_ts,
        summary=summary,
        check=check,
        dropped_events=flow.dropped_events,
    )


# Completed handshakes the engine judged healthy, by shape: the observations without what only names or
# times this flow (addresses, ports, durations, byte counts). A capture of thousands of downloads holds a
# handful of shapes, so the rules run once per shape, not once per flow, and every other flow (any failure,
# any retransmission, alert or ICMP, which change the shape) gets the full engine.
_HEALTHY_SHAPES: set[tuple[object, ...]] = set()
MAX_SHAPES = 4096
_IDENTITY = frozenset(
    {"client", "server", "address", "port", "elapsed_ms", "rtt_ms", "duration_ms", "after_ms", "bytes_sent",
     "bytes_received", "syn_ack_ip_id", "rst_ip_id", "rst_after_ms"}
)  # fmt: skip


def _shape(found: list[Observation]) -> tuple[object, ...] | None:
    try:
        key = tuple((type(o).__name__, *(v for f, v in _fields(o) if f not in _IDENTITY)) for o in found)
        hash(key)
    except TypeError:
        return None
    return key


def _fields(o: Observation) -> list[tuple[str, object]]:
    return [(f.name, getattr(o, f.name)) for f in dataclasses.fields(o)]


@dataclasses.dataclass(slots=True)
class Totals:
    """What the whole read saw, for the summary and the read check."""

    frames: int = 0
    segments: int = 0
    icmp: int = 0
    other: int = 0  # frames that are not TCP or ICMP errors (ARP, UDP, damage...)
    flows: int = 0  # TCP flows seen
    tls_flows: int = 0  # reported
    skipped: int = 0  # TCP flows of other protocols, not reported
    evicted: int = 0  # flows pushed out of a full table before their end
    cut: int = 0  # frames the capture's snaplen cut short
    kept: int = 0  # the most bytes of a cut frame the file kept


def analyse_flows(capture: Capture, totals: Totals, decrypt: Decrypter | None = None) -> Iterator[FlowReport]:
    """Read the capture; yield each TLS flow's report as the flow ends."""
    table = FlowTable()
    bare: list[Flow] = []
    servers: set[tuple[bytes, int]] = set()  # where the reported TLS flows went
    for frame in _frames(capture, totals, table):
        yield from _reports(frame, totals, decrypt, bare, servers)
    yield from _reports(table.close_all(), totals, decrypt, bare, servers)
    for flow in bare:  # attempts on other ports: to a TLS flow's server, or when there is no TLS at all
        if flow.server in servers or not servers:
            totals.skipped -= 1
            totals.tls_flows += 1
            yield diagnose_flow(flow, decrypt)
    totals.flows = table.count
    totals.evicted = table.evicted_for_room


def _frames(capture: Capture, totals: Totals, table: FlowTable) -> Iterator[list[Flow]]:
    """The hot loop: decode each frame, feed the table, hand out the flows it finished. A frame of a
    settled flow's data takes the fast path (pcap/fastpath.py) and is only counted: for the usual
    frame (IPv4 without options behind Ethernet) its key is cut here, inline, without a call."""
    add, icmp, quiet, sweep = table.add, table.icmp, table.quiet, table.sweep
    linktype = next(iter(capture.linktypes)) if len(capture.linktypes) == 1 else -1
    skimmer = Skimmer(quiet, linktype, capture, SWEEP_EVERY)
    if capture.format == "pcap":
        capture.skip = skimmer
    frames = segments = 0
    for ts, linktype, data, wire_len in capture:
        frames += 1
        if wire_len > len(data):
            totals.cut += 1
            totals.kept = max(totals.kept, len(data))
        if capture.frames_read >= skimmer.next_sweep:
            skimmer.next_sweep = capture.frames_read + SWEEP_EVERY
            swept = list(sweep(ts))
            if swept:
                yield swept
        if quiet:
            if linktype == 1 and data[12:14] == b"\x08\x00" and data[14] == 0x45 and data[23] == 6:
                q = quiet.get(data[26:38])
                if q is not None and q.take(data, 14, len(data), ts):
                    segments += 1
                    continue
            else:
                where = fast_key(linktype, data)
                if where is not None:
                    q = quiet.get(where[0])
                    if q is not None and q.take(data, where[1], len(data), ts):
                        segments += 1
                        continue
        packet = decode(linktype, data)
        if type(packet) is Segment:
            segments += 1
            finished = add(packet, ts)
            if finished:
                yield finished
        elif type(packet) is IcmpError:
            totals.icmp += 1
            icmp(packet, ts)
        else:
            totals.other += 1
    totals.frames, totals.segments = capture.frames_read, segments + skimmer.taken


def _reports(
    flows: Iterable[Flow],
    totals: Totals,
    decrypt: Decrypter | None,
    bare: list[Flow],
    servers: set[tuple[bytes, int]],
) -> Iterator[FlowReport]:
    for flow in flows:
        if is_tls_flow(flow):
            totals.tls_flows += 1
            servers.add(flow.server)
            yield diagnose_flow(flow, decrypt)
        else:
            totals.skipped += 1
            if len(bare) < MAX_BARE and is_bare_connect(flow):
                bare.append(flow)


def summarise(reports: list[FlowReport]) -> tuple[Verdict, list[Cause]]:
    """The verdict across flows, and each cause ranked by how many failed flows it explains (its
    confidence the highest any flow gave it); healthy only when every flow completed cleanly."""
    if not reports:
        return Verdict.INCONCLUSIVE, []
    failed = [r for r in reports if r.failed]
    if not failed:
        return Verdict.HEALTHY, [
            Cause(
                id="healthy",
                confidence=1.0,
                summary=f"all {len(reports)} TLS flows completed their handshake",
                evidence=tuple(
                    Evidence(check=CHECK_ID, observation=r.summary.describe()) for r in reports[:5]
                ),
            )
        ]
    by_cause: dict[str, list[tuple[FlowReport, Cause]]] = {}
    for r in failed:
        for rank, cause in enumerate(r.causes):
            if rank == 0 or cause.confidence >= 0.5:
                by_cause.setdefault(cause.id, []).append((r, cause))
    ranked = sorted(
        by_cause.items(),
        key=lambda kv: (-sum(1 for r, c in kv[1] if r.causes[0] is c), -max(c.confidence for _, c in kv[1])),
    )
    causes = [_merged(cid, hits, len(reports)) for cid, hits in ranked]
    verdict = Verdict.FAULT if any(r.verdict is Verdict.FAULT for r in failed) else Verdict.INCONCLUSIVE
    return verdict, causes


def _merged(cause_id: str, hits: list[tuple[FlowReport, Cause]], total: int) -> Cause:
    best = max(hits, key=lambda h: h[1].confidence)[1]
    flows = ", ".join(f"#{r.index}" for r, _ in hits[:8]) + (" ..." if len(hits) > 8 else "")
    evidence = [
        Evidence(check=CHECK_ID, observation=f"flow #{r.index} {r.client} -> {r.server}: {c.summary}")
        for r, c in hits[:3]
    ]
    evidence += [e for e in best.evidence[:3]]
    return Cause(
        id=cause_id,
        confidence=best.confidence,
        summary=f"{len(hits)} of {total} flows ({flows}): {best.summary}",
        evidence=tuple(evidence),
        fixes=best.fixes,
    )


__all__ = ["FlowReport", "Totals", "analyse_flows", "diagnose_flow", "endpoint_text", "summarise"]
