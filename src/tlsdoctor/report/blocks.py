"""The pieces every human report is built of (diagnose's, scan's, the vulnerabilities', pcap's): text
from the network shown escaped, and items with a hanging indent. Their own module, so that the
renderers of each command share them without importing each other.
"""

from __future__ import annotations

from rich.console import RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from tlsdoctor.report.escape import escape_controls


def shown(value: object, style: str = "") -> Text:
    """Report text as it may reach a terminal: escaped, never parsed as rich markup."""
    return Text(escape_controls(value), style=style)


def hanging(marker: str, text: Text, indent: int = 2) -> RenderableType:
    """``marker`` then ``text``, wrapped lines aligned under the text (a hanging indent), so a
    fix that wraps at 80 columns still reads as one item."""
    grid = Table.grid()
    grid.add_column(width=len(escape_controls(marker)), no_wrap=True)
    grid.add_column(overflow="fold")
    grid.add_row(shown(marker), text)
    return Padding(grid, (0, 0, 0, indent), expand=False)
