"""Trust material is loaded once, before any probe's clock starts (issue 10 item 2).

A big ``--ca-file`` (a corporate bundle, or a concatenation of every CA a team ever trusted) used to
be parsed on the event loop for every verifying handshake: the stall made a healthy server look
like a path-MTU black hole. The bundles here are many distinct certificates plus the real CA.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tlsdoctor.testing import FaultServer, start_endpoint


def bundle(path: Path, real_ca: Path, megabytes: float) -> Path:
    """A PEM bundle of about ``megabytes``: distinct self-signed CA certificates, then the real CA."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    blocks: list[bytes] = []
    size, i = 0, 0
    while size < megabytes * 1_000_000:
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"Bundle filler CA {i}")])
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(i + 1)
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256())
        )
        pem = cert.public_bytes(serialization.Encoding.PEM)
        blocks.append(pem)
        size += len(pem)
        i += 1
    blocks.append(real_ca.read_bytes())
    path.write_bytes(b"".join(blocks))
    return path


@pytest.fixture(scope="module")
def healthy() -> Iterator[FaultServer]:
    server = start_endpoint("healthy")
    try:
        yield server
    finally:
        server.stop()


def diagnose(server: FaultServer, ca_file: Path) -> tuple[int, dict[str, Any]]:
    args = [sys.executable, "-m", "tlsdoctor", "diagnose", f"{server.host}:{server.port}", "--json",
            "--servername", server.servername, "--ca-file", str(ca_file)]  # fmt: skip
    proc = subprocess.run(args, capture_output=True, timeout=120, check=False)
    assert b"Traceback" not in proc.stderr, proc.stderr.decode()
    return proc.returncode, json.loads(proc.stdout)


@pytest.mark.slow
# 15 MB: just under the input bound (tlsdoctor.inputs.MAX_CA_FILE_BYTES, 16 MiB); 40,000 certificates
# took OpenSSL's store minutes to load whole.
@pytest.mark.parametrize("megabytes", [4, 15])
def test_healthy_server_with_a_big_ca_bundle_is_healthy(
    healthy: FaultServer, tmp_path: Path, megabytes: int
) -> None:
    assert healthy.ca_file is not None
    big = bundle(tmp_path / f"bundle-{megabytes}mb.pem", healthy.ca_file, megabytes)
    assert big.stat().st_size > megabytes * 1_000_000
    status, report = diagnose(healthy, big)
    causes = [(c["id"], c["confidence"], c["summary"]) for c in report["causes"]]
    assert report["causes"][0]["id"] == "healthy", causes
    assert status == 0, causes
