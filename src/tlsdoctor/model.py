"""Frozen result types: what checks return and what commands report."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Sequence
from typing import Any

from tlsdoctor.observations.base import Observation


class Status(enum.StrEnum):
    """How one check ended (contract: checks[].status)."""

    PASS = "pass"
    FAIL = "fail"
    WARN = "warn"
    SKIP = "skip"
    ERROR = "error"


class Verdict(enum.StrEnum):
    """The report's overall answer (contract: verdict)."""

    HEALTHY = "healthy"
    FAULT = "fault"
    INCONCLUSIVE = "inconclusive"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class CheckResult:
    """One check's outcome: status, a summary line, and the observations behind it."""

    id: str
    status: Status
    summary: str
    duration_ms: float = 0.0
    observations: tuple[Observation, ...] = ()
    error: str | None = None
    # When it started, from the run's start (runner.timeline); None outside a timed run.
    started_ms: float | None = None
    # The check whose end released this one (the playbook's declared dependency that finished last).
    waited_for: str | None = None

    def data(self) -> dict[str, Any]:
        """The contract's ``checks[].data``: the observations, rendered generically."""
        out: dict[str, Any] = {"observations": [o.to_data() for o in self.observations]}
        if self.error:
            out["error"] = self.error
        return out


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Evidence:
    """One fact supporting a cause, named by the check that observed it."""

    check: str
    observation: str


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Cause:
    """A ranked root cause, with the evidence that proves it and what to change."""

    id: str
    confidence: float
    summary: str
    evidence: tuple[Evidence, ...] = ()
    fixes: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class TargetInfo:
    """The contract's ``target`` object."""

    host: str | None = None
    port: int | None = None
    servername: str | None = None
    addresses: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class PathStep:
    """One check on a run's critical path: the chain of checks, each released by the end of the one
    before, that ends with the run's last check (timeline.critical_path)."""

    check: str
    started_ms: float
    duration_ms: float
    waited_for: str | None
    round_trips: int | None = None  # network round trips the check spent in sequence, when it says


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Report:
    """Everything a command found; rendered by report.envelope (JSON) and report.human."""

    command: str
    target: TargetInfo | None
    verdict: Verdict
    causes: tuple[Cause, ...]
    checks: tuple[CheckResult, ...]
    duration_ms: float
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)
    critical_path: tuple[PathStep, ...] = ()

    @property
    def exit_status(self) -> int:
        """Contract exit status: 0 healthy, 1 fault (inconclusive counts as not healthy)."""
        return 0 if self.verdict is Verdict.HEALTHY else 1

    def to_dict(self) -> dict[str, Any]:
        """The JSON envelope of contract/cli.md as plain data: report.envelope's, the one serializer."""
        from tlsdoctor.report.envelope import envelope

        return envelope(self)

    def to_json(self) -> str:
        """The JSON envelope as text, exactly as ``--json`` prints it."""
        from tlsdoctor.report.envelope import to_json

        return to_json(self)


def worst(statuses: Sequence[Status]) -> Status:
    """The most severe of several statuses, for checks made of sub-probes."""
    order = [Status.ERROR, Status.FAIL, Status.WARN, Status.PASS, Status.SKIP]
    for status in order:
        if status in statuses:
            return status
    return Status.SKIP


HEALTHY_SUMMARY = "every check passed; no fault found"


def healthy_summary(results: Sequence[CheckResult]) -> str:
    """The ``healthy`` cause's summary: what was noted when a check warned, since "every check
    passed" above a warn row would contradict the report (issue 9 item 5)."""
    warned = [r for r in results if r.status is Status.WARN]
    if not warned:
        return HEALTHY_SUMMARY
    return "no fault found; noted: " + "; ".join(f"{r.id}: {r.summary}" for r in warned[:3])
