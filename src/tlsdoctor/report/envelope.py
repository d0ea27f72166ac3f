"""The JSON report (contract/cli.md): the one serializer of results."""

from __future__ import annotations

import json
from typing import Any

from tlsdoctor.model import Cause, CheckResult, Report
from tlsdoctor.observations.base import plain
from tlsdoctor.report.escape import escape_json

SCHEMA = "tlsdoctor.report/1"


def cause_data(cause: Cause) -> dict[str, Any]:
    """One ``causes[]`` entry."""
    return {
        "id": cause.id,
        "confidence": cause.confidence,
        "summary": cause.summary,
        "evidence": [{"check": e.check, "observation": e.observation} for e in cause.evidence],
        "fixes": list(cause.fixes),
    }


def check_data(check: CheckResult) -> dict[str, Any]:
    """One ``checks[]`` entry."""
    return {
        "id": check.id,
        "status": check.status.value,
        "duration_ms": round(check.duration_ms, 1),
        "summary": check.summary,
        "data": check.data(),
    }


def envelope(report: Report) -> dict[str, Any]:
    """The whole report as JSON-ready data."""
    target = None
    if report.target is not None:
        t = report.target
        target = {"host": t.host, "port": t.port, "servername": t.servername, "addresses": list(t.addresses)}
    out: dict[str, Any] = {
        "schema": SCHEMA,
        "command": report.command,
        "target": target,
        "verdict": report.verdict.value,
        "causes": [cause_data(c) for c in report.causes],
        "checks": [check_data(c) for c in report.checks],
        "duration_ms": round(report.duration_ms, 1),
    }
    for key, value in report.extra.items():
        out[key] = plain(value)
    return out


def to_json(report: Report) -> str:
    """The report as a JSON document (UTF-8, stable key order; terminal controls as \\u escapes)."""
    return escape_json(json.dumps(envelope(report), indent=2, ensure_ascii=False))
