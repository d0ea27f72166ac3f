"""The one terminal escaping (report/escape.py) and the reporters that use it."""

from __future__ import annotations

import io
import json

from rich.console import Console

from tlsdoctor.model import CheckResult, Report, Status, Verdict
from tlsdoctor.report import envelope, human
from tlsdoctor.report.escape import escape_controls

HOSTILE = "a\x1b]52;c;aGk=\x07b\x1b[2J\x9b2J\x7f\u202egnp.exe\u2066\udcff\t\n[bold]x[/] :smile:"


def test_escape_controls_makes_every_control_visible() -> None:
    shown = escape_controls(HOSTILE)
    assert shown == (
        "a\\x1b]52;c;aGk=\\x07b\\x1b[2J\\x9b2J\\x7f\\u202egnp.exe\\u2066\\udcff\\t\\n[bold]x[/] :smile:"
    )
    assert shown.isprintable()


def test_ordinary_text_is_unchanged() -> None:
    text = "straße.de — 证书 ✓ C:\\path [x] 'quoted'"
    assert escape_controls(text) == text


def report_with(text: str) -> Report:
    check = CheckResult(id="handshake.default", status=Status.FAIL, summary=f"subject {text}")
    return Report(
        command="diagnose", target=None, verdict=Verdict.FAULT, causes=(), checks=(check,), duration_ms=1.0
    )


def test_human_report_escapes_and_keeps_markup_literal() -> None:
    out = io.StringIO()
    human.render(report_with(HOSTILE), Console(file=out, width=200, force_terminal=True, color_system=None))
    text = out.getvalue()
    assert "\x1b" not in text and "\x9b" not in text and "\u202e" not in text
    assert "[bold]x[/] :smile:" in text  # neither markup nor emoji codes are interpreted


def test_json_keeps_the_exact_value_with_controls_as_json_escapes() -> None:
    document = envelope.to_json(report_with(HOSTILE))
    assert all(c not in document for c in "\x1b\x07\x9b\x7f\u202e\u2066\udcff")
    assert json.loads(document)["checks"][0]["summary"] == f"subject {HOSTILE}"
