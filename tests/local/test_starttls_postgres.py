"""A real PostgreSQL (Debian's `postgresql` package), initialised into a temporary directory on 127.0.0.1:

with ssl = on, `diagnose --starttls postgres` is healthy; with ssl = off it is server-not-tls ('N'); and a
bare ClientHello is closed without a word.
Skipped, with the reason, when the server binaries are absent.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tlsdoctor.testing import shared_pki

pytestmark = pytest.mark.slow


def _bindir() -> Path | None:
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "initdb").exists() and (candidate / "postgres").exists():
            return candidate
    return None


BINDIR = _bindir()


def _as_server_user() -> list[str]:
    """PostgreSQL refuses to run as root: as root, run it as the `postgres` account."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("running as root and there is no 'postgres' account to run the server as")
    runuser = shutil.which("runuser")
    if runuser is None:
        pytest.skip("running as root and runuser(1) is missing")
    return [runuser, "-u", "postgres", "--"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def cluster() -> Iterator[tuple[Path, list[str]]]:
    """An initialised data directory with the shared test PKI's localhost certificate in it."""
    if BINDIR is None:
        pytest.skip("PostgreSQL server binaries not installed (Debian: apt-get install postgresql)")
    prefix = _as_server_user()
    # Not pytest's tmp_path: its parents are private to root, and the server runs as `postgres`.
    root = Path(tempfile.mkdtemp(prefix="tlsdoctor-pg-"))
    data = root / "data"
    certs = shared_pki().issue("postgres-real")
    if prefix:
        shutil.chown(root, "postgres")
    proc = subprocess.run(
        [*prefix, str(BINDIR / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync"],
        capture_output=True,
        timeout=60,
        check=False,
    )
    try:
        if proc.returncode != 0:
            pytest.skip(f"initdb failed: {proc.stderr.decode(errors='replace')[-300:]}")
        for name, source in (("server.crt", certs.chain_file), ("server.key", certs.key_file)):
            shutil.copyfile(source, data / name)
            (data / name).chmod(0o600)
            if prefix:
                shutil.chown(data / name, "postgres")
        yield data, prefix
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _start(data: Path, prefix: list[str], port: int, ssl: bool) -> subprocess.Popen[bytes]:
    args = [
        *prefix,
        str(BINDIR / "postgres"),
        "-D",
        str(data),
        "-p",
        str(port),
        "-k",
        str(data),
        "-c",
        "listen_addresses=127.0.0.1",
        "-c",
        f"ssl={'on' if ssl else 'off'}",
        "-c",
        "fsync=off",
    ]
    server = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if server.poll() is not None:
            stderr = server.stderr.read().decode(errors="replace") if server.stderr else ""
            pytest.fail(f"postgres exited: {stderr[-500:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return server
        except OSError:
            time.sleep(0.1)
    _stop(server)
    pytest.fail("postgres did not listen within 20 s")


def _stop(server: subprocess.Popen[bytes]) -> None:
    server.terminate()  # SIGTERM: "smart" shutdown of the postmaster we started
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=5)
    if server.stderr:
        server.stderr.close()


def diagnose(port: int, *extra: str) -> tuple[int, dict[str, Any]]:
    args = [
        sys.executable,
        "-m",
        "tlsdoctor",
        "diagnose",
        f"127.0.0.1:{port}",
        "--json",
        "--timeout",
        "3",
        "--servername",
        "localhost",
        "--ca-file",
        str(shared_pki().ca_file),
        *extra,
    ]
    proc = subprocess.run(args, capture_output=True, timeout=90, check=False)
    assert proc.returncode in (0, 1), proc.stderr.decode()
    return proc.returncode, json.loads(proc.stdout)


def test_real_postgresql_ssl_on_and_off(cluster: tuple[Path, list[str]]) -> None:
    data, prefix = cluster
    port = _free_port()
    server = _start(data, prefix, port, ssl=True)
    try:
        status, report = diagnose(port, "--starttls", "postgres")
        assert report["causes"][0]["id"] == "healthy", json.dumps(report["causes"][:2], indent=1)
        assert status == 0
        # Without --starttls the ClientHello is read as a startup packet of absurd length: closed silently.
        status, report = diagnose(port)
        default = next(c for c in report["checks"] if c["id"] == "handshake.default")
        assert status == 1 and "FIN" in default["summary"], default["summary"]
    finally:
        _stop(server)
    port = _free_port()
    server = _start(data, prefix, port, ssl=False)
    try:
        status, report = diagnose(port, "--starttls", "postgres")
        top = report["causes"][0]
        assert status == 1 and top["id"] == "server-not-tls", json.dumps(report["causes"][:2], indent=1)
        assert "does not support SSL" in top["summary"]
    finally:
        _stop(server)
