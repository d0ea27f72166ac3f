"""client-clock-skew at default options (no --ntp): the CLI's own clock shifted by libfaketime,
against nginx on 127.0.0.1 (real time) serving an `openssl`-made certificate; the independent time
is nginx's HTTP Date header. The certificates and the server are not tlsdoctor's own (issue 9)."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import facts
from independent import independent_pki as pki

from tlsdoctor.checks.httpdate import date_header, parse_http_date
from tlsdoctor.inference.rules.cert import cert_expired
from tlsdoctor.inference.rules.clock import client_clock_skew
from tlsdoctor.observations.cert import CertificateProblem, ClockOffset, ProblemKind
from tlsdoctor.observations.clock import HttpDateOffset

NAME = "clock.corpus.test"


@pytest.fixture(scope="module")
def tools() -> None:
    missing = [t for t in ("openssl", "nginx", "faketime") if shutil.which(t) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (Debian packages; .ci installs them)")


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory, tools: None) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("clockroot")
    return pki.ossl_root(d, "root", "Clock Test Root")


@pytest.fixture(scope="module")
def valid_site(
    tmp_path_factory: pytest.TempPathFactory, root: tuple[Path, Path]
) -> Iterator[tuple[int, Path]]:
    """nginx with a leaf valid from now for 30 days (its root is 10 years)."""
    d = tmp_path_factory.mktemp("clockvalid")
    leaf, key = pki.ossl_issue(d, "leaf", NAME, root, extfile=pki.leaf_ext(NAME), days=30)
    with pki.nginx(d, chain=[leaf], key=key) as port:
        yield port, root[0]


def diagnose(port: int, ca: Path, shift: str | None) -> tuple[int, dict[str, Any]]:
    """The CLI as a user runs it, at default options (no --ntp), its clock shifted by ``shift``."""
    argv = [sys.executable, "-m", "tlsdoctor", "diagnose", f"{NAME}:{port}", "--connect-to", "127.0.0.1"]
    argv += ["--ca-file", str(ca), "--timeout", "5", "--json"]
    env = dict(os.environ)
    if shift is not None:
        argv = ["faketime", "-f", shift, *argv]
        env["FAKETIME_DONT_FAKE_MONOTONIC"] = "1"
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120, env=env, check=False)
    assert proc.stdout, proc.stderr[-800:]
    return proc.returncode, json.loads(proc.stdout)


def expired_leaf(d: Path, root: tuple[Path, Path]) -> tuple[Path, Path]:
    """Signed (by `openssl` under faketime) 40 days ago for 30 days: expired 10 days ago."""
    then = dt.datetime.now(dt.UTC) - dt.timedelta(days=40)
    return pki.ossl_issue(d, "old", NAME, root, extfile=pki.leaf_ext(NAME), days=30, faketime=then)


def date_offset(report: dict[str, Any]) -> float:
    (check,) = [c for c in report["checks"] if c["id"] == "clock.http-date"]
    (obs,) = [o for o in check["data"]["observations"] if o["kind"] == "http-date-offset"]
    return float(obs["offset_s"])


def test_clock_400_days_fast_is_skew_not_expiry(valid_site: tuple[int, Path]) -> None:
    status, report = diagnose(*valid_site, shift="+400d")
    assert status == 1 and report["verdict"] == "fault"
    assert date_offset(report) == pytest.approx(-400 * 86400, abs=10)
    ids = [c["id"] for c in report["causes"]]
    top = report["causes"][0]
    assert top["id"] == "client-clock-skew", ids
    assert "400 days ahead of the server's Date header" in top["summary"]
    assert "cert-expired" in ids and ids.index("cert-expired") > 0  # still named, ranked below


def test_clock_three_days_slow_is_skew_not_not_yet_valid(valid_site: tuple[int, Path]) -> None:
    status, report = diagnose(*valid_site, shift="-3d")
    assert status == 1
    assert date_offset(report) == pytest.approx(3 * 86400, abs=10)
    top = report["causes"][0]
    assert top["id"] == "client-clock-skew", [c["id"] for c in report["causes"]]
    assert "3 days behind the server's Date header" in top["summary"]


def test_correct_clock_is_healthy_and_asks_no_date(valid_site: tuple[int, Path]) -> None:
    status, report = diagnose(*valid_site, shift=None)
    assert status == 0 and report["causes"][0]["id"] == "healthy"
    assert "clock.http-date" not in [c["id"] for c in report["checks"]]  # no validity problem, no probe


def test_really_expired_certificate_with_a_right_clock_stays_expired(
    tmp_path: Path, root: tuple[Path, Path]
) -> None:
    leaf, key = expired_leaf(tmp_path, root)
    with pki.nginx(tmp_path, chain=[leaf], key=key) as port:
        status, report = diagnose(port, root[0], shift=None)
    assert status == 1
    assert abs(date_offset(report)) < 5  # the Date agrees with our clock
    ids = [c["id"] for c in report["causes"]]
    assert ids[0] == "cert-expired" and "client-clock-skew" not in ids, ids


def test_expired_certificate_and_a_fast_clock_that_does_not_explain_it(
    tmp_path: Path, root: tuple[Path, Path]
) -> None:
    """The clock is 3 days fast, but the certificate expired 10 days ago: both true, expiry first."""
    leaf, key = expired_leaf(tmp_path, root)
    with pki.nginx(tmp_path, chain=[leaf], key=key) as port:
        _, report = diagnose(port, root[0], shift="+3d")
    ids = [c["id"] for c in report["causes"]]
    assert ids[0] == "cert-expired" and "client-clock-skew" in ids[1:], ids


@pytest.mark.parametrize(
    ("head", "value"),
    [
        (b"HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n", "1994-11-06T08:49:37"),
        (b"HTTP/1.1 200 OK\r\ndate:Sunday, 06-Nov-94 08:49:37 GMT\r\n\r\n", "1994-11-06T08:49:37"),
        (b"HTTP/1.0 204 No\r\nDATE: Sun Nov  6 08:49:37 1994\r\n\r\n", "1994-11-06T08:49:37"),
    ],
)
def test_the_three_http_date_forms(head: bytes, value: str) -> None:
    text = date_header(head)
    assert text is not None
    when = parse_http_date(text)
    assert when is not None and when.isoformat() == value + "+00:00"


@pytest.mark.parametrize(
    "head",
    [
        b"HTTP/1.1 200 OK\r\nServer: x\r\n\r\n",  # no Date
        b"SSH-2.0-OpenSSH\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n",  # not HTTP
        b"HTTP/1.1 200 OK\r\nDate: yesterday\x1b[2J\r\n\r\n",  # not a date (and hostile)
        b"HTTP/1.1 200 OK\r\nDate: " + b"9" * 5000 + b"\r\n\r\n",
    ],
)
def test_no_usable_date(head: bytes) -> None:
    text = date_header(head)
    assert text is None or parse_http_date(text) is None


# --- the rule on hand-made observations: the Date header as a witness, and NTP over it --------------

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
EXPIRED_3_DAYS = CertificateProblem(
    problem=ProblemKind.EXPIRED,
    index=0,
    subject="CN=example.test",
    detail="expired 3 days ago",
    not_before=NOW - 90 * DAY,
    not_after=NOW - 3 * DAY,
    at=NOW,
)


def by_date(days: float) -> HttpDateOffset:
    return HttpDateOffset(source="198.18.0.10:443", offset_s=days * 86400, rtt_ms=20, date="(a date)")


def by_ntp(days: float) -> ClockOffset:
    return ClockOffset(source="ntp.test", offset_s=days * 86400, rtt_ms=30, stratum=2)


def test_rule_date_header_explains_expiry() -> None:
    match = client_clock_skew(facts(EXPIRED_3_DAYS, by_date(-5)))  # our clock 5 days fast
    assert match is not None and match.confidence == 0.9
    assert "5 days ahead of the server's Date header" in match.summary
    expired = cert_expired(facts(EXPIRED_3_DAYS, by_date(-5)))
    assert expired is not None and expired.confidence <= 0.25


def test_rule_date_header_that_does_not_explain_expiry_stays_secondary() -> None:
    match = client_clock_skew(facts(EXPIRED_3_DAYS, by_date(-1)))  # one day fast: still expired
    expired = cert_expired(facts(EXPIRED_3_DAYS, by_date(-1)))
    assert match is not None and expired is not None and match.confidence < expired.confidence


def test_rule_ntp_outranks_a_date_header_that_disagrees() -> None:
    """NTP says our clock is right; the server's Date is 5 days off: the server's clock is wrong."""
    assert client_clock_skew(facts(EXPIRED_3_DAYS, by_date(-5), by_ntp(0.0))) is None
    expired = cert_expired(facts(EXPIRED_3_DAYS, by_date(-5), by_ntp(0.0)))
    assert expired is not None and expired.confidence > 0.5
