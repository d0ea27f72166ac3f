"""Numbers in error text: errno per OS, OpenSSL 1.x and 3.x packed codes."""

from __future__ import annotations

import pytest

from tlsdoctor.explain import decode_openssl_code, find_clues, read_errno


@pytest.mark.parametrize(
    ("code", "version", "func", "reason", "alert", "pattern"),
    [
        ("14094410", "1.x", 0x094, 1040, 40, "alert.40"),
        ("14094418", "1.x", 0x094, 1048, 48, "alert.48"),
        ("1408F10B", "1.x", 0x08F, 267, None, "openssl.wrong-version-number"),
        ("14090086", "1.x", 0x090, 134, None, "openssl.certificate-verify-failed"),
        ("140770FC", "1.x", 0x077, 252, None, "openssl.unknown-protocol"),
        ("0A000126", "3.x", None, 294, None, "openssl.unexpected-eof"),
        ("0A00010B", "3.x", None, 267, None, "openssl.wrong-version-number"),
        ("0A000410", "3.x", None, 1040, 40, "alert.40"),
        ("0A000086", "3.x", None, 134, None, "openssl.certificate-verify-failed"),
        ("0A00042E", "3.x", None, 1070, 70, "alert.70"),
        ("0A000102", "3.x", None, 258, None, "openssl.unsupported-protocol"),
        ("0A0000BF", "3.x", None, 191, None, "openssl.no-protocols-available"),
        ("0A000152", "3.x", None, 338, None, "openssl.unsafe-legacy-renegotiation"),
        ("0A000458", "3.x", None, 1112, 112, "alert.112"),
        ("0A00018A", "3.x", None, 394, None, "openssl.dh-key-too-small"),
        ("0A00018E", "3.x", None, 398, None, "openssl.ca-md-too-weak"),
        ("0A000412", "3.x", None, 1042, 42, "alert.42"),
        ("0A00045C", "3.x", None, 1116, 116, "alert.116"),
        ("0A000418", "3.x", None, 1048, 48, "alert.48"),
        ("0A0000C1", "3.x", None, 193, None, "openssl.no-shared-cipher"),
    ],
)
def test_openssl_codes(
    code: str, version: str, func: int | None, reason: int, alert: int | None, pattern: str
) -> None:
    decoded = decode_openssl_code(code)
    assert (decoded.version, decoded.lib, decoded.func, decoded.reason) == (version, 20, func, reason)
    assert decoded.alert == alert
    assert decoded.pattern_id == pattern


def test_alert_names_in_description() -> None:
    assert "alert 40 (handshake_failure)" in decode_openssl_code("14094410").describe()
    assert "alert 48 (unknown_ca)" in decode_openssl_code(0x14094418).describe()


def test_openssl3_system_error_is_errno() -> None:
    code = decode_openssl_code("80000068")
    assert code.system_errno == 104
    clues = find_clues("error:80000068:system library::Connection reset by peer")
    assert clues[0].pattern_id == "errno.ECONNRESET"


def test_code_alone_is_decoded_without_its_text() -> None:
    """A code whose reason text was cut off still gives the right clue."""
    clues = find_clues("SSL_connect failed: error:14094418:SSL routines:ssl3_read_bytes:")
    assert [c.pattern_id for c in clues] == ["alert.48"]
    assert "alert 48 (unknown_ca)" in clues[0].meaning


@pytest.mark.parametrize(
    ("number", "after", "text", "name", "os"),
    [
        (104, " Connection reset by peer", "", "ECONNRESET", "linux"),
        (54, " Connection reset by peer", "", "ECONNRESET", "macos"),
        (54, "", "", "ECONNRESET", "macos"),
        (10054, "", "", "ECONNRESET", "windows"),
        (60, "", "", "ETIMEDOUT", "macos"),
        (110, "", "", "ETIMEDOUT", "linux"),
        (10060, "", "", "ETIMEDOUT", "windows"),
        (61, "", "", "ECONNREFUSED", "macos"),
        (111, "", "", "ECONNREFUSED", "linux"),
        (113, "", "", "EHOSTUNREACH", "linux"),
        (65, "", "", "EHOSTUNREACH", "macos"),
        (101, "", "", "ENETUNREACH", "linux"),
        (99, "", "", "EADDRNOTAVAIL", "linux"),
        (49, "", "", "EADDRNOTAVAIL", "macos"),
        (24, "", "", "EMFILE", "linux"),
        (23, "", "", "ENFILE", "linux"),
        (32, "", "", "EPIPE", "linux"),
        (100, "", "", "ENETDOWN", "linux"),
        (100, "", "/opt/homebrew/bin/node on Darwin", "EPROTO", "macos"),
    ],
)
def test_errno_per_os(number: int, after: str, text: str, name: str, os: str) -> None:
    reading = read_errno(number, text, after=after)
    assert reading is not None
    assert (reading.name, reading.os) == (name, os), reading.describe()


def test_errno_reading_says_which_os_and_the_other_meaning() -> None:
    reading = read_errno(60)
    assert reading is not None
    assert "macOS/BSD numbering" in reading.describe()
    assert "on Linux 60 is ENOSTR" in reading.describe()


@pytest.mark.parametrize(
    ("text", "name", "os_label"),
    [
        ("ConnectionResetError: [Errno 104] Connection reset by peer", "ECONNRESET", "Linux"),
        ("ConnectionResetError: [Errno 54] Connection reset by peer", "ECONNRESET", "macOS/BSD"),
        (
            "ConnectionResetError: [WinError 10054] An existing connection was forcibly closed by the "
            "remote host",
            "ECONNRESET",
            "Windows",
        ),
        ("Error: connect ETIMEDOUT\n  errno: -60,\n  /Users/dev/app/index.js", "ETIMEDOUT", "macOS/BSD"),
        ("io error: Connection refused (os error 111)", "ECONNREFUSED", "Linux"),
        (
            "2024/05/01 10:00:00 [error] 1#1: *3 recv() failed (104: Connection reset by peer)",
            "ECONNRESET",
            "Linux",
        ),
        ("socket.gaierror: [Errno -2] Name or service not known", "EAI_NONAME", "Linux"),
        (
            "socket.gaierror: [Errno 8] nodename nor servname provided, or not known",
            "EAI_NONAME",
            "macOS/BSD",
        ),
        ("urllib.error.URLError: <urlopen error [Errno 11001] getaddrinfo failed>", "EAI_NONAME", "Windows"),
    ],
)
def test_errno_in_context(text: str, name: str, os_label: str) -> None:
    clue = next(c for c in find_clues(text) if c.pattern_id == f"errno.{name}")
    assert f"{os_label} numbering" in clue.meaning, clue.meaning


def test_errno_60_on_linux_with_hint_is_not_a_network_error() -> None:
    """60 is ENOSTR on Linux: with a Linux hint and no strerror there is no network reading."""
    reading = read_errno(60, "kernel: linux 6.1 /home/u", after="")
    assert reading is not None
    assert reading.os == "macos"  # the only numbering with a network meaning, and it says so
    assert "ENOSTR" in reading.describe()
