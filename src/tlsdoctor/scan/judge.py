"""What a scan's own findings do to its verdict: protocol violations and a scan cut short.

The inference engine judges the checks every command shares (reachability, the certificate);
this adds what only a scan sees. A server that answers with suites nobody offered, loops on
HelloRetryRequest, sends junk for a certificate or speaks only SSL 2.0/3.0 is broken for every
client: the verdict is ``fault``, under the closest cause id of contract/causes.md, with the
violation as evidence and fixes for the server only (nothing a client should weaken). A scan
that could not finish (its deadline, or a server that went silent) is never ``healthy``.

The configuration's quality is the grade (scan/grade.py) and the findings by severity
(scan/findings.py). ``--fail-on LEVEL`` (contract/cli.md; default high) turns a finding of that
severity or worse into the verdict ``fault`` (exit 1): the user's CI says what is a fault. No
cause id of contract/causes.md means "weak but working", so such a fault carries the causes the
engine found (none, for a server every client reaches) and the findings are its evidence in
``scan.weaknesses`` / ``scan.vulnerabilities`` and the ``scan.grade`` check.
Pure: data in, checks and causes out.
"""

from __future__ import annotations

import dataclasses

from tlsdoctor.inference.causes import CauseId
from tlsdoctor.model import Cause, CheckResult, Evidence, Status, Verdict
from tlsdoctor.scan.findings import DEFAULT_FAIL_ON, at_or_above, counts, findings
from tlsdoctor.scan.grade import grade
from tlsdoctor.scan.mozilla import fit
from tlsdoctor.scan.result import ScanData
from tlsdoctor.scan.scanner import VERSIONS_PART

CONFIDENCE = 0.95  # the server's own bytes prove it; only the cause id is a nearest fit
LEGACY_ONLY = frozenset({"SSLv2", "SSLv3"})  # prohibited: RFC 6176, RFC 7568


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """One kind of server fault a scan can prove: the cause it is closest to, and its fix."""

    cause: CauseId
    summary: str
    fix: str


FINDINGS: dict[str, Finding] = {
    "unoffered-suite": Finding(
        cause=CauseId.CIPHER_MISMATCH,
        summary="the server answers with cipher suites the client never offered: every client aborts",
        fix="the TLS stack or its configuration is broken (or a middlebox rewrites the ServerHello): "
        "upgrade or replace it; a server with no suite in common must send handshake_failure",
    ),
    "unoffered-version": Finding(
        cause=CauseId.PROTOCOL_MISMATCH,
        summary="the server answers with a protocol version the client never offered",
        fix="upgrade or replace the TLS stack: version negotiation (RFC 8446 §4.2.1) is broken",
    ),
    "hrr-loop": Finding(
        cause=CauseId.CIPHER_MISMATCH,
        summary="the server answers a retried ClientHello with another HelloRetryRequest: TLS 1.3 "
        "never completes",
        fix="fix the server's TLS 1.3 group selection (it must accept the key share it asked for), "
        "or disable TLS 1.3 until the stack is upgraded",
    ),
    "hrr-abandoned": Finding(
        cause=CauseId.SERVER_CLOSED,
        summary="the server asks for a retried ClientHello, then hangs up on it: TLS 1.3 never completes",
        fix="read the server's error log at the time of the scan: its TLS 1.3 stack fails after the "
        "HelloRetryRequest (a group it asks for but cannot use); upgrade it or disable TLS 1.3",
    ),
    "hrr-bad-group": Finding(
        cause=CauseId.CIPHER_MISMATCH,
        summary="the server's HelloRetryRequest asks for a group it may not ask for: clients abort",
        fix="fix the server's TLS 1.3 group selection (RFC 8446 §4.1.4); upgrade the TLS stack",
    ),
    "junk-certificate": Finding(
        cause=CauseId.CERT_UNTRUSTED,
        summary="the server's Certificate message holds no X.509 certificate: no client can verify it",
        fix="configure the certificate file correctly (PEM/DER of the leaf, then its chain) and reload",
    ),
    "unknown-alert": Finding(
        cause=CauseId.SERVER_CLOSED,
        summary="the server refuses handshakes with an alert no RFC defines, i.e. without saying why",
        fix="read the server's error log at the time of the scan: its TLS stack fails and reports "
        "nothing a client can act on",
    ),
    "huge-server-hello": Finding(
        cause=CauseId.SERVER_NOT_TLS,
        summary="the server answers with a ServerHello no TLS stack could send (a 16 MB length): "
        "it only looks like TLS",
        fix="check what really listens on this port (a proxy, a tarpit, a broken TLS terminator) "
        "and replace it with a working TLS server",
    ),
    "legacy-only": Finding(
        cause=CauseId.PROTOCOL_MISMATCH,
        summary="the server speaks only SSL 2.0/3.0, which current clients do not: none can connect",
        fix="enable TLS 1.2 and TLS 1.3; SSL 2.0 and 3.0 are prohibited (RFC 6176, RFC 7568)",
    ),
}


