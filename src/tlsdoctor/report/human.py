"""The human report: verdict first, then the top cause with evidence and fixes, the other
candidates, and a compact table of every check. Rich renderables only; no logic here.

Every string of the report goes through :func:`shown`: control characters escaped (servers write
certificate names, banners and status lines) and wrapped in ``Text``, so rich never reads it as markup."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from rich.console import Console, Group, RenderableType
from rich.padding import Padding
from rich.segment import Segment, Segments
from rich.table import Table
from rich.text import Text

from tlsdoctor.model import Cause, Report, Verdict
from tlsdoctor.report.blocks import hanging, shown
from tlsdoctor.report.styles import STATUS_STYLE

_VERDICT_STYLE = {
    Verdict.HEALTHY: "bold green",
    Verdict.FAULT: "bold red",
    Verdict.INCONCLUSIVE: "bold yellow",
}


def headline(report: Report) -> Text:
    """One line: what was diagnosed and the verdict."""
    what = report.command
    if report.target is not None and report.target.host:
        t = report.target
        host = f"[{t.host}]" if t.host and ":" in t.host else t.host
        what += f" {host}:{t.port}" if t.port else f" {host}"
    text = shown(f"tlsdoctor {what}: ")
    text.append(report.verdict.value.upper(), style=_VERDICT_STYLE[report.verdict])
    if report.causes and report.verdict is not Verdict.HEALTHY:
        top = report.causes[0]
        text.append(shown(f" — {top.id}", style="bold"))
        text.append(f" ({top.confidence:.0%})")
    return text


def cause_block(cause: Cause, *, full: bool) -> RenderableType:
    """A cause: id, confidence and summary; with evidence and fixes when ``full``."""
    title = Text()
    title.append(shown(cause.id, style="bold"))
    title.append(f"  confidence {cause.confidence:.0%}\n")
    title.append(shown(cause.summary))
    if not full:
        return title
    parts: list[RenderableType] = [title]
    if cause.evidence:
        parts.append(Text("Evidence", style="bold underline"))
        for e in cause.evidence:
            parts.append(hanging(f"[{e.check}] ", shown(e.observation)))
    if cause.fixes:
        parts.append(Text("What to change", style="bold underline"))
        for fix in cause.fixes:
            parts.append(hanging("- ", shown(fix)))
    return Group(*parts)


def checks_table(report: Report) -> Table:
    """Every check with its status and time."""
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    table.add_column("check")
    table.add_column("status")
    table.add_column("ms", justify="right")
    table.add_column("summary", overflow="fold")
    for c in report.checks:
        table.add_row(
            shown(c.id),
            Text(c.status.value, style=STATUS_STYLE[c.status]),
            f"{c.duration_ms:.0f}",
            shown(c.summary),
        )
    return table


def verified_block(report: Report) -> RenderableType | None:
    """What the healthy run verified (report/verified.py), label and value, values escaped. (Imported
    here: only a healthy diagnosis needs the observation types it reads; explain never does.)"""
    from tlsdoctor.report.verified import verified_items

    items = verified_items(report)
    if not items:
        return None
    grid = Table.grid(padding=(0, 2))
    grid.add_column(no_wrap=True, style="dim")
    grid.add_column(overflow="fold")
    for label, value in items:
        grid.add_row(label, shown(value))
    return Padding(grid, (0, 0, 0, 2), expand=False)


def renderables(report: Report, *, verbose: bool = False) -> Iterator[RenderableType]:
    """The report, top to bottom (a scan's grade and findings right under the headline)."""
    yield headline(report)
    yield Text("")
    if "scan" in report.extra:
        from tlsdoctor.report import scan_human

        yield from scan_human.verdict(report.extra["scan"])
    if report.causes:
        top, *others = report.causes
        if report.verdict is not Verdict.HEALTHY:
            yield Text("Most likely cause", style="bold")
            yield Padding(cause_block(top, full=True), (0, 0, 0, 2))
            yield Text("")
            if others:
                yield Text("Other candidates", style="bold")
                for c in others[:5]:
                    yield Padding(cause_block(c, full=False), (0, 0, 0, 2))
                yield Text("")
        else:  # the healthy cause says what was noted when a check warned (inference/engine.py)
            yield shown(f"{top.summary[:1].upper()}{top.summary[1:]}.")
            yield Text("")
            verified = verified_block(report)
            if verified is not None:
                yield Text("Verified", style="bold")
                yield verified
                yield Text("")
    for key, title in (("next_checks", "Next checks"),):
        items = report.extra.get(key)
        if items:
            yield Text(title, style="bold")
            for item in items:
                yield Padding(shown(item), (0, 0, 0, 2))
            yield Text("")
    if "scan" in report.extra:
        from tlsdoctor.report import scan_human

        yield from scan_human.renderables(report.extra["scan"], verbose=verbose)
    if report.checks:
        yield Text("Checks", style="bold")
        yield checks_table(report)
    yield Text(f"\n{report.duration_ms / 1000:.2f} s", style="dim")


def render(report: Report, console: Console, *, verbose: bool = False) -> None:
    """Print the report on a console (the CLI makes it: colour only on a terminal, NO_COLOR honoured)."""
    print_parts(console, renderables(report, verbose=verbose))


def print_parts(console: Console, parts: Iterable[RenderableType]) -> None:
    """Print each part without trailing blanks. rich pads table cells and padded blocks with spaces to
    the full width; on a terminal that is invisible, in a file or a pipe it is 120 columns of trailing
    blanks on every line (and noise in every diff). So each part is rendered to lines and written
    without its trailing blanks."""
    for part in parts:
        lines = console.render_lines(part, console.options, pad=False)
        segments: list[Segment] = []
        for line in lines:
            segments.extend(without_trailing_blanks(line))
            segments.append(Segment.line())
        console.print(Segments(segments), soft_wrap=True, end="")


def without_trailing_blanks(line: list[Segment]) -> list[Segment]:
    """A rendered line minus the spaces at its end (unstyled or styled alike: none carry a background)."""
    out = list(line)
    while out and not out[-1].control:
        last = out[-1]
        text = last.text.rstrip(" ")
        if text:
            out[-1] = Segment(text, last.style, last.control)
            break
        out.pop()
    return out
