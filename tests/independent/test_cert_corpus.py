"""Certificates made by other tools, served by other servers: `tlsdoctor diagnose` at default options
must name what `openssl s_client` and curl trip on, and a chain they accept is ``healthy``, exit 0."""

from __future__ import annotations

from pathlib import Path

import pytest
from independent_cases import CASES, Case, run_case


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
