"""The scan's verdict against real servers: a modern nginx (TLS 1.2-1.3, ECDHE AEAD) grades A or
better and exits 0; an ``openssl s_server`` with NULL and anonymous suites on TLS 1.0 grades C or
worse and exits 1; ``--fail-on`` moves the line; the human report at 80 columns leads with the
grade and keeps suite names whole."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from scan_servers import NGINX, OPENSSL, Certs, nginx, s_server

from tlsdoctor.testing import Pki

needs_openssl = pytest.mark.skipif(OPENSSL is None, reason="openssl binary not installed")
needs_nginx = pytest.mark.skipif(NGINX is None, reason="nginx not installed (apt-get install nginx-light)")

MODERN = {
    "protocols": "TLSv1.2 TLSv1.3",
    "ciphers": "ECDHE+AESGCM:ECDHE+CHACHA20",
    "curves": "X25519:prime256v1:secp384r1",
    "prefer": False,
}
LEGACY_CIPHERS = "NULL-SHA:ADH-AES128-SHA:AES128-SHA:@SECLEVEL=0"


@pytest.fixture(scope="module")
def certs() -> Iterator[Certs]:
    with Pki() as pki:
        yield Certs(pki)


def cli(port: int, certs: Certs, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "COLUMNS")}
    env["COLUMNS"] = "80"
    return subprocess.run(
        [sys.executable, "-m", "tlsdoctor", "scan", f"127.0.0.1:{port}", "--servername", "localhost",
         "--ca-file", str(certs.ca_file), "--timeout", "3", *args],
        capture_output=True, text=True, timeout=90, env=env,
    )  # fmt: skip


def as_json(out: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert out.returncode in (0, 1), out.stderr
    report: dict[str, Any] = json.loads(out.stdout)
    return report


@needs_nginx
def test_modern_nginx_grades_a_or_better_and_exits_0(certs: Certs, tmp_path: Path) -> None:
    with nginx(certs, tmp_path, **MODERN) as port:  # type: ignore[arg-type]
        out = cli(port, certs, "--json")
        strict = cli(port, certs, "--json", "--fail-on", "low")
    report = as_json(out)
    assert out.returncode == 0 and report["verdict"] == "healthy"
    scan = report["scan"]
    assert scan["grade"] in ("A+", "A"), scan["grading"]
    assert scan["profile"] == "intermediate"  # TLS 1.2 + 1.3, ECDHE AEAD, RSA 2048: Mozilla's intermediate
    assert all(w["severity"] in ("critical", "high", "medium", "low", "info") for w in scan["weaknesses"])
    grade_check = next(c for c in report["checks"] if c["id"] == "scan.grade")
    assert grade_check["status"] == "pass"
    # --fail-on low: the same server, whose only finding is low (no OCSP stapling), now fails
    assert {w["severity"] for w in scan["weaknesses"]} == {"low"}
    assert strict.returncode == 1 and as_json(strict)["verdict"] == "fault"


@needs_openssl
def test_null_and_anonymous_suites_on_tls10_grade_f_and_exit_1(certs: Certs) -> None:
    with s_server(certs, ["-tls1", "-cipher", LEGACY_CIPHERS]) as port:
        out = cli(port, certs, "--json")
        human = cli(port, certs)
        verbose = cli(port, certs, "--verbose")
    report = as_json(out)
    scan = report["scan"]
    assert out.returncode == 1 and report["verdict"] == "fault"
    assert scan["grade"] in ("C", "D", "E", "F") and scan["grade"] == "F"
    assert scan["profile"] is None
    assert scan["findings_by_severity"]["critical"] >= 2
    ids = {w["id"]: w["severity"] for w in scan["weaknesses"]}
    assert ids["null-cipher"] == ids["anonymous"] == "critical" and ids["tls10"] == "medium"
    assert {c["finding"] for c in scan["grading"]["caps"]} >= {"null-cipher", "anonymous", "tls10"}
    assert human.returncode == 1
    lines = human.stdout.splitlines()
    assert lines[0].endswith("FAULT")
    assert lines[2].startswith("Grade F")  # the grade right under the headline
    assert all(len(line) <= 80 for line in lines)
    tls10 = [line for line in lines if line.split()[:2] == ["TLSv1.0", "yes"]]
    assert len(tls10) == 1 and "3 suites" in tls10[0]  # folded: one line for the version
    names = ("TLS_RSA_WITH_NULL_SHA", "TLS_DH_anon_WITH_AES_128_CBC_SHA", "TLS_RSA_WITH_AES_128_CBC_SHA")
    assert all(any(line.strip() == name for line in verbose.stdout.splitlines()) for name in names)


@needs_openssl
def test_tls10_beside_tls12_is_b_and_fails_only_fail_on_medium(certs: Certs) -> None:
    """Near miss of the above: TLS 1.0 and 1.1 beside 1.2/1.3 with ECDHE suites are medium
    findings: grade B (SSL Labs' 2020 cap), exit 0 at the default --fail-on high, 1 at medium."""
    string = "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-SHA:@SECLEVEL=0"
    with s_server(certs, ["-cipher", string]) as port:
        default = cli(port, certs, "--json")
        medium = cli(port, certs, "--json", "--fail-on", "medium")
    report = as_json(default)
    scan = report["scan"]
    assert {p["version"] for p in scan["protocols"] if p["supported"]} >= {"TLSv1.0", "TLSv1.2"}
    assert scan["grade"] == "B" and {"tls10"} <= {c["finding"] for c in scan["grading"]["caps"]}
    assert set(scan["findings_by_severity"]) <= {"medium", "low", "info"}
    assert default.returncode == 0 and report["verdict"] == "healthy"
    assert medium.returncode == 1 and as_json(medium)["verdict"] == "fault"


def test_fail_on_rejects_an_unknown_level() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "tlsdoctor", "scan", "127.0.0.1:1", "--fail-on", "severe"],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert out.returncode == 2 and "--fail-on" in out.stderr
