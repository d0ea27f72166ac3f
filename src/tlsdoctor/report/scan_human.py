"""Human tables for ``tlsdoctor scan``: the grade and the findings by severity first, then
protocols and suites (one line per version unless ``--verbose``), groups and features,
certificates. Renders ``report.extra["scan"]`` (the contract data) only; no logic.

Suite names are never broken mid-name: folded, a version is one line of counts; verbose, each
suite gets a line of its own under its version, so a name never shares its line with a column."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from tlsdoctor.report import vulns_human
from tlsdoctor.report.blocks import hanging, shown
from tlsdoctor.report.escape import escape_controls

_SEVERITY = {
    "critical": "bold white on red",
    "high": "bold red",
    "medium": "yellow",
    "low": "dim",
    "info": "dim",
}
_SEVERITIES = ("critical", "high", "medium", "low", "info")
_GRADE_STYLE = {"A+": "bold green", "A": "bold green", "B": "bold yellow", "C": "bold yellow"}


def findings_list(scan: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(severity, id, text) of every finding (``scan.findings``: worst first, a proven
    vulnerability in place of the weakness it proves)."""
    return [
        (f["severity"], f["id"], f"{f['summary']} ({f['reference']})" if f.get("reference") else f["summary"])
        for f in scan.get("findings") or []
    ]


def verdict(scan: dict[str, Any]) -> Iterator[RenderableType]:
    """The grade, the Mozilla profile and the findings by severity: the scan's answer."""
    grading = scan.get("grading")
    if grading:
        yield from _grade_lines(scan, grading)
    found = findings_list(scan)
    tally = {s: sum(1 for f in found if f[0] == s) for s in _SEVERITIES}
    head = Text("Findings ", style="bold")
    head.append(", ".join(f"{n} {s}" for s, n in tally.items() if n) or "none")
    yield head
    for severity, fid, what in found:
        item = Text()
        item.append(shown(fid, "bold"))
        item.append(": ")
        item.append(shown(what))
        yield _marked(severity, item)
    yield Text("")


def _grade_lines(scan: dict[str, Any], grading: dict[str, Any]) -> Iterator[RenderableType]:
    line = Text("Grade ", style="bold")
    line.append(shown(grading["grade"], _GRADE_STYLE.get(grading["grade"], "bold red")))
    cats = grading["categories"]
    line.append(
        f"  (score {grading['score']}: protocol {cats['protocol']}, key exchange {cats['key_exchange']}, "
        f"cipher {cats['cipher']})"
    )
    yield line
    if grading.get("ignoring_trust"):
        yield shown(f"  {grading['ignoring_trust']} if the certificate were trusted")
    for cap in grading.get("caps") or []:
        yield hanging("- ", shown(f"capped at {cap['grade']} by {cap['finding']}: {cap['source']}"))
    if grading["grade"] == "A":
        for why in grading.get("not_a_plus") or []:
            yield hanging("- ", shown(f"not A+: {why}"))
    profiles = scan.get("profiles") or {}
    profile = scan.get("profile")
    text = Text("Mozilla profile ", style="bold")
    text.append(shown(profile or "none met", "green" if profile else "yellow"))
    if profiles:
        text.append(shown(f"  (guidelines {profiles.get('guidelines')})", "dim"))
    yield text
    if not profile and profiles:
        for why in (profiles.get("deviations") or {}).get("old", [])[:4]:
            yield hanging("- ", shown(f"not even old: {why}"))


def _marked(severity: str, item: Text) -> RenderableType:
    """``severity`` in its colour, then the item, wrapped lines aligned under the item."""
    from rich.padding import Padding

    grid = Table.grid(padding=(0, 1))
    grid.add_column(width=8, no_wrap=True)
    grid.add_column(overflow="fold")
    grid.add_row(shown(severity, _SEVERITY.get(severity, "")), item)
    return Padding(grid, (0, 0, 0, 2), expand=False)


def _order(value: bool | None) -> str:
    return {True: "server", False: "client", None: "-"}[value]


def _supported(p: dict[str, Any]) -> Text:
    if p.get("unusable"):
        return Text("unusable", style="bold red")
    return Text("yes", style="green") if p["supported"] else Text("no", style="dim")


def _suite_counts(names: list[str]) -> str:
    """A version's suites in one short line: how many, and how many are weak or insecure."""
    from tlsdoctor.report.html_scan import suite_grade

    if not names:
        return "-"
    grades = [suite_grade(n)[0] for n in names]
    parts = [f"{len(names)} suite{'s' if len(names) != 1 else ''}"]
    for kind in ("insecure", "weak"):
        if grades.count(kind):
            parts.append(f"{grades.count(kind)} {kind}")
    return ", ".join(parts)


