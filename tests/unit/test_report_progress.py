"""The live progress renderable (report/progress.py), drawn on a fixed-width console."""

from __future__ import annotations

import io

from rich.console import Console

from tlsdoctor.model import CheckResult, Status
from tlsdoctor.report.progress import SHOWN_RUNNING, CheckProgress


def drawn(progress: CheckProgress, width: int = 80) -> str:
    out = io.StringIO()
    Console(file=out, width=width, force_terminal=True, color_system=None).print(progress)
    return out.getvalue()


def test_running_and_finished_checks_with_their_status() -> None:
    progress = CheckProgress("diagnosing example.test:443")
    progress.started("tcp.198.18.0.10")
    progress.started("handshake.default")
    done = CheckResult(id="tcp.198.18.0.10", status=Status.PASS, summary="connected", duration_ms=3)
    progress.finished(done)
    text = drawn(progress)
    assert "diagnosing example.test:443: 1 running, 1 finished" in text
    lines = text.splitlines()
    assert any("tcp.198.18.0.10" in line and "pass" in line and "connected" in line for line in lines)
    assert any("handshake.default" in line and "running" in line for line in lines)
    assert not any("tcp.198.18.0.10" in line and "running" in line for line in lines)


def test_server_text_is_escaped_and_each_line_fits() -> None:
    progress = CheckProgress("diagnosing evil.test:443")
    progress.started("certificate")
    hostile = "subject CN=\x1b]52;c;QUFB\x07\x1b[2J\u202eevil " + "x" * 200
    progress.finished(CheckResult(id="certificate", status=Status.FAIL, summary=hostile))
    text = drawn(progress, width=60)
    assert "\x1b" not in text and "\u202e" not in text and "\x07" not in text
    assert "subject CN=\\x1b]52;c;QUFB" in text
    assert all(len(line) <= 60 for line in text.splitlines())


def test_many_running_checks_are_counted_not_listed() -> None:
    progress = CheckProgress("diagnosing example.test:443")
    for i in range(SHOWN_RUNNING + 3):
        progress.started(f"handshake.v{i}")
    text = drawn(progress, width=100)
    assert "and 3 more running" in text
    assert sum("running" in line for line in text.splitlines()) == SHOWN_RUNNING + 2  # header + "more"
