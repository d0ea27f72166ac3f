"""Human tables for ``tlsdoctor scan``: protocols and suites, groups and features, certificates,
weaknesses. Renders ``report.extra["scan"]`` (the contract data) only; no logic."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from tlsdoctor.report.escape import escape_controls
from tlsdoctor.report.human import shown

_SEVERITY = {"high": "bold red", "medium": "yellow", "low": "dim"}


def _order(value: bool | None) -> str:
    return {True: "server", False: "client", None: "-"}[value]


def protocols_table(scan: dict[str, Any]) -> Table:
    table = Table(title="Protocols and cipher suites", title_justify="left", header_style="bold", box=None)
    for col in ("version", "supported", "order", "cipher suites (server order when it has one)"):
        table.add_column(col, overflow="fold")
    for p in scan["protocols"]:
        yes = Text("yes", style="green") if p["supported"] else Text("no", style="dim")
        if p.get("unusable"):
            yes = Text("unusable", style="bold red")
        suites = "\n".join(escape_controls(s) for s in p["cipher_suites"]) or "-"
        table.add_row(shown(p["version"]), yes, _order(p["server_order"]), Text(suites))
    return table


def features_table(scan: dict[str, Any]) -> Table:
    table = Table(title="Key exchange and features", title_justify="left", header_style="bold", box=None)
    table.add_column("item")
    table.add_column("value", overflow="fold")
    table.add_row("groups", shown(", ".join(scan["groups"]) or "-"))
    table.add_row("signature schemes", shown(", ".join(scan["signature_schemes"]) or "-"))
    for key, value in scan["features"].items():
        value_text = (
            "-" if value is None else ", ".join(value) if isinstance(value, list) else str(value).lower()
        )
        table.add_row(shown(key.replace("_", " ")), shown(value_text))
    return table


def certificates_table(scan: dict[str, Any]) -> Table:
    table = Table(title="Certificates", title_justify="left", header_style="bold", box=None)
    for col in ("key", "subject", "issuer", "not after", "problems"):
        table.add_column(col, overflow="fold")
    for c in scan["certificates"]:
        problems = "; ".join(p["detail"] for p in c["problems"]) or "none"
        row = (c["key_type"], c["subject"] or "-", c["issuer"] or "-", (c["not_after"] or "-")[:10], problems)
        table.add_row(*map(shown, row))
    return table


def weaknesses_table(scan: dict[str, Any]) -> Table:
    table = Table(title="Weaknesses", title_justify="left", header_style="bold", box=None)
    for col in ("severity", "id", "summary", "reference"):
        table.add_column(col, overflow="fold")
    for w in scan["weaknesses"]:
        table.add_row(
            shown(w["severity"], _SEVERITY.get(w["severity"], "")),
            *map(shown, (w["id"], w["summary"], w["reference"])),
        )
    return table


def violations_table(scan: dict[str, Any]) -> Table:
    table = Table(title="What the server does wrong", title_justify="left", header_style="bold red", box=None)
    table.add_column("violation")
    table.add_column("evidence", overflow="fold")
    for v in scan["violations"]:
        table.add_row(shown(v["id"], "bold red"), shown(v["evidence"]))
    said = {v["evidence"] for v in scan["violations"]}
    for p in scan["protocols"]:
        if p.get("unusable") and p["unusable"] not in said:
            table.add_row(shown(f"{p['version']} unusable", "red"), shown(p["unusable"]))
    return table


def untested_table(scan: dict[str, Any]) -> Table:
    table = Table(
        title="Partial scan: not tested or incomplete",
        title_justify="left",
        header_style="bold yellow",
        box=None,
    )
    table.add_column("part")
    table.add_column("why", overflow="fold")
    for u in scan["untested"]:
        table.add_row(shown(u["part"]), shown(u["why"]))
    return table


def renderables(scan: dict[str, Any]) -> Iterator[RenderableType]:
    """The scan tables, in reading order: first what makes the scan's answer weaker (the server's
    violations, the parts not tested), then the configuration."""
    if scan.get("violations") or any(p.get("unusable") for p in scan["protocols"]):
        yield violations_table(scan)
        yield Text("")
    if scan.get("untested"):
        yield untested_table(scan)
        yield Text("")
    yield protocols_table(scan)
    yield Text("")
    yield features_table(scan)
    yield Text("")
    if scan["certificates"]:
        yield certificates_table(scan)
        yield Text("")
    if scan["weaknesses"]:
        yield weaknesses_table(scan)
    else:
        yield Text("No weaknesses found.", style="green")
    tested = sum(p["suites_tested"] for p in scan["protocols"])
    yield Text(f"{scan['handshakes']} handshakes, {tested} suite offers across versions", style="dim")
    yield Text("")
