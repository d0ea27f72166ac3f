"""The grade (scan/grade.py + grade.toml), the Mozilla profile (scan/mozilla.py), the findings and
``--fail-on`` (scan/findings.py, scan/judge.py): each rule with a positive and a near miss, on
ScanData built by hand; the rendering at a fixed 80 columns."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from rich.console import Console

from tlsdoctor.model import Cause, Verdict
from tlsdoctor.observations.cert import CertificateInfo, CertificateProblem, ProblemKind
from tlsdoctor.report import scan_human
from tlsdoctor.scan import judge
from tlsdoctor.scan.contract import to_contract
from tlsdoctor.scan.findings import SEVERITIES, at_or_above, findings
from tlsdoctor.scan.grade import rules
from tlsdoctor.scan.mozilla import fit
from tlsdoctor.scan.result import CertificateResult, HttpAnswer, ProtocolResult, ScanData
from tlsdoctor.scan.vulns.base import Vulnerability, clean, found, unknown
from tlsdoctor.scan.weaknesses import RULES, find_weaknesses

NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
ECDHE_AEAD = [0xC02F, 0xC030, 0xCCA8]  # ECDHE-RSA AES128-GCM, AES256-GCM, CHACHA20
TLS13 = [0x1301, 0x1302, 0x1303]


def cert(key_type: str = "RSA", bits: int = 2048, *, index: int = 0, days: int = 90) -> CertificateInfo:
    return CertificateInfo(
        index=index, subject=f"CN=c{index}", issuer=f"CN=c{index + 1}", serial="01",
        not_before=NOW - dt.timedelta(days=1), not_after=NOW + dt.timedelta(days=days - 1),
        days_left=days - 1, key_type=key_type, key_bits=bits, signature_hash="sha256", sans=("DNS:x",),
        self_signed=False, is_ca=index > 0, ca_issuers=(), ocsp=(), sha256="00",
    )  # fmt: skip


def chain(
    leaf: CertificateInfo, issuer_type: str = "RSA", *problems: CertificateProblem
) -> CertificateResult:
    issuer = cert(issuer_type, 2048 if issuer_type == "RSA" else 256, index=1, days=3650)
    return CertificateResult(key_type=leaf.key_type, chain=(b"x",), observations=[leaf, issuer, *problems])


def scan(
    *protocols: ProtocolResult,
    certs: tuple[CertificateResult, ...] | None = None,
    hsts: int | None = None,
    **features: Any,
) -> ScanData:
    data = ScanData(protocols=list(protocols), groups=[0x1D, 0x17, 0x18])
    data.certificates = list(certs if certs is not None else (chain(cert()),))
    data.features.update({"secure_renegotiation": True, "fallback_scsv": True, "ocsp_stapling": True})
    data.features.update(features)
    if hsts is not None:
        data.http = HttpAnswer(status=200, hsts_max_age=hsts)
    data.weaknesses = find_weaknesses(data)
    judge.assess(data)
    return data


def v(version: str, suites: list[int], **kw: Any) -> ProtocolResult:
    return ProtocolResult(version=version, supported=True, suites=suites, **kw)


MODERN = (v("TLSv1.2", ECDHE_AEAD), v("TLSv1.3", TLS13))


def graded(data: ScanData) -> str:
    assert data.grade is not None
    return data.grade.grade


def caps(data: ScanData) -> set[str]:
    assert data.grade is not None
    return {c.finding for c in data.grade.caps}


def test_modern_configuration_is_a_and_a_plus_only_with_long_hsts() -> None:
    data = scan(*MODERN)
    assert graded(data) == "A" and data.grade is not None and data.grade.score >= 80
    assert any("HSTS" in why for why in data.grade.not_a_plus)
    assert graded(scan(*MODERN, hsts=63072000)) == "A+"
    assert graded(scan(*MODERN, hsts=86400)) == "A"  # near miss: HSTS, but for a day


def test_a_plus_is_withheld_by_an_a_minus_warning() -> None:
    assert graded(scan(*MODERN, hsts=63072000, fallback_scsv=False)) == "A"
    assert graded(scan(*MODERN, hsts=63072000, secure_renegotiation=False)) == "A"


@pytest.mark.parametrize(
    ("extra", "cap", "expected"),
    [
        (v("TLSv1.0", [0xC013]), "tls10", "B"),  # 2020: TLS 1.0 -> B
        (v("TLSv1.1", [0xC013]), "tls11", "B"),
        (v("SSLv3", [0x002F]), "sslv3", "C"),
        (v("TLSv1.2", [0x000A]), "3des-sweet32", "C"),
        (v("TLSv1.2", [0x0005]), "rc4", "C"),
        (v("TLSv1.2", [0x0034]), "anonymous", "F"),  # anonymous: the key exchange scores 0
        (v("TLSv1.2", [0x0002]), "null-cipher", "F"),
        (v("TLSv1.2", [0x0003]), "export", "F"),
    ],
)  # fmt: skip
def test_each_cap_applies_with_its_source(extra: ProtocolResult, cap: str, expected: str) -> None:
    protocols = {p.version: p for p in MODERN}
    if extra.version in protocols:
        protocols[extra.version] = v(extra.version, protocols[extra.version].suites + extra.suites)
    else:
        protocols[extra.version] = extra
    data = scan(*protocols.values())
    assert cap in caps(data)
    assert graded(data) == expected
    assert data.grade is not None
    assert all(c.source for c in data.grade.caps)


def test_dh_sizes_cap_b_and_f() -> None:
    dhe = [0x009E]  # DHE-RSA-AES128-GCM-SHA256
    assert graded(scan(v("TLSv1.2", ECDHE_AEAD + dhe, dh_bits=2048), MODERN[1])) == "A"
    assert graded(scan(v("TLSv1.2", ECDHE_AEAD + dhe, dh_bits=1024), MODERN[1])) == "B"
    assert graded(scan(v("TLSv1.2", ECDHE_AEAD + dhe, dh_bits=512), MODERN[1])) == "F"


def test_no_forward_secrecy_and_no_aead_cap_b() -> None:
    static_cbc = scan(v("TLSv1.2", [0x002F, 0x0035]))  # AES128-SHA, AES256-SHA only
    assert {"no-forward-secrecy", "no-aead"} <= caps(static_cbc) and graded(static_cbc) == "B"
    # near miss: one ECDHE AEAD suite among them lifts both caps
    assert not {"no-forward-secrecy", "no-aead"} & caps(scan(v("TLSv1.2", [0xC02F, 0x002F])))


def test_key_size_scores() -> None:
    small = scan(*MODERN, certs=(chain(cert("RSA", 1024)),))
    assert small.grade is not None and small.grade.key_exchange == 80  # guide Table 3: < 2048 -> 80
    big = scan(*MODERN, certs=(chain(cert("RSA", 4096)),))
    assert big.grade is not None and big.grade.key_exchange == 90  # x25519 ~ RSA 3072 is the weakest


def test_untrusted_chain_is_t_with_the_grade_it_would_have() -> None:
    problem = CertificateProblem(
        problem=ProblemKind.UNTRUSTED_ROOT, index=0, subject="CN=c0", detail="untrusted"
    )
    data = scan(*MODERN, certs=(chain(cert(), "RSA", problem),))
    assert graded(data) == "T" and data.grade is not None and data.grade.ignoring_trust == "A"


def with_vulns(*vulns: Vulnerability, protocols: tuple[ProtocolResult, ...] = MODERN) -> ScanData:
    data = ScanData(protocols=list(protocols), groups=[0x1D])
    data.certificates = [chain(cert())]
    data.features.update({"secure_renegotiation": True, "fallback_scsv": True, "ocsp_stapling": True})
    data.vulnerabilities = list(vulns)
    data.weaknesses = find_weaknesses(data)
    judge.assess(data)
    return data


def test_vulnerabilities_cap_when_found_vulnerable_only() -> None:
    hit = with_vulns(found("heartbleed", "64 KB echoed"))
    assert graded(hit) == "F" and "heartbleed" in caps(hit)
    assert findings(hit)[0].id == "heartbleed" and findings(hit)[0].kind == "vulnerability"
    assert graded(with_vulns(clean("heartbleed", "no echo"))) == "A"  # near misses: clean,
    assert graded(with_vulns(unknown("heartbleed", "no answer"))) == "A"  # or undecided: no cap


def test_a_proven_vulnerability_replaces_the_weakness_it_proves_in_the_findings() -> None:
    tls12 = v("TLSv1.2", [*ECDHE_AEAD, 0x000A])
    data = with_vulns(found("sweet32", "3DES accepted at TLS 1.2"), protocols=(tls12, MODERN[1]))
    ids = [f.id for f in findings(data)]
    assert "sweet32" in ids and "3des-sweet32" not in ids  # one finding, the proof
    assert {w.id for w in data.weaknesses} >= {"3des-sweet32"}  # scan.weaknesses still lists it
    assert graded(data) == "C"
    alone = with_vulns(clean("sweet32", "not accepted"), protocols=(tls12, MODERN[1]))
    assert "3des-sweet32" in [f.id for f in findings(alone)]  # near miss: no proof, the inference stays


def test_every_weakness_has_a_contract_severity_and_every_cap_a_known_finding() -> None:
    assert {severity for _, severity, *_ in RULES} <= set(SEVERITIES)
    weakness_ids = {wid for wid, *_ in RULES}
    vulnerability_ids = {
        "heartbleed", "ccs-injection", "robot", "ticketbleed", "renegotiation-insecure",
        "renegotiation-client-initiated", "crime-compression", "poodle-ssl3", "sweet32", "freak", "logjam",
        "drown", "beast", "lucky13", "rc4", "downgrade-scsv",
    }  # fmt: skip
    for cap in rules()["cap"]:
        assert cap["finding"] in weakness_ids | vulnerability_ids, cap
    for fid in rules()["a_plus"]["withheld_by"]:
        assert fid in weakness_ids | vulnerability_ids, fid


def test_mozilla_profiles() -> None:
    ec = (chain(cert("EC", 256), "EC"),)
    assert fit(scan(MODERN[1], certs=ec)).profile == "modern"  # type: ignore[union-attr]
    intermediate = fit(scan(*MODERN, certs=ec))
    assert intermediate is not None and intermediate.profile == "intermediate"
    assert any("TLSv1.2" in d for d in intermediate.deviations["modern"])
    old = fit(scan(v("TLSv1.0", [0xC013, 0x002F]), *MODERN))
    assert old is not None and old.profile == "old"
    none = fit(scan(v("TLSv1.2", [0x0034]), MODERN[1]))
    assert none is not None and none.profile is None
    assert any("TLS_DH_anon_WITH_AES_128_CBC_SHA" in d for d in none.deviations["old"])
    # near misses: an RSA 1024 leaf, a DHE prime under the profile's size, a 224-bit group
    assert fit(scan(*MODERN, certs=(chain(cert("RSA", 1024)),))).profile is None  # type: ignore[union-attr]
    dhe = fit(scan(v("TLSv1.2", [*ECDHE_AEAD, 0x009E], dh_bits=1024), MODERN[1]))
    assert dhe is not None and dhe.profile == "old"
    weak_group = scan(*MODERN)
    weak_group.groups = [0x15]  # secp224r1
    assert fit(weak_group).profile is None  # type: ignore[union-attr]


def test_fail_on_gate() -> None:
    legacy = scan(v("TLSv1.0", [0x0034, 0x002F]))
    found = findings(legacy)
    assert found[0].severity == "critical"
    assert [f.severity for f in found] == sorted((f.severity for f in found), key=SEVERITIES.index)
    healthy = [Cause(id="healthy", confidence=1.0, summary="ok")]
    assert judge.gate(legacy, Verdict.HEALTHY, healthy, "high") == (Verdict.FAULT, [])
    modern = scan(*MODERN, ocsp_stapling=False)  # one low finding
    assert judge.gate(modern, Verdict.HEALTHY, healthy, "high") == (Verdict.HEALTHY, healthy)
    assert judge.gate(modern, Verdict.HEALTHY, healthy, "low")[0] is Verdict.FAULT
    assert at_or_above(findings(modern), "medium") == []
    check = judge.grade_check(legacy, "high")
    assert check is not None and check.status.value == "fail" and "anonymous" in check.summary


def rendered(scan_data: dict[str, Any], *, verbose: bool, width: int = 80) -> str:
    console = Console(file=io.StringIO(), width=width, color_system=None)
    for part in scan_human.verdict(scan_data):
        console.print(part)
    for part in scan_human.renderables(scan_data, verbose=verbose):
        console.print(part)
    return console.file.getvalue()  # type: ignore[attr-defined,no-any-return]


def test_report_leads_with_grade_and_never_breaks_a_suite_name_at_80_columns() -> None:
    long_names = [0xCCA9, 0xC02C, 0xC0AF, 0xC024, 0xC00A, 0x0034]  # 40+ character IANA names
    data = to_contract(scan(v("TLSv1.0", [0xC013]), v("TLSv1.2", ECDHE_AEAD + long_names), MODERN[1]))
    folded = rendered(data, verbose=False)
    assert folded.lstrip().startswith("Grade F")
    assert folded.index("critical") < folded.index("medium")
    rows = [line for line in folded.splitlines() if line.strip().startswith("TLSv1.2")]
    assert len(rows) == 1 and "9 suites" in rows[0]  # one line for the version
    assert "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256" not in folded
    verbose = rendered(data, verbose=True)
    lines = verbose.splitlines()
    assert all(len(line) <= 80 for line in lines)
    for name in [s for p in data["protocols"] for s in p["cipher_suites"]]:
        assert any(line.strip() == name for line in lines), name  # whole, on a line of its own


def test_html_page_leads_with_the_grade_and_findings() -> None:
    from tlsdoctor.report import html

    data = to_contract(scan(v("TLSv1.0", [0xC013]), v("TLSv1.2", [*ECDHE_AEAD, 0x0034]), MODERN[1]))
    page = html.document({"command": "scan", "verdict": "fault", "causes": [], "checks": [], "scan": data})
    assert page.index('id="grade"') < page.index('id="scan"')
    grade_part = page[page.index('id="grade"') : page.index('id="scan"')]
    assert '<span class="grade">F</span>' in grade_part and "none met" in grade_part
    assert grade_part.index("anonymous") < grade_part.index("tls10")  # critical before medium
    assert "capped at B by tls10" in grade_part


def test_a_curve_outside_the_profiles_list_keeps_the_server_out_of_it() -> None:
    """Mozilla's profiles name their curves (X25519, prime256v1, secp384r1): a server that also offers
    secp521r1 (OpenSSL's default list) meets none of them, as sslyze's checker says too."""
    ec = (chain(cert("EC", 256), "EC"),)
    listed = scan(*MODERN, certs=ec)
    wide = scan(*MODERN, certs=ec)
    wide.groups = [0x1D, 0x17, 0x18, 0x19]  # + secp521r1
    assert fit(listed) is not None and fit(listed).profile == "intermediate"  # type: ignore[union-attr]
    found = fit(wide)
    assert found is not None and found.profile is None
    assert any("secp521r1 is outside the profile's curves" in d for d in found.deviations["intermediate"])
