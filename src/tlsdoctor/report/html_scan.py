"""The scan part of the HTML report: the protocol x suite grid with weak suites and versions marked,
then weaknesses, certificates and features. Renders the contract's ``scan`` data only."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from tlsdoctor.report.ladder import text
from tlsdoctor.wire.registry import SuiteFlag, suite_by_name

#: Versions an RFC deprecates (RFC 8996: TLS 1.0 and 1.1; RFC 7568: SSLv3; RFC 6176: SSLv2).
_DEPRECATED = frozenset({"SSLv2", "SSLv3", "TLSv1.0", "TLSv1.1"})
_INSECURE = SuiteFlag.EXPORT | SuiteFlag.NULL | SuiteFlag.ANON | SuiteFlag.RC4 | SuiteFlag.DES
_ORDER = ("SSLv2", "SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3")


def suite_grade(name: str) -> tuple[str, str]:
    """``(class, why)`` of one suite from the registry's flags: insecure, weak or ok."""
    found = suite_by_name(name)
    if found is None:
        return "", ""
    flags = found.flags
    bad = [f.name.lower() for f in SuiteFlag if f.name and f in _INSECURE and f in flags]
    if bad:
        return "insecure", ", ".join(bad)
    weak = []
    if SuiteFlag.TRIPLE_DES in flags:
        weak.append("3DES (Sweet32)")
    if SuiteFlag.CBC in flags:
        weak.append("CBC")
    if found.kx != "ANY" and SuiteFlag.PFS not in flags:
        weak.append("no forward secrecy")
    return ("weak", ", ".join(weak)) if weak else ("", "")


