"""Certificates made by other tools, served by other servers: `tlsdoctor diagnose` at default options
must name what `openssl s_client` and curl trip on, and a chain they accept is ``healthy``, exit 0."""

from __future__ import annotations

from pathlib import Path

import pytest
from independent_cases import CASES, Case, run_case, serve
from independent_pki import diagnose


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_corpus_case(case: Case, case_dir: Path, aia: str) -> None:
    row = run_case(case, case_dir, aia)
    # The reference clients first: the case is what it claims to be.
    assert row.s_client == case.verify, f"openssl s_client stopped on X509_V_ERR {row.s_client}"
    assert row.curl == case.curl
    causes = [(c["id"], c["confidence"]) for c in row.got.causes()]
    assert row.got.top == case.expected, causes
    assert row.got.exit == case.exit, causes
    if case.second is not None:
        assert causes[1][0] == case.second, causes
        summaries = [c["summary"] for c in row.got.causes()[:2]]
        assert summaries[0] != summaries[1]  # the two readings never share one sentence
    # --ca-file naming a private CA is the user's trust choice, never client-ca-store (issue 9 item 5).
    assert "client-ca-store" not in [c[0] for c in causes]
    if case.expected == "healthy":
        assert row.got.report["verdict"] == "healthy"
        certificate = row.got.check("certificate")
        assert certificate.get("status") in ("pass", "warn")
        # Every leaf here was minted seconds ago: normal for a chain that validates.
        assert "minted" not in str(certificate.get("summary")) and len(causes) == 1
    else:
        assert row.got.report["verdict"] == "fault"
        assert row.got.check("certificate").get("status") == "fail"
        if case.expected != "tls-interception":
            # Minted seconds ago too, but the server sends the same leaf for an unrelated name:
            # nothing on the path mints per name, so freshness hints at nothing.
            assert "tls-interception" not in [c[0] for c in causes], causes


SCANNED = ("healthy-openssl-3-tier-nginx", "expired", "weak-rsa-1024", "weak-sha1-signature")


@pytest.mark.parametrize("case", [c for c in CASES if c.name in SCANNED], ids=lambda c: str(c.name))
def test_scan_agrees_with_the_reference_clients(case: Case, case_dir: Path, aia: str) -> None:
    """`scan` has no handshake of the user's client to go by: a chain that the reference clients
    refuse at OpenSSL's default security level (an RSA-1024 leaf, a SHA-1 signature, an expired
    leaf) is a fault, exit 1, under the same cause as diagnose; one they accept is healthy."""
    material = case.build(case_dir, aia)
    with serve(case, case_dir, material) as port:
        got = diagnose(port, material.name, material.ca_file, command="scan")
    causes = [(c["id"], c["confidence"]) for c in got.causes()]
    assert (got.top, got.exit) == (case.expected, case.exit), causes
    status = got.check("certificate").get("status")
    assert status in (("pass", "warn") if case.expected == "healthy" else ("fail",)), causes
