"""The JSON report (contract/cli.md): the one serializer of results.

It reads a report through the small protocols below rather than importing tlsdoctor.model: the model's
`Report.to_dict()` calls this module, so importing the model here would close an import cycle. Any object
with these attributes serializes the same way.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from tlsdoctor.observations.base import plain
from tlsdoctor.report.escape import escape_json

SCHEMA = "tlsdoctor.report/1"


class EvidenceView(Protocol):
    @property
    def check(self) -> str: ...

    @property
    def observation(self) -> str: ...


class CauseView(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def confidence(self) -> float: ...

    @property
    def summary(self) -> str: ...

    @property
    def evidence(self) -> Sequence[EvidenceView]: ...

    @property
    def fixes(self) -> Sequence[str]: ...


class CheckView(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def status(self) -> enum.Enum: ...

    @property
    def summary(self) -> str: ...

    @property
    def duration_ms(self) -> float: ...

    @property
    def started_ms(self) -> float | None: ...

    @property
    def waited_for(self) -> str | None: ...

    def data(self) -> dict[str, Any]: ...


class StepView(Protocol):
    @property
    def check(self) -> str: ...

    @property
    def started_ms(self) -> float: ...

    @property
    def duration_ms(self) -> float: ...

    @property
    def waited_for(self) -> str | None: ...

    @property
    def round_trips(self) -> int | None: ...


class TargetView(Protocol):
    @property
    def host(self) -> str | None: ...

    @property
    def port(self) -> int | None: ...

    @property
    def servername(self) -> str | None: ...

    @property
    def addresses(self) -> Sequence[str]: ...


class ReportView(Protocol):
    @property
    def command(self) -> str: ...

    @property
    def target(self) -> TargetView | None: ...

    @property
    def verdict(self) -> enum.Enum: ...

    @property
    def causes(self) -> Sequence[CauseView]: ...

    @property
    def checks(self) -> Sequence[CheckView]: ...

    @property
    def duration_ms(self) -> float: ...

    @property
    def extra(self) -> Mapping[str, Any]: ...

    @property
    def critical_path(self) -> Sequence[StepView]: ...


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def cause_data(cause: CauseView) -> dict[str, Any]:
    """One ``causes[]`` entry."""
    return {
        "id": cause.id,
        "confidence": cause.confidence,
        "summary": cause.summary,
        "evidence": [{"check": e.check, "observation": e.observation} for e in cause.evidence],
        "fixes": list(cause.fixes),
    }


def check_data(check: CheckView) -> dict[str, Any]:
    """One ``checks[]`` entry."""
    return {
        "id": check.id,
        "status": check.status.value,
        "started_ms": _ms(check.started_ms),
        "duration_ms": round(check.duration_ms, 1),
        "waited_for": check.waited_for,  # the check whose end released this one (the playbook's graph)
        "summary": check.summary,
        "data": check.data(),
    }


def path_data(steps: Sequence[StepView]) -> dict[str, Any]:
    """The ``critical_path`` object: the chain of checks that decided the run's length, and the network
    round trips spent on it where each step could say (null when any step could not)."""
    counted = [s.round_trips for s in steps]
    return {
        "steps": [
            {
                "check": s.check,
                "started_ms": round(s.started_ms, 1),
                "duration_ms": round(s.duration_ms, 1),
                "waited_for": s.waited_for,
                "round_trips": s.round_trips,
            }
            for s in steps
        ],
        "round_trips": None if any(n is None for n in counted) else sum(n for n in counted if n is not None),
    }


def envelope(report: ReportView) -> dict[str, Any]:
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
    if report.critical_path:
        out["critical_path"] = path_data(report.critical_path)
    for key, value in report.extra.items():
        out[key] = plain(value)
    return out


def dumps(data: Any, *, compact: bool = False) -> str:
    """Every JSON text the tool writes, from this one function: UTF-8, stable key order, terminal
    controls as \\u escapes (report/escape.py); indented, or one line (``compact``: a JSON Lines row)."""
    if compact:
        return escape_json(json.dumps(data, ensure_ascii=False, separators=(",", ":")))
    return escape_json(json.dumps(data, indent=2, ensure_ascii=False))


def to_json(report: ReportView) -> str:
    """The report as a JSON document (UTF-8, stable key order; terminal controls as \\u escapes)."""
    return dumps(envelope(report))