def grid(scan: Mapping[str, Any]) -> str:
    """Versions as columns, suites as rows; a cell is marked where that version accepted that suite."""
    protocols = sorted(
        scan.get("protocols") or [], key=lambda p: _ORDER.index(p["version"]) if p["version"] in _ORDER else 9
    )
    suites: dict[str, None] = {}
    for p in reversed(protocols):  # newest versions' suites first
        for s in p.get("cipher_suites") or []:
            suites[s] = None
    old = {p["version"] for p in protocols if p["version"] in _DEPRECATED and p.get("supported")}
    head = "".join(
        f'<th scope="col" class="{"deprecated" if p["version"] in old else ""}">'
        f"{text(p['version'])}<br><small>{'accepted' if p.get('supported') else 'refused'}"
        f"{' · deprecated' if p['version'] in old else ''}</small></th>"
        for p in protocols
    )
    rows = []
    for s in suites:
        grade, why = suite_grade(s)
        cells = []
        for p in protocols:
            if s in (p.get("cipher_suites") or []):
                cls = grade or ("deprecated" if p["version"] in _DEPRECATED else "ok")
                cells.append(f'<td class="cell {cls}" title="{text(why)}">✔</td>')
            else:
                cells.append('<td class="cell none"></td>')
        note = f' <span class="tag {grade}">{text(why)}</span>' if grade else ""
        name = f"<code>{text(s)}</code>{note}"
        rows.append(f'<tr><th scope="row" class="suite {grade}">{name}</th>{"".join(cells)}</tr>')
    if not rows:
        return '<p class="muted">No cipher suite was accepted.</p>'
    return (
        '<div class="scroll"><table class="grid"><caption>Protocol x cipher suite: ✔ accepted; '
        '<span class="tag insecure">insecure</span> <span class="tag weak">weak</span> '
        '<span class="tag deprecated">deprecated version</span></caption>'
        f'<thead><tr><th scope="col">suite</th>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def _table(title: str, cols: tuple[str, ...], rows: Iterator[tuple[str, ...]], cls: str = "") -> str:
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    if not body:
        return ""
    head = "".join(f'<th scope="col">{c}</th>' for c in cols)
    return (
        f'<h3>{title}</h3><div class="scroll"><table class="{cls}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
    )


def _findings(scan: Mapping[str, Any]) -> list[tuple[str, str, str, str]]:
    """(severity, id, what, reference) of every finding, as ``scan.findings`` orders them (worst first)."""
    return [
        (str(f.get("severity")), str(f.get("id")), str(f.get("summary")), str(f.get("reference") or ""))
        for f in scan.get("findings") or []
    ]


def summary(scan: Mapping[str, Any]) -> str:
    """The scan's answer, first on the page: the grade with its caps, the Mozilla profile met, and
    the findings by severity (the human report's order)."""
    grading = scan.get("grading") or {}
    parts = ['<section id="grade"><h2>Grade ']
    parts.append(f'<span class="grade">{text(scan.get("grade") or "-")}</span>')
    if grading:
        cats = grading.get("categories") or {}
        score = (
            f"score {grading.get('score')}: protocol {cats.get('protocol')}, "
            f"key exchange {cats.get('key_exchange')}, cipher {cats.get('cipher')}"
        )
        parts.append(f' <small class="muted">{text(score)}</small>')
    parts.append("</h2>")
    notes = [
        f"capped at {c.get('grade')} by {c.get('finding')}: {c.get('source')}"
        for c in grading.get("caps") or []
    ]
    if grading.get("ignoring_trust"):
        notes.insert(0, f"{grading['ignoring_trust']} if the certificate were trusted")
    if scan.get("grade") == "A":
        notes += [f"not A+: {why}" for why in grading.get("not_a_plus") or []]
    if notes:
        parts.append("<ul>" + "".join(f"<li>{text(n)}</li>" for n in notes) + "</ul>")
    profiles = scan.get("profiles") or {}
    parts.append(
        f"<p>Mozilla profile: <strong>{text(scan.get('profile') or 'none met')}</strong>"
        f' <small class="muted">(guidelines {text(profiles.get("guidelines"))})</small></p>'
    )
    found = _findings(scan)
    parts.append(
        _table(
            f"Findings ({len(found)})",
            ("severity", "id", "summary", "reference"),
            (
                (f'<span class="sev {text(sev)}">{text(sev)}</span>', text(fid), text(what), text(ref))
                for sev, fid, what, ref in found
            ),
        )
        or '<p class="ok-text">No findings.</p>'
    )
    parts.append("</section>")
    return "".join(parts)


def section(scan: Mapping[str, Any]) -> str:
    """The whole scan section (the grade and findings are :func:`summary`, above it)."""
    parts = ['<section id="scan"><h2>Server configuration</h2>']
    parts.append(grid(scan))
    parts.append(
        _table(
            "What the server does wrong",
            ("violation", "evidence"),
            ((text(v.get("id")), text(v.get("evidence"))) for v in scan.get("violations") or []),
        )
    )
    parts.append(
        _table(
            "Certificates",
            (
                "key",
                "subject and names",
                "issuer",
                "valid until",
                "signature",
                "must-staple / SCTs",
                "trust",
                "problems",
            ),
            (_certificate_row(c) for c in scan.get("certificates") or []),
        )
    )
    caa = scan.get("caa")
    if caa:
        records = ", ".join(
            f'{r.get("flags")} {r.get("tag")} "{r.get("value")}"' for r in caa.get("records") or []
        )
        parts.append(
            f"<p>CAA {text(caa.get('name'))}: {text(records or caa.get('error') or 'no CAA record')}</p>"
        )
    features = [("groups", ", ".join(scan.get("groups") or []) or "-")]
    for key, value in (scan.get("features") or {}).items():
        shown = (
            "-" if value is None else ", ".join(map(str, value)) if isinstance(value, list) else str(value)
        )
        features.append((key.replace("_", " "), shown.lower() if isinstance(value, bool) else shown))
    parts.append(
        _table("Key exchange and features", ("item", "value"), ((text(k), text(v)) for k, v in features))
    )
    parts.append(_table("Sessions and HTTP", ("item", "value"), _session_rows(scan)))
    parts.append("</section>")
    return "".join(parts)


def _session_rows(scan: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """Resumption and early data, then the HTTP answer's status, HSTS and headers as sent."""
    for key, value in (scan.get("sessions") or {}).items():
        shown = "-" if value is None else ("yes" if value is True else "no" if value is False else str(value))
        yield text(key.replace("_", " ")), text(shown)
    http = scan.get("http") or {}
    if http:
        yield "HTTP answer", text(http.get("status_line") or http.get("error") or "-")
        for name, value in (http.get("headers") or {}).items():
            yield text(name), text(value)


def _certificate_row(c: Mapping[str, Any]) -> tuple[str, ...]:
    """One chain (one key type): its leaf in full, each trust store's verdict, its problems."""
    sent = c.get("certificates") or [{}]
    leaf = sent[0] if "subject" in sent[0] else {}
    names = ", ".join(leaf.get("sans") or [])
    said = {True: "trusted", False: "NOT trusted", None: "not compared"}
    stores = "; ".join(
        f"{t.get('store')}: {said.get(t.get('trusted'), '-')}"
        + (f" (list of {t['as_of']})" if t.get("as_of") else "")
        for t in c.get("trust") or []
    )
    until = (c.get("not_after") or "-")[:10] + (
        f" ({leaf['days_left']:.0f} days)" if "days_left" in leaf else ""
    )
    staple = f"{'yes' if leaf.get('must_staple') else 'no'} / {len(leaf.get('scts') or [])}" if leaf else "-"
    problems = "; ".join(str(p.get("detail")) for p in c.get("problems") or []) or "none"
    return tuple(
        text(x)
        for x in (
            c.get("key_type"),
            f"{c.get('subject') or '-'} ({names})" if names else c.get("subject") or "-",
            c.get("issuer") or "-",
            until,
            leaf.get("signature_algorithm") or "-",
            staple,
            stores or "-",
            problems,
        )
    )
