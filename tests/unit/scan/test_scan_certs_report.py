"""The certificate part of the scan report: the trust-store gap finding (a positive and its near
misses), the trust list's order, and the rendering (80 columns, hostile names escaped)."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from rich.console import Console

from tlsdoctor.observations.cert import ChainValidation
from tlsdoctor.report import scan_human
from tlsdoctor.scan.contract import to_contract
from tlsdoctor.scan.result import CertificateResult, ProtocolResult, ScanData
from tlsdoctor.scan.weaknesses import find_weaknesses

AT = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
JAVA_REFUSES = {"store": "java", "source": "java:/x", "anchors": 90, "trusted": False, "error": "no issuer",
                "path": []}  # fmt: skip
MOZILLA_OK = {"store": "mozilla", "source": "certifi:/y", "anchors": 140, "trusted": True, "error": None,
              "path": ["CN=a", "CN=root"]}  # fmt: skip


def data(store: str, valid: bool, stores: list[dict[str, Any]], subject: str = "CN=example.com") -> ScanData:
    own = ChainValidation(store=store, anchors=144, name="example.com", at=AT, valid=valid,
                          path=(subject, "CN=root") if valid else ())  # fmt: skip
    leaf = {"subject": subject, "issuer": "CN=root", "serial": "1f", "sans": ["DNS:example.com"],
            "not_before": "2026-11-01T00:00:00+00:00", "not_after": "2027-01-30T00:00:00+00:00",
            "days_left": 60.0, "lifetime_days": 90, "key": "EC 256",
            "signature_algorithm": "ecdsa-with-SHA256",
            "signature_hash": "sha256", "key_usage": ["digital_signature"],
            "extended_key_usage": ["serverAuth"],
            "must_staple": False, "scts": [{"log_id": "aa", "timestamp": "2026-11-01T00:00:00"}],
            "ocsp_urls": ["http://ocsp.example"], "ca_issuers_urls": [], "crl_urls": [], "sha256": "ab" * 32,
            "sha1": "cd" * 20}  # fmt: skip
    cert = CertificateResult(
        key_type="ECDSA", chain=(b"x",), observations=[own], details=[leaf], stores=stores
    )
    d = ScanData(
        protocols=[ProtocolResult(version="TLSv1.3", supported=True, suites=[0x1301])], certificates=[cert]
    )
    d.weaknesses = find_weaknesses(d)
    return d


def ids(d: ScanData) -> set[str]:
    return {w.id for w in d.weaknesses}


def test_trust_store_gap_only_when_the_system_trusts_and_another_store_refuses() -> None:
    assert "trust-store-gap" in ids(data("system", True, [MOZILLA_OK, JAVA_REFUSES]))
    gap = next(w for w in data("system", True, [JAVA_REFUSES]).weaknesses if w.id == "trust-store-gap")
    assert "java (no issuer)" in gap.summary and gap.severity == "medium"
    assert "trust-store-gap" not in ids(data("system", True, [MOZILLA_OK]))  # every store agrees
    assert "trust-store-gap" not in ids(
        data("system", False, [JAVA_REFUSES])
    )  # untrusted everywhere: "certificate"
    assert "trust-store-gap" not in ids(data("ca-file:/p.pem", True, [JAVA_REFUSES]))  # a private PKI


def test_trust_lists_the_scans_own_store_first_once() -> None:
    system_again = dict(MOZILLA_OK, store="system", source="system")
    out = to_contract(data("system", True, [system_again, MOZILLA_OK, JAVA_REFUSES]))
    assert [t["store"] for t in out["certificates"][0]["trust"]] == ["system", "mozilla", "java"]
    assert out["certificates"][0]["chain_built"] == ["CN=example.com", "CN=root"]


def test_certificate_block_at_80_columns_escapes_hostile_names() -> None:
    out = to_contract(data("system", True, [JAVA_REFUSES], subject="CN=evil\x1b[2J\x07.example"))
    console = Console(file=io.StringIO(), width=80, color_system=None)
    for part in scan_human.certificates_block(out):
        console.print(part)
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert "\x1b" not in text and "\x07" not in text and "\\x1b" in text
    assert all(len(line) <= 80 for line in text.splitlines())
    assert "ab" * 16 in text  # the fingerprint's halves are never split
    assert "SCTs              1 (1 embedded) from 1 logs" in text
    assert "store java" in text and "NOT trusted" in text


def test_scts_are_counted_per_channel_and_a_broken_channel_is_said() -> None:
    scts = [{"log_id": "aa", "timestamp": "t", "channel": "embedded"},
            {"log_id": "bb", "timestamp": "t", "channel": "tls-extension"},
            {"log_id": "aa", "timestamp": "t", "channel": "ocsp"},
            {"log_id": None, "timestamp": None, "channel": "ocsp", "version": 3}]  # fmt: skip
    line = scan_human._sct_line(scts, ["the stapled OCSP response does not parse: x"])
    assert line == (
        "4 (1 embedded, 1 TLS extension, 2 stapled OCSP) from 2 logs; "
        "the stapled OCSP response does not parse: x"
    )
    assert scan_human._sct_line([], []) == "none (embedded, TLS extension or stapled OCSP)"
