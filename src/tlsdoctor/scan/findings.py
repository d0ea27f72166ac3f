"""The scan's findings in one list, by severity: the configuration weaknesses (scan/weaknesses.py)
and the vulnerabilities a probe proved (``scan.vulnerabilities``, vulnerable true). The grade's
caps, the headline's counts and ``--fail-on`` all read this one list. Pure.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import TYPE_CHECKING

from tlsdoctor.scan.result import ScanData

if TYPE_CHECKING:
    from tlsdoctor.scan.vulns.base import Vulnerability

#: The contract's severities, worst first (contract/cli.md ``weaknesses[].severity``).
SEVERITIES = ("critical", "high", "medium", "low", "info")
DEFAULT_FAIL_ON = "high"  # contract/cli.md: --fail-on's default


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    id: str
    severity: str
    summary: str
    kind: str  # "weakness" | "vulnerability"
    reference: str = ""  # the weakness's RFC/CVE; a vulnerability's evidence is its own reference

    def to_dict(self) -> dict[str, str]:
        return {"id": self.id, "severity": self.severity, "kind": self.kind, "summary": self.summary,
                "reference": self.reference}  # fmt: skip


def rank(severity: str) -> int:
    """0 for critical ... 4 for info; an unknown severity counts as info."""
    return SEVERITIES.index(severity) if severity in SEVERITIES else len(SEVERITIES) - 1


#: A vulnerability proven on the wire -> the configuration weakness it is the proof of: in the
#: findings the proof replaces the inference (scan.weaknesses still lists both).
PROVES = {
    "drown": "sslv2",
    "poodle-ssl3": "sslv3",
    "rc4": "rc4",
    "freak": "export",
    "sweet32": "3des-sweet32",
    "crime-compression": "compression",
    "renegotiation-insecure": "no-secure-renegotiation",
    "downgrade-scsv": "no-fallback-scsv",
    "beast": "cbc-tls10",
}


def vulnerabilities(data: ScanData) -> list[Vulnerability]:
    """The vulnerability probes' results (scan/vulns), empty when they did not run."""
    return list(data.vulnerabilities)


def findings(data: ScanData) -> list[Finding]:
    """Every weakness and every proven vulnerability, worst first (stable within a severity); a
    weakness a vulnerability proves appears once, as the vulnerability, at the worse severity."""
    proven = {v.id: v for v in vulnerabilities(data) if v.vulnerable is True}
    replaced = {PROVES[vid]: vid for vid in proven if vid in PROVES}
    out: list[Finding] = []
    for w in data.weaknesses:
        if w.id not in replaced:
            out.append(
                Finding(
                    id=w.id, severity=w.severity, summary=w.summary, kind="weakness", reference=w.reference
                )
            )
    for vid, v in proven.items():
        covered = [w for w in data.weaknesses if replaced.get(w.id) == vid]
        severity = min([v.severity, *(w.severity for w in covered)], key=rank)
        reference = "; ".join(w.reference for w in covered)
        out.append(
            Finding(id=vid, severity=severity, summary=v.evidence, kind="vulnerability", reference=reference)
        )
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
