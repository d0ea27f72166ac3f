"""What the certificate analysis and the clock check showed.

Certificates and the clock belong together: validity (RFC 5280 section 4.1.2.5) is
judged *at* a time, and a wrong local clock is the commonest reason a valid
certificate looks expired or not yet valid. Every dated finding therefore keeps
the instant it was judged at, so a rule can re-judge it at the NTP-corrected time.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from typing import ClassVar

from tlsdoctor.observations.base import Observation


class ProblemKind(enum.StrEnum):
    """What is wrong with a certificate or with the chain as sent."""

    EXPIRED = "expired"
    NOT_YET_VALID = "not-yet-valid"
    EXPIRES_SOON = "expires-soon"  # a warning: less than 14 days left
    HOSTNAME_MISMATCH = "hostname-mismatch"
    SELF_SIGNED = "self-signed"  # the leaf signs itself and is not a trust anchor
    UNTRUSTED_ROOT = "untrusted-root"  # the chain ends at a root the anchors do not hold
    INCOMPLETE_CHAIN = "incomplete-chain"  # an intermediate is missing
    WEAK_SIGNATURE = "weak-signature"
    WEAK_KEY = "weak-key"
    INTERCEPTION = "interception"  # issued by a known TLS-interception product
    FRESH_LEAF = "fresh-leaf"  # minted minutes ago: what interception proxies do
    FINGERPRINT_MISMATCH = "fingerprint-mismatch"  # not the leaf the user said the server has
    LEAKED_ROOT = "leaked-root"  # a root whose private key was published (certs/interception.toml)
    STRICT_PROFILE = "strict-profile"  # a note: OpenSSL accepts it, stricter validators would not
    REJECTED = "rejected"  # the client refused the chain for a reason none of the above explains
    UNPARSEABLE = "unparseable"


#: Problem kinds that only warn: the certificate still works for most clients.
WARNING_KINDS = frozenset(
    {
        ProblemKind.EXPIRES_SOON,
        ProblemKind.WEAK_SIGNATURE,
        ProblemKind.WEAK_KEY,
        ProblemKind.FRESH_LEAF,
        ProblemKind.STRICT_PROFILE,
    }
)

#: A weak key or signature: a warning for the chain, yet what a client's security level refuses.
WEAK_KINDS = frozenset({ProblemKind.WEAK_SIGNATURE, ProblemKind.WEAK_KEY})


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class CertificateInfo(Observation):
    """One certificate of the chain as sent, parsed (``index`` 0 is the leaf)."""

    kind: ClassVar[str] = "certificate"

    index: int
    subject: str
    issuer: str
    serial: str  # hex
    not_before: dt.datetime
    not_after: dt.datetime
    days_left: float  # at the time it was judged; negative once expired
    key_type: str  # "RSA", "EC", "DSA", "Ed25519", ...
    key_bits: int
    signature_hash: str | None  # "sha256", "sha1", ... (None for Ed25519)
    sans: tuple[str, ...]  # "DNS:name" / "IP:addr"
    self_signed: bool
    is_ca: bool
    ca_issuers: tuple[str, ...]  # AIA caIssuers URLs (RFC 5280 section 4.2.2.1)
    ocsp: tuple[str, ...]  # AIA OCSP responder URLs
    sha256: str  # hex fingerprint of the DER
    is_anchor: bool = False  # the certificate is itself one of the trust anchors

    def stall_proof(self, stalled_s: float) -> bool:
        return True  # read from the certificates the server sent: no clock of ours in it

    def describe(self) -> str:
        role = "leaf" if self.index == 0 else f"#{self.index}"
        return (
            f"{role}: {self.subject} issued by {self.issuer}, valid {self.not_before:%Y-%m-%d} "
            f"to {self.not_after:%Y-%m-%d} ({self.days_left:.0f} days left), "
            f"{self.key_type} {self.key_bits}, {self.signature_hash or 'no hash'}"
        )


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class CertificateProblem(Observation):
    """One finding against a certificate (``index``) or the chain (``index`` -1).

    ``problem`` is the finding's kind (``kind`` is taken by every observation's type tag).
    Dated findings keep ``not_before``/``not_after`` and the instant ``at`` they were judged at.
    """

    kind: ClassVar[str] = "certificate-problem"

    problem: ProblemKind
    index: int
    subject: str
    detail: str
    days: float | None = None  # expired: days ago; not-yet-valid: days ahead; expires-soon: days left
    not_before: dt.datetime | None = None
    not_after: dt.datetime | None = None
    at: dt.datetime | None = None
    confirmed: bool | None = None  # incomplete-chain: a fetched issuer completed the chain (None: not tried)
    product: str = ""  # interception, leaked-root: the product the issuer name points at
    source: str = ""  # interception, leaked-root: where that issuer name is documented
    identified_by: str = ""  # leaked-root: "fingerprint" (exact) or "subject" (a heuristic)
    objections: tuple[str, ...] = ()  # strict-profile: each objection, with the certificate it is about

    def stall_proof(self, stalled_s: float) -> bool:
        return True  # read from the certificates the server sent: no clock of ours in it

    def describe(self) -> str:
        return f"certificate {self.problem.value}: {self.detail}"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ChainValidation(Observation):
    """RFC 5280 section 6 path validation of the chain against one anchor set, at one instant."""

    kind: ClassVar[str] = "chain-validation"

    store: str  # "system", "ca-file:PATH"; "+fetched" when an AIA-fetched issuer was added
    anchors: int
    name: str
    at: dt.datetime
    valid: bool  # judged as OpenSSL judges (certs/paths.py ``lenient``): path, validity, name
    error: str = ""
    path: tuple[str, ...] = ()  # subjects from leaf to anchor, when valid
    strict_error: str = ""  # what a strict RFC 5280 / CA-B verifier objects to ("" when it accepts)

    def stall_proof(self, stalled_s: float) -> bool:
        return True  # read from the certificates the server sent: no clock of ours in it

    def describe(self) -> str:
        where = (
            f"against the {self.store} store ({self.anchors} anchors) for {self.name} "
            f"at {self.at:%Y-%m-%d %H:%M}Z"
        )
        if self.valid:
            strict = (
                f" (a strict RFC 5280 verifier refuses it: {self.strict_error})" if self.strict_error else ""
            )
            return f"chain validates {where}{strict}"
        return f"chain does not validate {where}: {self.error}"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class TrustStoreInfo(Observation):
    """The trust anchors used: where they came from and how many there are."""

    kind: ClassVar[str] = "trust-store"

    source: str  # "system" | "ca-file"
    anchors: int
    cafile: str | None = None
    capath: str | None = None
    detail: str = ""

    def stall_proof(self, stalled_s: float) -> bool:
        return True  # a file on this machine

    def describe(self) -> str:
        where = ", ".join(p for p in (self.cafile, self.capath) if p) or "no file or directory"
        if not self.anchors:
            extra = f": {self.detail}" if self.detail else ""
            return f"{self.source} trust store is empty or missing ({where}){extra}"
        return f"{self.source} trust store: {self.anchors} anchors from {where}"


class FetchOutcome(enum.StrEnum):
    """How an HTTP fetch of an issuer (AIA) or OCSP answer ended."""

    OK = "ok"
    HTTP_ERROR = "http-error"
    TIMEOUT = "timeout"
    TOO_LARGE = "too-large"
    NOT_CERTIFICATE = "not-certificate"
    UNSUPPORTED = "unsupported"  # not an http:// URL
    CONNECT_FAILED = "connect-failed"
    ERROR = "error"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class IssuerFetch(Observation):
    """An issuer certificate fetched from AIA caIssuers (RFC 5280 section 4.2.2.1) to complete the chain."""

    kind: ClassVar[str] = "issuer-fetch"

    url: str
    outcome: FetchOutcome
    status: int | None = None
    size: int = 0
    subject: str = ""
    completes_chain: bool | None = None
    detail: str = ""

    def stall_proof(self, stalled_s: float) -> bool:
        return self.outcome is not FetchOutcome.TIMEOUT  # only its deadline can be ours

    def describe(self) -> str:
        if self.outcome is not FetchOutcome.OK:
            return f"fetching the missing issuer from {self.url}: {self.outcome.value} {self.detail}".rstrip()
        verdict = {True: "completes the chain", False: "does not complete the chain", None: "was not checked"}
        return f"issuer fetched from {self.url} ({self.subject}) {verdict[self.completes_chain]}"


class RevocationState(enum.StrEnum):
    """An OCSP answer (RFC 6960 section 2.2), or why there is none."""

    GOOD = "good"
    REVOKED = "revoked"
    UNKNOWN = "unknown"
    UNAVAILABLE = "unavailable"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RevocationCheck(Observation):
    """An OCSP query for one certificate to the responder its AIA names."""

    kind: ClassVar[str] = "revocation"

    index: int
    subject: str
    responder: str
    state: RevocationState
    revoked_at: dt.datetime | None = None
    reason: str | None = None
    detail: str = ""

    def describe(self) -> str:
        if self.state is RevocationState.REVOKED:
            when = f" on {self.revoked_at:%Y-%m-%d}" if self.revoked_at else ""
            why = f" ({self.reason})" if self.reason else ""
            return f"OCSP responder {self.responder} says {self.subject} was revoked{when}{why}"
        extra = f": {self.detail}" if self.detail else ""
        return f"OCSP responder {self.responder} answers {self.state.value} for {self.subject}{extra}"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ClockOffset(Observation):
    """The local clock against an NTP server (RFC 4330 section 5).

    ``offset_s`` is server time minus local time: positive means the local clock is
    behind, so the corrected time is ``local + offset_s``.
    """

    kind: ClassVar[str] = "clock-offset"

    source: str
    offset_s: float
    rtt_ms: float
    stratum: int | None = None

    def stall_proof(self, stalled_s: float) -> bool:
        """Our stall can skew the measured offset by its own length (and the round trip's): an
        offset well beyond that is the clock's, not ours."""
        return abs(self.offset_s) > stalled_s + self.rtt_ms / 1000 + 1.0

    def describe(self) -> str:
        direction = "behind" if self.offset_s > 0 else "ahead of"
        return (
            f"local clock is {abs(self.offset_s):.1f} s {direction} NTP server {self.source} "
            f"(round trip {self.rtt_ms:.0f} ms)"
        )


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class NtpFailure(Observation):
    """An NTP query that gave no usable time."""

    kind: ClassVar[str] = "ntp-failure"

    source: str
    # "timeout", "refused", "resolve-failed", "kiss-of-death", "unsynchronized", "bad-reply", "error"
    outcome: str
    detail: str = ""

    def describe(self) -> str:
        extra = f": {self.detail}" if self.detail else ""
        return f"NTP server {self.source}: {self.outcome}{extra}"
