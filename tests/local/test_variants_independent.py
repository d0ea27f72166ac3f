"""Handshake variants against servers this project did not write (issue 9 items 8, 9, 10).

``openssl s_server`` and Debian's nginx, with ``openssl``-made certificates, configured as real
deployments get it wrong; each case asserts ``causes[0].id`` of a default-options diagnosis.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from variant_servers import NGINX, OPENSSL, OpensslPki, cases

pytestmark = pytest.mark.skipif(OPENSSL is None or NGINX is None, reason="needs openssl and nginx")


@pytest.fixture(scope="module")
def pki() -> Iterator[OpensslPki]:
    with tempfile.TemporaryDirectory(prefix="variants-") as d:
        yield OpensslPki(Path(d))


def diagnose(pki: OpensslPki, case: str, *extra: str) -> tuple[int, dict[str, Any]]:
    with cases(pki)[case] as port:
        args = [sys.executable, "-m", "tlsdoctor", "diagnose", f"127.0.0.1:{port}", "--json",
                "--servername", "localhost", "--ca-file", str(pki.ca_file), *extra]  # fmt: skip
        proc = subprocess.run(args, capture_output=True, timeout=90, check=False)
    assert b"Traceback" not in proc.stderr, proc.stderr.decode()
    return proc.returncode, json.loads(proc.stdout)


def top(report: dict[str, Any]) -> str:
    return str(report["causes"][0]["id"]) if report["causes"] else "(none)"


def brief(report: dict[str, Any]) -> str:
    return json.dumps([(c["id"], c["confidence"], c["summary"]) for c in report["causes"][:3]], indent=1)


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        # Python's default list has no plain-RSA suite (OpenSSL's DEFAULT, curl's, does): suites differ.
        ("tls12-aes128-sha", "cipher-mismatch"),
        # The same with TLS 1.0-1.2 enabled: used to be "the server speaks only TLS 1.0 and 1.1".
        ("nginx-aes128-sha-tls10-12", "cipher-mismatch"),
        ("tls10-only", "protocol-mismatch"),
        ("nginx-tls10-only", "protocol-mismatch"),
        # 1024-bit DH: the suites are the client's own, its security level refuses the group.
        ("dhe1024", "client-tls-policy"),
        ("nginx-dhe1024", "client-tls-policy"),
        ("null-only", "cipher-mismatch"),
    ],
)
def test_one_thing_per_variant(pki: OpensslPki, case: str, expected: str) -> None:
    status, report = diagnose(pki, case)
    assert top(report) == expected, brief(report)
    assert status == 1 and report["verdict"] == "fault"
    policy = [c for c in report["causes"] if c["id"] == "client-tls-policy"]
    if expected != "client-tls-policy":
        assert not policy or policy[0]["confidence"] < 0.5, brief(report)


@pytest.mark.parametrize(
    ("case", "named"),
    [
        ("tls13-ccm8", "TLS_AES_128_CCM_8_SHA256"),  # a TLS 1.3 suite default clients do not offer
        ("brainpool-only", "brainpoolP256r1"),  # a group default clients do not offer
    ],
)
def test_every_variant_alike_asks_the_server(pki: OpensslPki, case: str, named: str) -> None:
    status, report = diagnose(pki, case)
    assert top(report) == "cipher-mismatch", brief(report)
    assert named in report["causes"][0]["summary"], brief(report)
    assert status == 1 and report["verdict"] == "fault"
    assert any(c["id"] == "server.accepts" for c in report["checks"])


def test_a_server_that_accepts_nothing_still_gets_a_candidate_and_a_next_step(pki: OpensslPki) -> None:
    # TLS 1.3 only, signing only with RSA-PSS-PSS, but holding an rsaEncryption key: nothing works.
    status, report = diagnose(pki, "tls13-pss-pss-only")
    assert report["causes"], brief(report)
    assert "openssl s_client" in report["causes"][0]["summary"], brief(report)
    assert status == 1


def test_ffdhe_only_server_is_healthy_for_an_openssl_client(pki: OpensslPki) -> None:
    # OpenSSL 3 offers ffdhe2048..8192 by default (TLS 1.3 gets there by HelloRetryRequest).
    status, report = diagnose(pki, "ffdhe-only")
    assert top(report) == "healthy", brief(report)
    assert status == 0
