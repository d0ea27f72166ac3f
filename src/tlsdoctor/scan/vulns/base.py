"""What a vulnerability probe reports: the contract's ``scan.vulnerabilities[]`` entry
(contract/cli.md) as a value, and the severities as data.

``vulnerable`` is what the server's own answer showed: True, False, or None when the probe
could not decide (no connection, the deadline, an answer that proves neither); ``evidence``
always says which answer it was, so a reader can check the verdict without rerunning it.
"""

from __future__ import annotations

import dataclasses

# contract/cli.md ``scan.vulnerabilities[].id``, in the order the report lists them.
IDS: tuple[str, ...] = (
    "heartbleed", "ccs-injection", "robot", "ticketbleed", "renegotiation-insecure",
    "renegotiation-client-initiated", "crime-compression", "poodle-ssl3", "sweet32", "freak", "logjam",
    "drown", "beast", "lucky13", "rc4", "downgrade-scsv",
)  # fmt: skip

# The severity of each finding when it holds, after testssl.sh's ratings and the CVE write-ups:
# memory disclosure and key recovery are critical/high; attacks that need a MITM and many
# requests, or a client without the usual mitigations, are medium/low.
SEVERITY: dict[str, str] = {
    "heartbleed": "critical",  # CVE-2014-0160: server memory, private keys included
    "ccs-injection": "high",  # CVE-2014-0224: MITM derives the session keys
    "robot": "high",  # Bleichenbacher oracle: decrypt RSA key exchange, sign with the key
    "ticketbleed": "high",  # CVE-2016-9244: 31 bytes of server memory per hello
    "renegotiation-insecure": "high",  # CVE-2009-3555: MITM prefixes the client's request
    "renegotiation-client-initiated": "medium",  # CPU DoS; with insecure renegotiation, worse
    "crime-compression": "high",  # CVE-2012-4929: cookie recovery through compressed lengths
    "poodle-ssl3": "high",  # CVE-2014-3566: SSLv3 CBC padding oracle
    "sweet32": "medium",  # CVE-2016-2183: birthday bound of 64-bit blocks
    "freak": "high",  # CVE-2015-0204: export RSA, 512-bit keys factored in hours
    "logjam": "high",  # CVE-2015-4000: export or precomputed DH groups
    "drown": "high",  # CVE-2016-0800: SSLv2 as an oracle against the same RSA key
    "beast": "low",  # CVE-2011-3389: clients split records since 2012
    "lucky13": "low",  # CVE-2013-0169: a timing channel of the implementation
    "rc4": "high",  # RFC 7465 prohibits RC4: biases recover plaintext
    "downgrade-scsv": "medium",  # RFC 7507 / RFC 8446 §4.1.3 downgrade protection missing
}
NOT_FOUND = "info"  # the severity of an entry that is not vulnerable, or undecided


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Vulnerability:
    id: str
    vulnerable: bool | None
    severity: str
    evidence: str

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "vulnerable": self.vulnerable,
            "severity": self.severity,
            "evidence": self.evidence,
        }


def found(vid: str, evidence: str, severity: str | None = None) -> Vulnerability:
    """The server showed the weakness; ``severity``: when this case is milder or worse than usual."""
    return Vulnerability(id=vid, vulnerable=True, severity=severity or SEVERITY[vid], evidence=evidence)


def clean(vid: str, evidence: str) -> Vulnerability:
    return Vulnerability(id=vid, vulnerable=False, severity=NOT_FOUND, evidence=evidence)


def unknown(vid: str, evidence: str) -> Vulnerability:
    """The probe could not decide; ``evidence`` says why."""
    return Vulnerability(id=vid, vulnerable=None, severity=NOT_FOUND, evidence=evidence)
