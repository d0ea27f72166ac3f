"""The human report of ``tlsdoctor pcap``: one ladder per failed flow as it is found, a line per healthy
flow, then the summary across flows (the common report: verdict, dominant cause, fixes, checks).

The ladder puts the client on the left and the server on the right, one line per event, time from the
flow's first packet: who sent what, in which order, and where it stopped. Rendering only; every string
that came off the wire (SNI, certificate names, banners) is escaped by ``blocks.shown``.
"""

from __future__ import annotations

import textwrap

from rich.console import Console
from rich.text import Text

from tlsdoctor.model import Report, Verdict
from tlsdoctor.pcap.analyse import FlowReport
from tlsdoctor.report.blocks import shown
from tlsdoctor.report.escape import escape_controls
from tlsdoctor.report.human import print_parts, renderables

_VERDICT_STYLE = {
    Verdict.HEALTHY: "bold green",
    Verdict.FAULT: "bold red",
    Verdict.INCONCLUSIVE: "bold yellow",
}
_ARROWS = {"client": "C --> S", "server": "C <-- S", "icmp": "  ICMP "}
_ARROW_STYLE = {"client": "cyan", "server": "magenta", "icmp": "yellow"}


def flow_title(flow: FlowReport) -> Text:
    text = Text()
    text.append(f"flow #{flow.index} ", style="bold")
    text.append(shown(f"{flow.client} -> {flow.server}"))
    if flow.sni:
        text.append(shown(f"  SNI {flow.sni}"))
    text.append("  ")
    text.append(flow.verdict.value.upper(), style=_VERDICT_STYLE[flow.verdict])
    if flow.failed and flow.causes:
        top = flow.causes[0]
        text.append(shown(f" — {top.id}", style="bold"))
        text.append(f" ({top.confidence:.0%})")
    elif not flow.failed:
        s = flow.summary
        text.append(
            shown(f"  {s.version} {s.cipher}" + (f", RTT {s.rtt_ms:.1f} ms" if s.rtt_ms is not None else ""))
        )
    return text


def flow_text(flow: FlowReport, width: int) -> Text:
    """The whole flow as one Text, wrapped here with hanging indents: a failed flow's title, ladder
    (time, direction, event; client on the left, server on the right) and causes; a healthy flow's title.

    Built line by line rather than as a rich Table: a capture has thousands of flows, and measuring a
    table per flow cost more than reading the capture."""
    out = flow_title(flow)
    if not flow.failed:
        return out
    rows = [(f"{t_ms:.1f} ms", side, what) for t_ms, side, what in flow.events]
    clock = max((len(r[0]) for r in rows), default=4)
    for stamp, side, what in rows:
        out.append("\n  " + " " * (clock - len(stamp)))
        out.append(stamp, style="dim")
        out.append(" ")
        out.append(_ARROWS.get(side, side), style=_ARROW_STYLE.get(side, ""))
        _wrapped(out, what, 2 + clock + 9, width)
    if flow.dropped_events:
        out.append(f"\n  ... {flow.dropped_events} more events not kept", style="dim")
    for i, cause in enumerate(flow.causes[:3]):
        out.append("\n  => " if i == 0 else "\n     also: ", style="bold" if i == 0 else "dim")
        _wrapped(out, f"{cause.id} ({cause.confidence:.0%}): {cause.summary}", 5, width, lead="")
    out.append("\n")
    return out


def _wrapped(out: Text, text: str, indent: int, width: int, lead: str = " ") -> None:
    """``text`` (escaped) appended after ``lead``, folded at ``width`` with continuation lines indented."""
    room = max(20, width - indent)
    words = escape_controls(text)
    lines = textwrap.wrap(words, room, break_long_words=True, break_on_hyphens=False) or [""]
    out.append(lead + lines[0])
    for line in lines[1:]:
        out.append("\n" + " " * indent + line)


def render_flow(flow: FlowReport, console: Console) -> None:
    """Print one flow (already wrapped: no padding, so no trailing blanks)."""
    console.print(flow_text(flow, console.width), soft_wrap=True)


def render_summary(report: Report, console: Console) -> None:
    """The summary across flows: the common report's layout (verdict, dominant cause, fixes, checks)."""
    capture = report.extra.get("capture", {})
    flows = report.extra.get("flows", [])
    failed = sum(1 for f in flows if f.get("verdict") != Verdict.HEALTHY.value)
    head = Text("\n")
    head.append(shown(f"{capture.get('file', '')}: {len(flows)} TLS flows, {failed} failed", style="bold"))
    print_parts(console, [head, *renderables(report)])