def protocols_table(scan: dict[str, Any], *, verbose: bool = False) -> RenderableType:
    """One row per version (its suites counted); ``verbose``: each suite on a line of its own
    under its version, in the server's order when it has one."""
    table = Table(header_style="bold", box=None)
    for col in ("version", "supported", "order", "cipher suites"):
        table.add_column(col, overflow="fold")
    for p in scan["protocols"]:
        table.add_row(shown(p["version"]), _supported(p), _order(p["server_order"]),
                      shown(_suite_counts(p["cipher_suites"])))  # fmt: skip
    from rich.console import Group

    title = Text("Protocols and cipher suites", style="bold")
    if not verbose:
        return Group(title, table, Text("(--verbose lists every suite)", style="dim"))
    return Group(title, table, *_verbose_suites(scan))


_ORDER_NOTE = {True: ", in the server's order", False: ", the client's order wins", None: ""}


def _verbose_suites(scan: dict[str, Any]) -> Iterator[RenderableType]:
    from rich.padding import Padding

    for p in scan["protocols"]:
        if not p["cipher_suites"]:
            continue
        yield Text(f"{escape_controls(p['version'])} suites{_ORDER_NOTE[p['server_order']]}:", style="bold")
        for name in p["cipher_suites"]:
            yield Padding(Text(escape_controls(name), no_wrap=True, overflow="ignore"), (0, 0, 0, 2))


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


_SESSION_LABELS = (
    ("session_id_resumption", "resumption by session ID"),
    ("session_ticket_resumption", "resumption by ticket"),
    ("session_ticket_lifetime", "ticket lifetime (s)"),
    ("tls13_resumption", "TLS 1.3 resumption (PSK)"),
    ("tls13_tickets", "TLS 1.3 tickets issued"),
    ("early_data", "early data (0-RTT) offered"),
    ("max_early_data", "max early data (bytes)"),
)


def _yes_no(value: object) -> str:
    return "-" if value is None else ("yes" if value is True else "no" if value is False else str(value))


def sessions_table(scan: dict[str, Any]) -> Table | None:
    """Resumption, early data, and the one HTTP answer's security headers and banner."""
    sessions, http = scan.get("sessions") or {}, scan.get("http")
    if not sessions and not http:
        return None
    table = Table(header_style="bold", box=None)
    table.add_column("item", no_wrap=True)
    table.add_column("value", overflow="fold")
    for key, label in _SESSION_LABELS:
        if key in sessions:
            table.add_row(label, shown(_yes_no(sessions[key])))
    if http:
        table.add_row("HTTP answer", shown(http.get("status_line") or http.get("error") or "-"))
        hsts = http.get("hsts")
        table.add_row(
            "HSTS",
            shown(
                f"max-age={hsts['max_age']}"
                + ("; includeSubDomains" if hsts["include_subdomains"] else "")
                + ("; preload" if hsts["preload"] else "")
                if hsts
                else "none"
            ),
        )
        for name, value in (http.get("headers") or {}).items():
            if name != "strict-transport-security":
                table.add_row(shown(name), shown(value))
    return table


def _grid() -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(no_wrap=True, style="dim")
    grid.add_column(overflow="fold")
    return grid


