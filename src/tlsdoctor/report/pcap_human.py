"""The human report of ``tlsdoctor pcap``: one ladder per failed flow as it is found, a line per healthy
flow, then the summary across flows (the common report: verdict, dominant cause, fixes, checks).

The ladder puts the client on the left and the server on the right, one line per event, time from the
flow's first packet: who sent what, in which order, and where it stopped. Rendering only; every string
that came off the wire (SNI, certificate names, banners) is escaped by ``human.shown``.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.console import Console, RenderableType
from rich.padding import Padding
from rich.segment import Segment, Segments
from rich.table import Table
from rich.text import Text

from tlsdoctor.model import Report, Verdict
from tlsdoctor.pcap.analyse import FlowReport
from tlsdoctor.report.human import renderables, shown, without_trailing_blanks

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


def ladder(flow: FlowReport) -> Table:
    """The flow's events, client on the left, server on the right."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(justify="right", no_wrap=True, style="dim")
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    for t_ms, side, what in flow.events:
        grid.add_row(
            f"{t_ms:.1f} ms", Text(_ARROWS.get(side, side), style=_ARROW_STYLE.get(side, "")), shown(what)
        )
    if flow.dropped_events:
        grid.add_row("", "", Text(f"... {flow.dropped_events} more events not kept", style="dim"))
    return grid


def flow_renderables(flow: FlowReport) -> Iterable[RenderableType]:
    """A failed flow: title, ladder, its causes; a healthy one: its title line only."""
    yield flow_title(flow)
    if not flow.failed:
        return
    yield Padding(ladder(flow), (0, 0, 0, 2))
    for i, cause in enumerate(flow.causes[:3]):
        line = Text("  => " if i == 0 else "     also: ", style="bold" if i == 0 else "dim")
        line.append(shown(f"{cause.id} ({cause.confidence:.0%}): {cause.summary}"))
        yield line
    yield Text("")


def print_parts(console: Console, parts: Iterable[RenderableType]) -> None:
    """Render each part to lines and write them without trailing blanks (as report/human.py does)."""
    for part in parts:
        lines = console.render_lines(part, console.options, pad=False)
        segments: list[Segment] = []
        for line in lines:
            segments.extend(without_trailing_blanks(line))
            segments.append(Segment.line())
        console.print(Segments(segments), soft_wrap=True, end="")


def render_flow(flow: FlowReport, console: Console) -> None:
    print_parts(console, flow_renderables(flow))


def render_summary(report: Report, console: Console) -> None:
    """The summary across flows: the common report's layout (verdict, dominant cause, fixes, checks)."""
    capture = report.extra.get("capture", {})
    flows = report.extra.get("flows", [])
    failed = sum(1 for f in flows if f.get("verdict") != Verdict.HEALTHY.value)
    head = Text("\n")
    head.append(shown(f"{capture.get('file', '')}: {len(flows)} TLS flows, {failed} failed", style="bold"))
    print_parts(console, [head, *renderables(report)])
