"""The HTML report (``--report FILE``): one self-contained page a person can read, print or share.

Verdict and causes first, then evidence and fixes, the scan grid (for ``scan``), one handshake ladder
per probe (report/ladder.py), and the check table. Everything comes from the envelope's data
(report/envelope.py, the one serializer), so :func:`document` also renders a saved ``--json`` report.
No network fetch of any kind: inline CSS, inline SVG, no script, and a Content-Security-Policy that
forbids loading anything, so a hostile string that escaped escaping still could not call home.
Every peer-supplied string goes through :func:`ladder.text` (controls made visible, then HTML-escaped).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tlsdoctor.model import Report
from tlsdoctor.report import html_scan
from tlsdoctor.report.envelope import envelope
from tlsdoctor.report.html_style import CSS
from tlsdoctor.report.ladder import INJECTING, Ladder, ladders, middlebox_cause, svg, text

_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def _target(data: Mapping[str, Any]) -> str:
    t = data.get("target") or {}
    host = t.get("host")
    if not host:
        return ""
    host = f"[{host}]" if ":" in host else host
    return f"{host}:{t['port']}" if t.get("port") else str(host)


def _cause(cause: Mapping[str, Any], *, full: bool) -> str:
    conf = float(cause.get("confidence") or 0.0)
    head = (
        f'<div class="cause{" top" if full else ""}"><h3><code>{text(cause.get("id"))}</code>'
        f' <span class="conf" title="confidence">{conf:.0%}</span></h3>'
        f"<p>{text(cause.get('summary'))}</p>"
    )
    if not full:
        return head + "</div>"
    parts = [head]
    if cause.get("evidence"):
        items = "".join(
            f"<li><code>{text(e.get('check'))}</code> {text(e.get('observation'))}</li>"
            for e in cause["evidence"]
        )
        parts.append(f'<h4>Evidence</h4><ul class="evidence">{items}</ul>')
    if cause.get("fixes"):
        items = "".join(f"<li>{text(f)}</li>" for f in cause["fixes"])
        parts.append(f'<h4>What to change</h4><ul class="fixes">{items}</ul>')
    parts.append("</div>")
    return "".join(parts)


def _causes(data: Mapping[str, Any]) -> str:
    causes: Sequence[Mapping[str, Any]] = data.get("causes") or []
    if not causes:
        return ""
    top, *others = causes
    if data.get("verdict") == "healthy":
        summary = str(top.get("summary") or "")
        said = text(summary[:1].upper() + summary[1:])
        return f'<section id="causes"><p class="healthy">{said}.</p></section>'
    out = ['<section id="causes"><h2>Most likely cause</h2>', _cause(top, full=True)]
    if others:
        out.append("<h2>Other candidates</h2>")
        out.extend(_cause(c, full=False) for c in others[:5])
    out.append("</section>")
    return "".join(out)


def _next_checks(data: Mapping[str, Any]) -> str:
    items = data.get("next_checks") or []
    if not items:
        return ""
    lis = "".join(f"<li>{text(i)}</li>" for i in items)
    return f'<section id="next"><h2>Next checks</h2><ul>{lis}</ul></section>'


def _ladders(data: Mapping[str, Any]) -> str:
    drawn = ladders(data)
    if not drawn:
        return ""
    cause = middlebox_cause(data.get("causes") or [])
    mbox = (
        f" The middlebox lane is drawn because the diagnosis names <code>{text(cause)}</code>"
        f"{'; the RSTs are drawn from it' if cause in INJECTING else ''}."
        if cause
        else ""
    )
    failed = [d for d in drawn if d.failed]
    passed = [d for d in drawn if not d.failed]
    figures = f'<div class="ladders">{_figures(failed)}</div>' if failed else ""
    if passed:  # folded when something failed (the failures are the story); printed unfolded
        fold = "" if failed else " open"
        figures += (
            f"<details{fold}><summary>{len(passed)} probe(s) that succeeded</summary>"
            f'<div class="ladders">{_figures(passed)}</div></details>'
        )
    return (
        '<section id="ladders"><h2>Handshakes, probe by probe</h2><p class="muted">Times from the start of '
        "each probe's TCP connect. A probe records when its connect ended and when its exchange ended, so "
        "everything the peer sent is drawn at that end time. "
        '<span class="key rst">RST</span> <span class="key alert">alert</span> '
        '<span class="key fin">FIN / timeout</span>'
        f"{mbox}</p>"
        f"{figures}</section>"
    )


def _figures(drawn: list[Ladder]) -> str:
    return "".join(
        f'<figure class="probe{" failed" if d.failed else ""}"><figcaption><b>{text(d.title)}</b>'
        f"{' · ' + text(d.caption) if d.caption else ''}</figcaption>{svg(d)}</figure>"
        for d in drawn
    )


def _checks(data: Mapping[str, Any]) -> str:
    rows = "".join(
        f'<tr class="{text(c.get("status"))}"><td class="id"><code>{text(c.get("id"))}</code></td>'
        f'<td><span class="status {text(c.get("status"))}">{text(c.get("status"))}</span></td>'
        f'<td class="num">{float(c.get("duration_ms") or 0):.0f}</td><td>{text(c.get("summary"))}</td></tr>'
        for c in data.get("checks") or []
    )
    if not rows:
        return ""
    return (
        '<section id="checks"><h2>Checks</h2><div class="scroll"><table class="checks"><thead><tr>'
        '<th scope="col">check</th><th scope="col">status</th><th scope="col">ms</th>'
        f'<th scope="col">summary</th></tr></thead><tbody>{rows}</tbody></table></div></section>'
    )


def document(data: Mapping[str, Any]) -> str:
    """The page for one report's envelope data."""
    verdict = str(data.get("verdict") or "inconclusive")
    what = " ".join(x for x in (str(data.get("command") or ""), _target(data)) if x)
    top = (data.get("causes") or [{}])[0]
    headline = f"<code>{text(top.get('id'))}</code>" if verdict != "healthy" and top.get("id") else ""
    scan = data.get("scan")
    body = [
        f'<header><h1>tlsdoctor {text(what)}</h1><p class="verdict {text(verdict)}" id="verdict">'
        f"<span>{text(verdict.upper())}</span> {headline}</p></header>",
        html_scan.summary(scan) if isinstance(scan, Mapping) else "",
        _causes(data),
        _next_checks(data),
        html_scan.section(scan) if isinstance(scan, Mapping) else "",
        _ladders(data),
        _checks(data),
        f"<footer>{float(data.get('duration_ms') or 0) / 1000:.2f} s · {text(data.get('schema'))}</footer>",
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="color-scheme" content="light dark">'
        f"<title>tlsdoctor {text(what)}: {text(verdict)}</title><style>{CSS}</style></head>"
        f"<body><main>{''.join(body)}</main></body></html>\n"
    )


def render(report: Report) -> str:
    """The report as one self-contained HTML document."""
    return document(envelope(report))
