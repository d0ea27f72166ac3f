"""The scan's findings in one list, by severity: the configuration weaknesses (scan/weaknesses.py)
and the vulnerabilities a probe proved (``scan.vulnerabilities``, vulnerable true). The grade's
caps, the headline's counts and ``--fail-on`` all read this one list. Pure.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Protocol

from tlsdoctor.scan.result import ScanData

#: The contract's severities, worst first (contract/cli.md ``weaknesses[].severity``).
SEVERITIES = ("critical", "high", "medium", "low", "info")
DEFAULT_FAIL_ON = "high"  # contract/cli.md: --fail-on's default


class Proven(Protocol):
    """What the scan needs of a ``scan.vulnerabilities`` entry (scan/vulns/)."""

    id: str
    vulnerable: bool | None
    severity: str
    evidence: str


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    id: str
    severity: str
    summary: str
    kind: str  # "weakness" | "vulnerability"


def rank(severity: str) -> int:
    """0 for critical ... 4 for info; an unknown severity counts as info."""
    return SEVERITIES.index(severity) if severity in SEVERITIES else len(SEVERITIES) - 1


def vulnerabilities(data: ScanData) -> list[Proven]:
    """``data.vulnerabilities`` when the vulnerability probes ran (absent otherwise)."""
    found: Iterable[Proven] = getattr(data, "vulnerabilities", None) or ()
    return list(found)


def findings(data: ScanData) -> list[Finding]:
    """Every weakness and every proven vulnerability, worst first (stable within a severity)."""
    out = [Finding(id=w.id, severity=w.severity, summary=w.summary, kind="weakness") for w in data.weaknesses]
    out += [
        Finding(id=v.id, severity=v.severity, summary=v.evidence, kind="vulnerability")
        for v in vulnerabilities(data)
        if v.vulnerable is True
    ]
    return sorted(out, key=lambda f: rank(f.severity))


def counts(found: Iterable[Finding]) -> dict[str, int]:
    """Findings per severity, worst first, only the severities present."""
    tally = {s: 0 for s in SEVERITIES}
    for f in found:
        tally[f.severity if f.severity in tally else "info"] += 1
    return {s: n for s, n in tally.items() if n}


def at_or_above(found: Iterable[Finding], level: str) -> list[Finding]:
    """The findings that ``--fail-on level`` fails on."""
    return [f for f in found if rank(f.severity) <= rank(level)]
