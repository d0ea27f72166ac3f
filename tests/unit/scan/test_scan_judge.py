"""Protocol violations (scan/checks.py) and what they, and a partial scan, do to the verdict
(scan/judge.py): a positive and a near miss each, on hand-built answers."""

from __future__ import annotations

import datetime as dt
import io

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from rich.console import Console

from tlsdoctor.model import Verdict
from tlsdoctor.report import scan_human
from tlsdoctor.scan.checks import certificate_shape, violation
from tlsdoctor.scan.contract import to_contract
from tlsdoctor.scan.judge import complete_enough, finding_checks, verdict
from tlsdoctor.scan.offers import Offer
from tlsdoctor.scan.probe import ProbeResult
from tlsdoctor.scan.result import ProtocolResult, ScanData
from tlsdoctor.wire.codepoints import AlertDescription, AlertLevel, CompressionMethod, NamedGroup
from tlsdoctor.wire.codepoints import ProtocolVersion as V
from tlsdoctor.wire.extensions import Extension, KeyShareHRR, SupportedVersionsServer
from tlsdoctor.wire.handshake import HRR_RANDOM, ServerHello, huge_server_hello
from tlsdoctor.wire.records import Alert
from tlsdoctor.wire.registry import CipherSuite

TLS12 = Offer(version=V.TLS1_2, suites=(0xC02F, 0xC030))
TLS13 = Offer(version=V.TLS1_3, suites=(0x1301, 0x1302), groups=(0x001D, 0x0017, 0x0018), shares=(0x001D,))


def hello(suite: int, version: int = V.TLS1_2, *, hrr_group: int | None = None) -> ServerHello:
    extensions: tuple[Extension, ...] = ()
    if version == V.TLS1_3 or hrr_group is not None:
        extensions = (SupportedVersionsServer(V(version)),)
    if hrr_group is not None:
        extensions += (KeyShareHRR(NamedGroup(hrr_group)),)
    legacy = V.TLS1_2 if version == V.TLS1_3 else V(version)
    random = HRR_RANDOM if hrr_group is not None else bytes(32)
    return ServerHello(legacy, random, b"", CipherSuite(suite), CompressionMethod.NULL, extensions)


def der_certificate() -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.DER)


def test_certificate_shape() -> None:
    der = der_certificate()
    assert certificate_shape(der) == ""
    assert certificate_shape(b"\x30\x82\x01\x00this is not a certificate")
    assert certificate_shape(der[:-1])  # truncated
    assert certificate_shape(der + b"\x00")  # trailing byte
    assert certificate_shape(b"\x30\x03\x02\x01\x00")  # a SEQUENCE, but of an INTEGER
    assert certificate_shape(b"")


def test_unoffered_suite_and_version() -> None:
    assert violation(TLS12, ProbeResult(end="hello", server_hello=hello(0xC02F))) is None  # near miss
    found = violation(TLS12, ProbeResult(end="hello", server_hello=hello(0x002F)))
    assert found is not None and found[0] == "unoffered-suite" and "TLS_RSA_WITH_AES_128_CBC_SHA" in found[1]
    found = violation(TLS12, ProbeResult(end="hello", server_hello=hello(0xC02F, V.TLS1_3)))
    assert found is not None and found[0] == "unoffered-version"
    # a TLS 1.3 hello whose legacy_version is TLS 1.2 may get a TLS 1.2 answer (RFC 8446 §4.2.1)
    tls13_hello = Offer(version=V.TLS1_3, suites=(0x1301, 0xC02F))
    assert violation(tls13_hello, ProbeResult(end="hello", server_hello=hello(0xC02F))) is None


def test_hello_retry_requests() -> None:
    ok = ProbeResult(end="hrr", hrr=hello(0x1301, V.TLS1_3, hrr_group=0x0017))
    assert violation(TLS13, ok) is None  # offered, and no share sent for it: a fair request
    again = ProbeResult(end="hrr", hrr=hello(0x1301, V.TLS1_3, hrr_group=0x0017), hrr_again=True)
    assert (violation(TLS13, again) or ("",))[0] == "hrr-loop"
    shared = ProbeResult(end="hrr", hrr=hello(0x1301, V.TLS1_3, hrr_group=0x001D))
    assert (violation(TLS13, shared) or ("",))[0] == "hrr-bad-group"
    foreign = ProbeResult(end="hrr", hrr=hello(0x1301, V.TLS1_3, hrr_group=0x0019))
    assert "did not offer" in (violation(TLS13, foreign) or ("", ""))[1]


def test_retry_that_the_server_abandons() -> None:
    """The server asked for a second ClientHello, got it, and hung up: a fault, and TLS 1.3 is not
    usable; near misses: an honoured retry, and a retry lost to silence (no proof of who ended it)."""
    from tlsdoctor.scan.scanner import usable

    request = hello(0x1301, V.TLS1_3, hrr_group=0x0017)
    for end in ("closed", "reset"):
        abandoned = ProbeResult(end=end, hrr=request, retried=request)
        assert (violation(TLS13, abandoned) or ("",))[0] == "hrr-abandoned"
        assert not usable(abandoned, V.TLS1_3)
    honoured = ProbeResult(end="hello", hrr=request, retried=request, server_hello=hello(0x1301, V.TLS1_3))
    assert violation(TLS13, honoured) is None and usable(honoured, V.TLS1_3)
    quiet = ProbeResult(end="timeout", hrr=request, retried=request)
    assert violation(TLS13, quiet) is None
    assert not usable(quiet, V.TLS1_3)  # before: the HRR alone counted as TLS 1.3 support


