"""The command line as a user meets it: bad input gets one line and exit 2, never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

CLI = [sys.executable, "-m", "tlsdoctor"]


def run(*args: str, stdin: bytes | None = None, timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [*CLI, *args],
        input=stdin if stdin is not None else b"",
        capture_output=True,
        timeout=timeout,
        check=False,
    )


def assert_usage_error(proc: subprocess.CompletedProcess[bytes]) -> None:
    err = proc.stderr.decode()
    assert proc.returncode == 2, err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("tlsdoctor: error:")


@pytest.mark.parametrize(
    "target",
    [
        "host:99999",
        "::1:443",
        "",
        "a" * 300,
        "a" * 70 + ".test",
        "bad host",
        "host:0",
        "https://",
        "ftp://example.test",
        "[::1",
        "[::1]x",
    ],
)
def test_invalid_targets(target: str) -> None:
    assert_usage_error(run("diagnose", target))


def test_unknown_option() -> None:
    assert_usage_error(run("diagnose", "example.test", "--frobnicate"))


def test_unreadable_ca_file(tmp_path: Path) -> None:
    assert_usage_error(run("diagnose", "127.0.0.1:9", "--ca-file", str(tmp_path / "missing.pem")))


def test_ca_file_not_pem(tmp_path: Path) -> None:
    bad = tmp_path / "ca.pem"
    bad.write_bytes(b"\x00\x01 not a certificate")
    assert_usage_error(run("diagnose", "127.0.0.1:9", "--ca-file", str(bad)))


@pytest.mark.parametrize("value", ["-1", "abc", "0"])
def test_bad_timeout(value: str) -> None:
    assert_usage_error(run("diagnose", "127.0.0.1:9", "--timeout", value))


def test_bad_resolver_and_connect_to() -> None:
    assert_usage_error(run("diagnose", "example.test", "--resolver", "not-an-ip"))
    assert_usage_error(run("diagnose", "example.test", "--connect-to", "nohost"))


def test_explain_empty_stdin() -> None:
    assert_usage_error(run("explain", stdin=b""))


def test_explain_binary_stdin() -> None:
    assert_usage_error(run("explain", stdin=bytes(range(256)) * 8))


def test_help_is_fast_and_lists_commands() -> None:
    proc = run("--help")
    assert proc.returncode == 0
    for command in ("diagnose", "explain", "demo"):
        assert command in proc.stdout.decode()


def test_refused_port_json_contract(unused_port: int) -> None:
    proc = run("diagnose", f"127.0.0.1:{unused_port}", "--json", "--timeout", "2")
    assert proc.returncode == 1, proc.stderr.decode()
    report = json.loads(proc.stdout)
    assert report["schema"] == "tlsdoctor.report/1"
    assert report["command"] == "diagnose"
    assert report["verdict"] == "fault"
    assert report["target"] == {
        "host": "127.0.0.1",
        "port": unused_port,
        "servername": None,
        "addresses": ["127.0.0.1"],
    }
    top = report["causes"][0]
    assert top["id"] == "tcp-refused"
    assert 0 <= top["confidence"] <= 1
    assert top["evidence"] and all(set(e) == {"check", "observation"} for e in top["evidence"])
    assert any(f.startswith("server:") for f in top["fixes"])
    for check in report["checks"]:
        assert set(check) == {"id", "status", "started_ms", "duration_ms", "waited_for", "summary", "data"}
        assert check["status"] in {"pass", "fail", "warn", "skip", "error"}
    assert isinstance(report["duration_ms"], float | int)


@pytest.fixture
def unused_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unwritable_report_fails_before_probing(tmp_path: Path) -> None:
    assert_usage_error(run("diagnose", "127.0.0.1:9", "--report", str(tmp_path / "missing" / "r.html")))


def test_the_fast_exit_loses_no_output(tmp_path: Path) -> None:
    """The console entry ends with os._exit once the report is out (cli.entry): a block-buffered
    stdout (a file) must still get the whole report, and a reader that has left (``| head``) must
    cost neither the exit status nor a traceback."""
    text = "curl: (35) OpenSSL SSL_connect: SSL_ERROR_SYSCALL in connection to example.test:443"
    out = tmp_path / "report.json"
    with out.open("wb") as sink:
        proc = subprocess.run(
            [*CLI, "explain", text, "--json"], stdout=sink, stderr=subprocess.PIPE, timeout=60, check=False
        )
    report = json.loads(out.read_text())  # complete: it parses
    assert report["command"] == "explain" and report["causes"], report
    assert proc.returncode in (0, 1) and not proc.stderr, proc.stderr

    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the report is written: every write meets EPIPE
    try:
        gone = subprocess.run([*CLI, "explain", text], stdout=write_end, stderr=subprocess.PIPE, timeout=60)
    finally:
        os.close(write_end)
    assert gone.returncode in (0, proc.returncode) and b"Traceback" not in gone.stderr, gone.stderr
    assert b"Exception ignored" not in gone.stderr, gone.stderr