def violations(data: ScanData) -> dict[str, str]:
    """What the server did wrong: the probes' violations, plus a server with only SSL 2.0/3.0."""
    found = dict(data.violations)
    supported = {p.version for p in data.supported()}
    if supported and supported <= LEGACY_ONLY:
        found["legacy-only"] = f"the only versions that answered: {', '.join(sorted(supported))}"
    return found


def finding_checks(data: ScanData) -> list[CheckResult]:
    """One failed check per violation, and ``scan.coverage`` when the scan is incomplete."""
    out = [
        CheckResult(id=f"scan.violation.{vid}", status=Status.FAIL, summary=f"the server {text}")
        if vid in data.violations
        else CheckResult(id=f"scan.violation.{vid}", status=Status.FAIL, summary=text)
        for vid, text in violations(data).items()
    ]
    if data.untested:
        parts = "; ".join(f"{part}: {why}" for part, why in data.untested.items())
        out.append(
            CheckResult(
                id="scan.coverage",
                status=Status.FAIL if data.silent else Status.WARN,
                summary=f"partial scan ({len(data.untested)} parts incomplete) - {parts}",
            )
        )
    return out


def verdict(data: ScanData, verdict: Verdict, causes: list[Cause]) -> tuple[Verdict, list[Cause]]:
    """The engine's verdict, corrected by what only the scan saw: a violation makes it a fault
    (its cause first), an incomplete scan is never healthy."""
    found = violations(data)
    if found:
        own = [_cause(vid, text) for vid, text in found.items()]
        named = {c.id for c in own}
        return Verdict.FAULT, own + [c for c in causes if c.id not in named and c.id != "healthy"]
    if verdict is Verdict.HEALTHY and not complete_enough(data):
        return Verdict.INCONCLUSIVE, []
    return verdict, causes


# Without these no verdict on the server can stand ("scan": the backstop cut everything after it).
ESSENTIAL = (VERSIONS_PART, "certificates", "scan")


def complete_enough(data: ScanData) -> bool:
    """Whether a scan's gaps still allow ``healthy``: not when the server went silent on part of
    it, nor when our deadline cut the versions or the certificate. Gaps in the rest (the full
    suite lists of a slow server, say) are reported by ``scan.coverage`` and leave it be."""
    return not data.silent and not any(part in data.untested for part in ESSENTIAL)


def _cause(vid: str, text: str) -> Cause:
    finding = FINDINGS[vid]
    observation = text if vid not in ("legacy-only",) else f"{finding.summary} ({text})"
    return Cause(
        id=finding.cause.value,
        confidence=CONFIDENCE,
        summary=finding.summary,
        evidence=(Evidence(check=f"scan.violation.{vid}", observation=observation),),
        fixes=(f"server: {finding.fix}",),
    )


def assess(data: ScanData) -> None:
    """Once every probe is in and the chains are described (trust stores, CAA): the findings
    again (the stores' verdicts came after the probes), the grade, the Mozilla profile."""
    from tlsdoctor.scan.weaknesses import find_weaknesses

    data.weaknesses = find_weaknesses(data)
    data.grade = grade(data)
    data.profile = fit(data)


def grade_check(data: ScanData, fail_on: str = DEFAULT_FAIL_ON) -> CheckResult | None:
    """``scan.grade``: the grade, the profile met and the findings by severity; ``fail`` when a
    finding reaches ``fail_on``."""
    if data.grade is None:
        return None
    found = findings(data)
    tally = ", ".join(f"{n} {sev}" for sev, n in counts(found).items()) or "no findings"
    profile = data.profile.profile if data.profile is not None else None
    failing = at_or_above(found, fail_on)
    summary = f"grade {data.grade.grade}; Mozilla profile: {profile or 'none'}; {tally}"
    if failing:
        summary += f" (--fail-on {fail_on}: {', '.join(dict.fromkeys(f.id for f in failing))})"
    return CheckResult(id="scan.grade", status=Status.FAIL if failing else Status.PASS, summary=summary)


def gate(data: ScanData, verdict: Verdict, causes: list[Cause], fail_on: str) -> tuple[Verdict, list[Cause]]:
    """``--fail-on``: a finding at ``fail_on`` or worse makes a healthy scan a fault; the
    ``healthy`` cause goes (it would say every check passed)."""
    if verdict is Verdict.HEALTHY and at_or_above(findings(data), fail_on):
        return Verdict.FAULT, [c for c in causes if c.id != "healthy"]
    return verdict, causes