def test_junk_certificate_and_unknown_alert() -> None:
    good = ProbeResult(end="hello", server_hello=hello(0xC02F), certificates=(der_certificate(),))
    assert violation(TLS12, good) is None
    junk = ProbeResult(end="hello", server_hello=hello(0xC02F), certificates=(b"\x30\x82\x01\x00junk",))
    assert (violation(TLS12, junk) or ("",))[0] == "junk-certificate"
    known = ProbeResult(end="alert", alert=Alert(AlertLevel.FATAL, AlertDescription.HANDSHAKE_FAILURE))
    assert violation(TLS12, known) is None
    unknown = ProbeResult(end="alert", alert=Alert(AlertLevel.FATAL, AlertDescription(238)))
    assert violation(TLS12, unknown) == (
        "unknown-alert",
        "answered the TLSv1.2 ClientHello with alert 238, which no RFC defines",
    )


def test_huge_server_hello() -> None:
    head = bytes.fromhex("160303400002ffffff0303")
    assert huge_server_hello(head) == 0xFFFFFF
    found = violation(TLS12, ProbeResult(end="timeout", head=head, bytes_received=43))
    assert found is not None and found[0] == "huge-server-hello" and "16777215 bytes" in found[1]
    assert huge_server_hello(bytes.fromhex("16030300560200005203")) == 0  # near miss: a real one
    assert huge_server_hello(bytes.fromhex("160303400002ffff")) == 0  # too short to tell
    assert huge_server_hello(bytes.fromhex("16030340000bffffff")) == 0  # a Certificate may be long


def scan_data(*protocols: ProtocolResult, **kw: object) -> ScanData:
    data = ScanData(protocols=list(protocols))
    for key, value in kw.items():
        setattr(data, key, value)
    return data


TLS12_OK = ProtocolResult(version="TLSv1.2", supported=True, suites=[0xC02F])


def test_violation_makes_a_fault_with_server_fixes_only() -> None:
    data = scan_data(violations={"unoffered-suite": "chose cipher suite X"})
    got, causes = verdict(data, Verdict.INCONCLUSIVE, [])
    assert got is Verdict.FAULT and causes[0].id == "cipher-mismatch"
    assert causes[0].evidence[0].check == "scan.violation.unoffered-suite"
    assert all(f.startswith("server: ") for f in causes[0].fixes)
    assert [c.id for c in finding_checks(data)] == ["scan.violation.unoffered-suite"]
    assert verdict(scan_data(TLS12_OK), Verdict.HEALTHY, []) == (Verdict.HEALTHY, [])  # near miss


def test_legacy_only() -> None:
    ssl2 = ProtocolResult(version="SSLv2", supported=True, suites=[0x0700C0])
    got, causes = verdict(scan_data(ssl2), Verdict.HEALTHY, [])
    assert got is Verdict.FAULT and causes[0].id == "protocol-mismatch"
    ssl3 = ProtocolResult(version="SSLv3", supported=True, suites=[0x0005])
    assert verdict(scan_data(ssl3, TLS12_OK), Verdict.HEALTHY, [])[0] is Verdict.HEALTHY  # near miss


def test_partial_scans() -> None:
    cut = scan_data(TLS12_OK, untested={"TLSv1.2 suites": "not tested: the scan's deadline ran out"})
    assert complete_enough(cut) and verdict(cut, Verdict.HEALTHY, [])[0] is Verdict.HEALTHY
    assert [c.status.value for c in finding_checks(cut)] == ["warn"]
    no_cert = scan_data(TLS12_OK, untested={"certificates": "not tested: deadline"})
    assert verdict(no_cert, Verdict.HEALTHY, [])[0] is Verdict.INCONCLUSIVE
    silent = scan_data(TLS12_OK, untested={"TLSv1.2 suites": "stalled"}, silent=True)
    assert verdict(silent, Verdict.HEALTHY, [])[0] is Verdict.INCONCLUSIVE
    assert [c.status.value for c in finding_checks(silent)] == ["fail"]


def test_human_tables_show_violations_and_gaps() -> None:
    unusable = ProtocolResult(version="TLSv1.3", supported=False, unusable="the server sent its ServerHello")
    data = scan_data(
        TLS12_OK,
        unusable,
        violations={"hrr-loop": "answered the second ClientHello with another HelloRetryRequest"},
        untested={"groups": "not tested: the scan's deadline (--max-time) ran out"},
    )
    console = Console(file=io.StringIO(), width=120, color_system=None)
    for part in scan_human.renderables(to_contract(data)):
        console.print(part)
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert "What the server does wrong" in text and "hrr-loop" in text and "TLSv1.3 unusable" in text
    assert "Partial scan" in text and "--max-time" in text
