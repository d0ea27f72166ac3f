"""The scan's findings as frozen-ish data: what every scan part fills in and the grade, the profile and
the report read. The rendering into the contract's ``"scan": {...}`` object is scan/contract.py; code
points stay integers until there. Nothing here imports another scan module, so every one of them can
import these types (the grade and the profile fit included) without a circle."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from tlsdoctor.observations.base import Observation
from tlsdoctor.observations.cert import CertificateInfo, CertificateProblem

if TYPE_CHECKING:
    from tlsdoctor.clientsim.judge import Outcome
    from tlsdoctor.scan.vulns.base import Vulnerability


@dataclasses.dataclass(slots=True, kw_only=True)
class ProtocolResult:
    """One protocol version: supported or not, its suites in order, and what the probe saw."""

    version: str
    supported: bool
    suites: list[int] = dataclasses.field(default_factory=list)  # SSLv2: 3-byte cipher kinds
    server_order: bool | None = None
    tested: int = 0  # distinct suites offered
    handshakes: int = 0
    ended: str = ""  # how the version probe ended when unsupported (alert, closed, ...)
    dh_bits: int | None = None  # the smallest DHE prime seen (RFC 7919 / Logjam)
    unusable: str = ""  # the server answered this version, but no client could go on (why)


@dataclasses.dataclass(slots=True, kw_only=True)
class CertificateResult:
    """The chain served for one key type, with the analysis ``diagnose`` makes."""

    key_type: str  # the offer: RSA, ECDSA, Ed25519 (or "any": a TLS 1.3-only server's one chain)
    chain: tuple[bytes, ...]
    observations: list[Observation]
    details: list[dict[str, Any]] = dataclasses.field(default_factory=list)  # per cert as sent (certinfo)
    stores: list[dict[str, Any]] = dataclasses.field(default_factory=list)  # each trust store's verdict

    def infos(self) -> list[CertificateInfo]:
        return [o for o in self.observations if isinstance(o, CertificateInfo)]

    def problems(self) -> list[CertificateProblem]:
        return [o for o in self.observations if isinstance(o, CertificateProblem)]


@dataclasses.dataclass(slots=True, kw_only=True)
class Weakness:
    id: str
    severity: str  # critical, high, medium, low, info (scan/weaknesses.py says what each means)
    summary: str
    reference: str


@dataclasses.dataclass(slots=True, kw_only=True)
class HttpAnswer:
    """The server's answer to one HTTP request over a negotiated connection (scan/sessions.py):
    the status line, the security headers as sent, the banner; ``error`` when there was none."""

    status: int | None = None
    status_line: str = ""
    headers: dict[str, str] = dataclasses.field(default_factory=dict)  # lower-cased name -> value
    server: str | None = None  # the Server header (the banner)
    hsts_max_age: int | None = None  # RFC 6797 §6.1.1; None: no (valid) header
    hsts_include_subdomains: bool = False
    hsts_preload: bool = False
    error: str = ""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Cap:
    """A finding that caps the grade (scan/grade.toml's ``[[cap]]`` rows)."""

    finding: str
    grade: str
    source: str


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Grade:
    """The grade (scan/grade.py) with its reasons: what each category scored, which caps applied, why
    not A+."""

    grade: str
    score: int
    protocol: int
    key_exchange: int
    cipher: int
    caps: tuple[Cap, ...] = ()
    ignoring_trust: str = ""  # the grade if the chain were trusted (only when grade is T)
    not_a_plus: tuple[str, ...] = ()  # why an A is not an A+

    def to_dict(self) -> dict[str, Any]:
        return {
            "grade": self.grade,
            "score": self.score,
            "categories": {
                "protocol": self.protocol,
                "key_exchange": self.key_exchange,
                "cipher": self.cipher,
            },
            "caps": [{"finding": c.finding, "grade": c.grade, "source": c.source} for c in self.caps],
            "ignoring_trust": self.ignoring_trust or None,
            "not_a_plus": list(self.not_a_plus),
        }


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ProfileFit:
    """Which of Mozilla's server-side TLS profiles the server meets (scan/mozilla.py)."""

    profile: str | None  # the strictest profile met, None when none is
    deviations: dict[str, list[str]]  # profile -> what the server offers outside it
    recommendations: list[str]  # of the profile met (or of "old" when none): not deciding
    guidelines: str  # the version of Mozilla's guidelines judged by (scan/mozilla.json)
    source: str  # where they are published

    def to_dict(self) -> dict[str, Any]:
        return {
            "profile": self.profile,
            "guidelines": self.guidelines,
            "source": self.source,
            "deviations": self.deviations,
            "recommendations": self.recommendations,
        }


@dataclasses.dataclass(slots=True, kw_only=True)
class ScanData:
    protocols: list[ProtocolResult] = dataclasses.field(default_factory=list)
    groups: list[int] = dataclasses.field(default_factory=list)
    groups_tested: int = 0
    schemes: list[int] = dataclasses.field(default_factory=list)
    certificates: list[CertificateResult] = dataclasses.field(default_factory=list)
    features: dict[str, Any] = dataclasses.field(default_factory=dict)
    weaknesses: list[Weakness] = dataclasses.field(default_factory=list)
    vulnerabilities: list[Vulnerability] = dataclasses.field(default_factory=list)  # scan/vulns
    handshakes: int = 0
    notes: list[str] = dataclasses.field(default_factory=list)
    untested: dict[str, str] = dataclasses.field(default_factory=dict)  # part -> why incomplete
    violations: dict[str, str] = dataclasses.field(default_factory=dict)  # id -> what the server did
    silent: bool = False  # part of ``untested`` is the server's silence, not our deadline
    round_trips: dict[str, Any] = dataclasses.field(default_factory=dict)  # scan/waves.py to_contract
    http: HttpAnswer | None = None  # one HTTP request's answer (scan/sessions.py)
    sessions: dict[str, Any] = dataclasses.field(default_factory=dict)  # resumption, early data
    caa: dict[str, Any] | None = None  # the name's CAA records (scan/caa.py)
    # leaf DER -> (stapled OCSP response, SCT extension body or None) as it came with that leaf
    delivered: dict[bytes, tuple[bytes, bytes | None]] = dataclasses.field(default_factory=dict)
    grade: Grade | None = None  # scan/grade.py, once everything else is in
    profile: ProfileFit | None = None  # scan/mozilla.py
    clients: list[Outcome] = dataclasses.field(default_factory=list)  # client simulation

    def hsts_max_age(self) -> int | None:
        return self.http.hsts_max_age if self.http is not None else None

    def supported(self) -> list[ProtocolResult]:
        return [p for p in self.protocols if p.supported]

    @property
    def partial(self) -> bool:
        """Some part of the scan was cut short (deadline, or a server that went silent)."""
        return bool(self.untested)