def _urls(d: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for key, label in (("ocsp_urls", "OCSP"), ("ca_issuers_urls", "CA issuers"), ("crl_urls", "CRL")):
        if d.get(key):
            yield label, ", ".join(d[key])


def _list_day(t: dict[str, Any]) -> str:
    """The day a trust store's list describes, and its age: a list kept as data grows stale."""
    if not t.get("as_of"):
        return ""
    age = t.get("age_days")
    return f", list of {t['as_of']}" + (f", {age} days old" if isinstance(age, int) else "")


_SCT_CHANNELS = {"embedded": "embedded", "tls-extension": "TLS extension", "ocsp": "stapled OCSP"}


def _sct_line(scts: list[dict[str, Any]], problems: list[str]) -> str:
    """How many SCTs, by channel (RFC 6962 §3.3), from how many logs; a channel that did not parse."""
    if not scts:
        text = "none (embedded, TLS extension or stapled OCSP)"
    else:
        count = {c: sum(1 for s in scts if s.get("channel", "embedded") == c) for c in _SCT_CHANNELS}
        per = ", ".join(f"{n} {_SCT_CHANNELS[c]}" for c, n in count.items() if n)
        text = f"{len(scts)} ({per}) from {len({s['log_id'] for s in scts if s.get('log_id')})} logs"
    return "; ".join([text, *problems])


def _leaf_rows(d: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """The leaf's fields, label and value, in the order a reader checks them."""
    yield "subject", d["subject"]
    if d.get("sans"):
        yield "names", ", ".join(d["sans"])
    yield "issuer", d["issuer"]
    yield "serial", d["serial"]
    yield "valid", f"{d['not_before'][:10]} to {d['not_after'][:10]} ({d['days_left']:.0f} days left)"
    yield "key", d["key"]
    yield "signature", d["signature_algorithm"]
    if d.get("key_usage") is not None:
        yield "key usage", ", ".join(d["key_usage"]) or "-"
    if d.get("extended_key_usage") is not None:
        yield "ext. key usage", ", ".join(d["extended_key_usage"]) or "-"
    yield "OCSP must-staple", "yes" if d.get("must_staple") else "no"
    yield "SCTs", _sct_line(d.get("scts") or [], d.get("sct_problems") or [])
    yield from _urls(d)
    yield "SHA-256", f"{d['sha256'][:32]} {d['sha256'][32:]}"  # two halves: a wrap never splits one


def certificates_block(scan: dict[str, Any]) -> Iterator[RenderableType]:
    """Each chain served (one per key type): the leaf in full, the rest of the chain as sent and
    as built, what each trust store says; then the name's CAA record."""
    from rich.padding import Padding

    for c in scan["certificates"]:
        sent = c.get("certificates") or []
        head = f"Certificate: {c['key_type']} (offered {c['offered']}), {len(sent) or len(c['chain'])} sent"
        yield Text(escape_controls(head), style="bold")
        grid = _grid()
        if sent and "subject" in sent[0]:
            for label, value in _leaf_rows(sent[0]):
                grid.add_row(label, shown(value))
        else:
            grid.add_row("subject", shown(c["subject"] or "-"))
            grid.add_row("issuer", shown(c["issuer"] or "-"))
        for i, d in enumerate(sent[1:], start=1):
            grid.add_row(f"sent #{i}", shown(d.get("subject") or d.get("error") or "-"))
        if c.get("chain_built"):
            grid.add_row("chain built", shown(" <- ".join(c["chain_built"])))
        problems = "; ".join(p["detail"] for p in c["problems"])
        grid.add_row("problems", shown(problems or "none", "red" if problems else "green"))
        for t in c.get("trust") or []:
            verdict = {True: "trusted", False: "NOT trusted", None: "not compared"}[t["trusted"]]
            why = f": {t['error']}" if t.get("error") and t["trusted"] is not True else ""
            of = _list_day(t)
            grid.add_row(f"store {t['store']}", shown(f"{verdict}{why} ({t['anchors']} anchors{of})"))
        yield Padding(grid, (0, 0, 0, 2), expand=False)
    caa = scan.get("caa")
    if caa:
        records = ", ".join(f'{r["flags"]} {r["tag"]} "{r["value"]}"' for r in caa["records"])
        where = f" at {caa['found_at']}" if caa.get("found_at") else ""
        text = records + where if records else (caa.get("error") or "no CAA record: any CA may issue")
        line = Text("CAA ", style="bold")
        line.append(shown(f"{caa['name']}: {text}"))
        yield line


def clients_table(scan: dict[str, Any]) -> Table:
    """What each known client would negotiate, or why it would fail (scan.clients)."""
    failing = sum(1 for c in scan["clients"] if c["failure"] is not None)
    title = f"Client simulation: {len(scan['clients']) - failing} of {len(scan['clients'])} would connect"
    table = Table(title=title, title_justify="left", header_style="bold", box=None)
    table.add_column("client")
    table.add_column("would negotiate, or why it fails", overflow="fold")
    for c in scan["clients"]:
        n = c["negotiated"]
        if n is not None:
            text = " ".join(x for x in (n["version"], n["cipher_suite"], n["group"]) if x)
            table.add_row(shown(c["client"]), shown(text))
        else:
            table.add_row(shown(c["client"], "red"), shown(f"fails: {c['failure']}", "red"))
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


def renderables(scan: dict[str, Any], *, verbose: bool = False) -> Iterator[RenderableType]:
    """The scan tables, in reading order: first what makes the scan's answer weaker (the server's
    violations, the parts not tested), then the configuration."""
    if scan.get("violations") or any(p.get("unusable") for p in scan["protocols"]):
        yield violations_table(scan)
        yield Text("")
    if scan.get("untested"):
        yield untested_table(scan)
        yield Text("")
    yield protocols_table(scan, verbose=verbose)
    yield Text("")
    yield features_table(scan)
    yield Text("")
    if scan["certificates"]:
        yield from certificates_block(scan)
        yield Text("")
    if scan.get("clients"):
        yield clients_table(scan)
        yield Text("")
    sessions = sessions_table(scan)
    if sessions is not None:
        yield Text("Sessions and HTTP", style="bold")
        yield sessions
        yield Text("")
    yield from vulns_human.renderables(scan)
    tested = sum(p["suites_tested"] for p in scan["protocols"])
    yield Text(f"{scan['handshakes']} handshakes, {tested} suite offers across versions", style="dim")
    yield Text("")
