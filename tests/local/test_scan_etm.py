"""`scan.features.encrypt_then_mac` against openssl s_server: RFC 7366 §3 forbids the answer with
an AEAD suite, so a server that prefers GCM but also takes CBC must still show it (as testssl.sh
reads it), one with ETM disabled must not, and one with no CBC suite leaves it unknown."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from scan_servers import OPENSSL, Certs, s_server

from tlsdoctor.commands.scan import run_scan
from tlsdoctor.context import Context, Options
from tlsdoctor.report.envelope import envelope
from tlsdoctor.testing import Pki

pytestmark = pytest.mark.skipif(
    OPENSSL is None, reason="openssl binary not installed (.ci/scan-packages.txt)"
)

GCM_FIRST = ["-tls1_2", "-serverpref", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-SHA"]


@pytest.fixture(scope="module")
def certs() -> Iterator[Certs]:
    with Pki() as pki:
        yield Certs(pki)


def features(port: int, certs: Certs) -> dict[str, Any]:
    options = Options(
        host="127.0.0.1",
        port=port,
        servername="localhost",
        host_is_ip=True,
        timeout=3.0,
        ca_file=certs.ca_file,
    )
    report = envelope(asyncio.run(run_scan(Context(options=options))))
    return dict(report["scan"]["features"])


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (GCM_FIRST, True),  # the preferred AEAD suite hides it; the CBC suite shows it
        ([*GCM_FIRST, "-no_etm"], False),  # the near miss: CBC taken, ETM off
        (["-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256"], None),  # no CBC suite: nothing to apply to
    ],
)
def test_encrypt_then_mac_is_asked_with_a_cbc_suite(
    certs: Certs, args: list[str], expected: bool | None
) -> None:
    with s_server(certs, args) as port:
        found = features(port, certs)
    assert found["encrypt_then_mac"] is expected, found
