"""The human report: verdict first, then the top cause with evidence and fixes, the other
candidates, and a compact table of every check. Rich renderables only; no logic here.

Every string of the report goes through :func:`shown`: control characters escaped (servers write
certificate names, banners and status lines) and wrapped in ``Text``, so rich never reads it as markup."""

from __future__ import annotations

from collections.abc import Iterator

from rich.console import Console, Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from tlsdoctor.model import Cause, Report, Status, Verdict
from tlsdoctor.report.escape import escape_controls

_VERDICT_STYLE = {
    Verdict.HEALTHY: "bold green",
    Verdict.FAULT: "bold red",
    Verdict.INCONCLUSIVE: "bold yellow",
}
_STATUS_STYLE = {
    Status.PASS: "green",
    Status.FAIL: "red",
    Status.WARN: "yellow",
    Status.SKIP: "dim",
    Status.ERROR: "magenta",
}


def shown(value: object, style: str = "") -> Text:
    """Report text as it may reach a terminal: escaped, never parsed as rich markup."""
    return Text(escape_controls(value), style=style)


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
            parts.append(Padding(shown(f"[{e.check}] {e.observation}"), (0, 0, 0, 2)))
    if cause.fixes:
        parts.append(Text("What to change", style="bold underline"))
        for fix in cause.fixes:
            parts.append(Padding(shown(f"- {fix}"), (0, 0, 0, 2)))
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
            Text(c.status.value, style=_STATUS_STYLE[c.status]),
            f"{c.duration_ms:.0f}",
            shown(c.summary),
        )
    return table


def renderables(report: Report) -> Iterator[RenderableType]:
    """The report, top to bottom."""
    yield headline(report)
    yield Text("")
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
    for key, title in (("next_checks", "Next checks"),):
        items = report.extra.get(key)
        if items:
            yield Text(title, style="bold")
            for item in items:
                yield Padding(shown(item), (0, 0, 0, 2))
            yield Text("")
    if "scan" in report.extra:
        from tlsdoctor.report import scan_human

        yield from scan_human.renderables(report.extra["scan"])
    if report.checks:
        yield Text("Checks", style="bold")
        yield checks_table(report)
    yield Text(f"\n{report.duration_ms / 1000:.2f} s", style="dim")


def render(report: Report, console: Console) -> None:
    """Print the report on a console (the CLI makes it: colour only on a terminal, NO_COLOR honoured)."""
    for part in renderables(report):
        console.print(part)
