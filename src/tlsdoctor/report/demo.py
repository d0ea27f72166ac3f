"""The demo's table: one row per built-in endpoint (or lab scenario, or recorded flow), what was
expected and what the diagnosis named, as a rich table or as JSON. Shared by ``demo``, ``demo --lab``
and the demo's pcap rows, so all read the same.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Sequence


@dataclasses.dataclass(frozen=True, slots=True)
class Row:
    """One demo line: what was expected, what the diagnosis named, how sure and how fast."""

    name: str
    expected: str
    also: tuple[str, ...]
    diagnosed: str
    confidence: float | None
    seconds: float

    @property
    def ok(self) -> bool:
        return self.diagnosed == self.expected or self.diagnosed in self.also


def show(rows: Sequence[Row], title: str, total: float, as_json: bool) -> int:
    """Print the demo table (or its JSON); exit status 0 only when every row is as expected.

    Shared by ``demo`` and ``demo --lab`` (commands/demo_lab.py), so both read the same.
    """
    from rich.table import Table
    from rich.text import Text

    from tlsdoctor.report.envelope import dumps
    from tlsdoctor.report.output import make_console

    passed = sum(r.ok for r in rows)
    out: list[dict[str, object]] = []
    table = Table(title=title, header_style="bold")
    for col in ("endpoint", "expected", "diagnosed", "confidence", "time", ""):
        table.add_column(col, overflow="fold")
    for r in rows:
        sure = f"{r.confidence:.0%}" if r.confidence is not None else "-"
        table.add_row(
            r.name,
            r.expected,
            r.diagnosed,
            sure,
            f"{r.seconds:.2f} s",
            Text("ok", style="green") if r.ok else Text("MISMATCH", style="bold red"),
        )
        out.append(
            {
                "endpoint": r.name,
                "expected": r.expected,
                "diagnosed": r.diagnosed,
                "ok": r.ok,
                "confidence": r.confidence,
                "seconds": round(r.seconds, 3),
            }
        )
    if as_json:
        summary = {"results": out, "passed": passed, "total": len(rows), "seconds": round(total, 2)}
        sys.stdout.write(dumps({"schema": "tlsdoctor.demo/1", **summary}) + "\n")
    else:
        console = make_console()
        console.print(table)
        console.print(f"{passed}/{len(rows)} diagnosed as expected in {total:.1f} s")
    return 0 if passed == len(rows) else 1
