"""The human view of ``scan.vulnerabilities[]`` below the configuration tables: the probes that
found something are named (their evidence leads the report, under Findings), the undecided ones
get a row with why, and the clean ones share one line. Renders the contract data only."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from tlsdoctor.report.blocks import shown


def renderables(scan: dict[str, Any]) -> Iterator[RenderableType]:
    found = scan.get("vulnerabilities") or []
    if not found:
        return
    yield Text("Vulnerability probes", style="bold")
    hits = [v["id"] for v in found if v["vulnerable"] is True]
    if hits:
        yield Text.assemble(("Vulnerable: ", "bold red"), ", ".join(hits), " (evidence under Findings)")
    undecided = [v for v in found if v["vulnerable"] is None]
    if undecided:
        table = Table(box=None, show_header=False, padding=(0, 1, 0, 0))
        table.add_column("probe", no_wrap=True)
        table.add_column("why", overflow="fold")
        for v in undecided:
            table.add_row(shown(f"undecided {v['id']}", "yellow"), shown(v["evidence"]))
        yield table
    clean = [v["id"] for v in found if v["vulnerable"] is False]
    if clean:
        yield Text.assemble(("Not vulnerable: ", "green"), ", ".join(clean))
    yield Text("")
