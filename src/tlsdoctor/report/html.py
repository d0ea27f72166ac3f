"""A self-contained HTML report: the human report, recorded and exported by rich."""

from __future__ import annotations

import io

from rich.console import Console

from tlsdoctor.model import Report
from tlsdoctor.report.human import render as render_human


def render(report: Report) -> str:
    """The human report as one HTML document with inline styles (no external assets)."""
    console = Console(
        record=True, width=120, file=io.StringIO(), force_terminal=True, color_system="truecolor"
    )
    render_human(report, console)
    return console.export_html(inline_styles=True)
