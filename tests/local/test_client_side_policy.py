"""client-tls-policy at default options, against a server we did not write: GnuTLS's `gnutls-serv`
speaking TLS 1.2 without RFC 5746 secure renegotiation (%DISABLE_SAFE_RENEGOTIATION), which OpenSSL 3
clients refuse by default ("unsafe legacy renegotiation disabled"). The named client setting is then
applied for real (an OPENSSL_CONF with `Options = UnsafeLegacyServerConnect`) and must fix it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import facts, hs
from independent import independent_pki as pki

from tlsdoctor.inference.rules.tls import client_tls_policy
from tlsdoctor.observations.tls import HandshakeOutcome as H

NAME = "reneg.corpus.test"
LEGACY = "NORMAL:-VERS-TLS1.3:%DISABLE_SAFE_RENEGOTIATION"
MODERN_12 = "NORMAL:-VERS-TLS1.3"  # the near miss: the same server, TLS 1.2, with RFC 5746
UNSAFE_CONNECT_CONF = """openssl_conf = openssl_init
[openssl_init]
ssl_conf = ssl_sect
[ssl_sect]
system_default = system_default_sect
[system_default_sect]
Options = UnsafeLegacyServerConnect
"""


@pytest.fixture(scope="module")
def pem(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    missing = [t for t in ("openssl", "gnutls-serv") if shutil.which(t) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (Debian packages openssl, gnutls-bin; .ci installs them)")
    d = tmp_path_factory.mktemp("policy")
    root = pki.ossl_root(d, "root", "Policy Root")
    leaf, key = pki.ossl_issue(d, "leaf", NAME, root, extfile=pki.leaf_ext(NAME), days=30)
    return root[0], leaf, key


def gnutls_serv(pem: tuple[Path, Path, Path], priority: str) -> Iterator[int]:
    _, leaf, key = pem
    for _ in range(5):  # the port is free when picked; another process may take it first
        port = pki.free_port()
        cmd = ["gnutls-serv", "--http", "-p", str(port), "--x509certfile", str(leaf)]
        cmd += ["--x509keyfile", str(key), "--priority", priority]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if pki.wait_listening(port, proc):
            try:
                yield port
            finally:
                pki.stop(proc)
            return
        pki.stop(proc)
    raise RuntimeError("gnutls-serv did not start")


@pytest.fixture
def legacy(pem: tuple[Path, Path, Path]) -> Iterator[int]:
    yield from gnutls_serv(pem, LEGACY)


@pytest.fixture
def modern(pem: tuple[Path, Path, Path]) -> Iterator[int]:
    yield from gnutls_serv(pem, MODERN_12)


def diagnose(port: int, ca: Path, **env: str) -> tuple[int, dict[str, Any]]:
    argv = [sys.executable, "-m", "tlsdoctor", "diagnose", f"{NAME}:{port}", "--connect-to", "127.0.0.1"]
    argv += ["--ca-file", str(ca), "--timeout", "5", "--json"]
    environ = dict(os.environ, **env)
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120, env=environ, check=False)
    assert proc.stdout, proc.stderr[-800:]
    return proc.returncode, json.loads(proc.stdout)


def test_server_without_secure_renegotiation(
    legacy: int, pem: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    status, report = diagnose(legacy, pem[0])
    assert status == 1
    top = report["causes"][0]
    assert top["id"] == "client-tls-policy", [c["id"] for c in report["causes"]]
    assert top["confidence"] >= 0.8
    assert "secure renegotiation (RFC 5746)" in top["summary"]
    assert "security level" not in top["summary"]  # it is not the level: it is the legacy-connect default
    fixes = " ".join(top["fixes"])
    assert "UnsafeLegacyServerConnect" in fixes and "ssl.OP_LEGACY_SERVER_CONNECT" in fixes
    assert "support secure renegotiation" in fixes
    # The client setting the report names, applied for real, makes the same diagnosis healthy.
    conf = tmp_path / "legacy-connect.cnf"
    conf.write_text(UNSAFE_CONNECT_CONF)
    status, fixed = diagnose(legacy, pem[0], OPENSSL_CONF=str(conf))
    assert status == 0 and fixed["causes"][0]["id"] == "healthy", [c["id"] for c in fixed["causes"]]


def test_same_server_with_secure_renegotiation_is_healthy(modern: int, pem: tuple[Path, Path, Path]) -> None:
    status, report = diagnose(modern, pem[0])
    assert status == 0 and report["causes"][0]["id"] == "healthy", [c["id"] for c in report["causes"]]


def test_rule_names_the_setting_by_what_refused() -> None:
    """The renegotiation refusal gets its own setting and fixes; a level refusal keeps the cause's own."""
    reneg = "[SSL: UNSAFE_LEGACY_RENEGOTIATION_DISABLED] unsafe legacy renegotiation disabled"
    m = client_tls_policy(facts(hs("default", H.LOCAL_REJECT, error=reneg), hs("seclevel-0", H.OK)))
    assert m is not None and m.fixes and "UnsafeLegacyServerConnect" in m.fixes[0]
    dh = "[SSL: DH_KEY_TOO_SMALL] dh key too small"
    m = client_tls_policy(facts(hs("default", H.LOCAL_REJECT, error=dh), hs("seclevel-0", H.OK)))
    assert m is not None and m.fixes == () and "security level" in m.summary
