"""The exporter's page (``/``): the recent probes, newest first, each linked to its full report.

Like the HTML report (report/html.py) it loads nothing: inline CSS, no script, and a
Content-Security-Policy that forbids fetching anything. Targets and summaries come from users and
peers, so every one is escaped (controls made visible, then HTML-escaped).
"""

from __future__ import annotations

import html
import time
from collections.abc import Iterable, Mapping
from urllib.parse import quote

from tlsdoctor.exporter.probe import ProbeResult
from tlsdoctor.report.escape import escape_controls

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"  # as report/html.py's
_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:72em;padding:0 1em;color:#1b1f24}
h1{font-size:1.4em;margin:0 0 .2em} p.sub{color:#57606a;margin:0 0 1.2em}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.35em .6em;border-bottom:1px solid #d0d7de}
th{background:#f6f8fa;font-weight:600} td.num{text-align:right;font-variant-numeric:tabular-nums}
code{font:13px ui-monospace,monospace}
.healthy{color:#1a7f37} .fault{color:#cf222e} .inconclusive{color:#9a6700}
.tag{font-size:12px;padding:0 .4em;border-radius:.6em;background:#eaeef2;color:#57606a}
ul.links{padding-left:1.2em}
"""


def _text(value: object) -> str:
    return html.escape(escape_controls(value))


def _row(result: ProbeResult) -> str:
    report = result.report
    top = report.causes[0] if report.causes else None
    cause = f"<code>{_text(top.id)}</code> {top.confidence:.0%}" if top else "—"
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(result.started))
    verdict = report.verdict.value
    shown = escape_controls(result.target)
    return (
        f"<tr><td>{when}</td><td><code>{html.escape(shown)}</code></td><td>{_text(result.module)}</td>"
        f'<td class="{verdict}">{verdict}</td><td>{cause}</td>'
        f'<td class="num">{result.duration_s * 1000:.0f} ms</td>'
        f'<td><span class="tag">{result.path}</span></td>'
        f'<td><a href="/report?id={quote(result.id)}">report</a></td></tr>'
    )


def index(
    recent: Iterable[ProbeResult], *, modules: Iterable[str], listen: str, stats: Mapping[str, int]
) -> str:
    """The page: what this exporter is, how to probe it, and the recent probes."""
    rows = "".join(_row(r) for r in reversed(list(recent)))
    if not rows:
        rows = '<tr><td colspan="8">No probe yet.</td></tr>'
    names = ", ".join(f"<code>{_text(m)}</code>" for m in modules)
    counts = " · ".join(f"{_text(k)}: {v}" for k, v in stats.items())
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<title>tlsdoctor exporter</title><style>{_CSS}</style></head>
<body><h1>tlsdoctor exporter</h1>
<p class="sub">Listening on <code>{_text(listen)}</code>. Modules: {names}. {counts}</p>
<ul class="links"><li><a href="/probe?target=localhost:443">/probe?target=HOST:PORT&amp;module=NAME</a>:
diagnose one endpoint, answered in the Prometheus text format</li>
<li><a href="/metrics">/metrics</a>: the exporter's own metrics</li></ul>
<h2>Recent probes</h2>
<table><thead><tr><th>started (UTC)</th><th>target</th><th>module</th><th>verdict</th><th>top cause</th>
<th>took</th><th>path</th><th></th></tr></thead><tbody>{rows}</tbody></table>
</body></html>
"""
