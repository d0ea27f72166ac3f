"""`tlsdoctor scan` against real servers on 127.0.0.1: openssl s_server and nginx configured with
known cipher strings, versions and groups. Ground truth: ``openssl ciphers -s -v -stdname`` for
the same string and version. Plus hostile peers: every probe ends within its deadline."""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
import subprocess
import sys
import threading
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from scan_servers import NGINX, OPENSSL, Certs, ground_truth, nginx, s_server

from tlsdoctor.commands.scan import run_scan
from tlsdoctor.context import Context, Options
from tlsdoctor.report.envelope import envelope
from tlsdoctor.testing import Pki
from tlsdoctor.testing.starttls_servers import ImapStarttlsServer
from tlsdoctor.testing.tlsservers import SmtpStarttlsServer

needs_openssl = pytest.mark.skipif(
    OPENSSL is None, reason="openssl binary not installed (.ci/scan-packages.txt)"
)
needs_nginx = pytest.mark.skipif(NGINX is None, reason="nginx not installed (apt-get install nginx-light)")


@pytest.fixture(scope="module")
def certs() -> Iterator[Certs]:
    with Pki() as pki:
        yield Certs(pki)


def scan(
    port: int, certs: Certs | None = None, timeout: float = 3.0, *, starttls: str | None = None
) -> dict[str, Any]:
    options = Options(
        host="127.0.0.1",
        port=port,
        servername="localhost",
        host_is_ip=True,
        timeout=timeout,
        ca_file=certs.ca_file if certs else None,
        starttls=starttls,
    )
    return envelope(asyncio.run(run_scan(Context(options=options))))


def protocol(report: dict[str, Any], version: str) -> dict[str, Any]:
    return next(p for p in report["scan"]["protocols"] if p["version"] == version)


def supported(report: dict[str, Any]) -> list[str]:
    return [p["version"] for p in report["scan"]["protocols"] if p["supported"]]


@needs_openssl
def test_s_server_reports_exactly_the_configured_suites(certs: Certs) -> None:
    string = (
        "ECDHE-RSA-AES128-GCM-SHA256:AES256-SHA:DHE-RSA-AES128-SHA:ECDHE-RSA-CHACHA20-POLY1305:AES128-SHA256"
    )
    suites13 = "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"
    with s_server(certs, ["-cipher", string, "-ciphersuites", suites13]) as port:
        report = scan(port, certs)
    assert supported(report) == ["TLSv1.2", "TLSv1.3"]
    tls12, tls13 = protocol(report, "TLSv1.2"), protocol(report, "TLSv1.3")
    assert sorted(tls12["cipher_suites"]) == sorted(ground_truth(string, "TLSv1.2"))
    assert sorted(tls13["cipher_suites"]) == sorted(ground_truth(string, "TLSv1.3", suites13))
    assert tls12["server_order"] is False and tls13["server_order"] is False  # s_server default: client's
    assert tls12["suites_tested"] >= 300
    assert report["verdict"] == "healthy"
    assert [c["key_type"] for c in report["scan"]["certificates"]] == ["RSA 2048"]
    assert report["scan"]["certificates"][0]["problems"] == []
    features = report["scan"]["features"]
    assert features["secure_renegotiation"] is True and features["fallback_scsv"] is True
    assert features["compression"] == "none"
    assert {w["id"] for w in report["scan"]["weaknesses"]} >= {"no-pfs"}


@needs_openssl
def test_s_server_preference_order_and_both_key_types(certs: Certs) -> None:
    string = "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256:AES128-SHA:ECDHE-ECDSA-AES128-SHA"
    with s_server(certs, ["-tls1_2", "-serverpref", "-cipher", string], ecdsa=True) as port:
        report = scan(port, certs)
    assert supported(report) == ["TLSv1.2"]
    tls12 = protocol(report, "TLSv1.2")
    assert tls12["cipher_suites"] == ground_truth(string, "TLSv1.2")  # exactly, in the server's order
    assert tls12["server_order"] is True
    keys = sorted(c["key_type"].split()[0] for c in report["scan"]["certificates"])
    assert keys == ["EC", "RSA"]
    schemes = report["scan"]["signature_schemes"]
    assert "ecdsa_secp256r1_sha256" in schemes and "rsa_pss_rsae_sha256" in schemes
    assert report["scan"]["features"]["fallback_scsv"] is None  # one version: nothing to fall back to


@needs_openssl
def test_s_server_legacy_tls10_and_its_weaknesses(certs: Certs) -> None:
    string = "AES128-SHA:DES-CBC3-SHA:ECDHE-RSA-AES256-SHA:ADH-AES128-SHA:@SECLEVEL=0"
    with s_server(certs, ["-tls1", "-cipher", string]) as port:
        report = scan(port, certs)
    assert supported(report) == ["TLSv1.0"]
    assert sorted(protocol(report, "TLSv1.0")["cipher_suites"]) == sorted(ground_truth(string, "TLSv1.0"))
    ids = {w["id"] for w in report["scan"]["weaknesses"]}
    assert {"tls10", "anonymous", "no-pfs", "cbc-tls10", "no-tls12"} <= ids
    if "TLS_RSA_WITH_3DES_EDE_CBC_SHA" in ground_truth(string, "TLSv1.0"):  # some builds drop 3DES
        assert "3des-sweet32" in ids
    assert all(w["reference"] for w in report["scan"]["weaknesses"])


@needs_openssl
@pytest.mark.parametrize(("flag", "groups", "expected"), [
    ("-tls1_3", "X25519:secp384r1", {"x25519", "secp384r1"}),
    ("-tls1_2", "secp521r1:P-256", {"secp521r1", "secp256r1"}),
    ("-tls1_3", "ffdhe3072:P-521", {"ffdhe3072", "secp521r1"}),
])  # fmt: skip
def test_s_server_groups(certs: Certs, flag: str, groups: str, expected: set[str]) -> None:
    with s_server(certs, [flag, "-groups", groups]) as port:
        report = scan(port, certs)
    assert set(report["scan"]["groups"]) == expected
    assert report["scan"]["groups_tested"] >= 30  # PQ hybrids included (X25519MLKEM768 & co.)


@needs_nginx
@pytest.mark.parametrize("prefer", [True, False])
def test_nginx_suites_order_groups_alpn(certs: Certs, tmp_path: Path, prefer: bool) -> None:
    string = (
        "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256:AES256-SHA"
    )
    with nginx(
        certs,
        tmp_path,
        protocols="TLSv1.2 TLSv1.3",
        ciphers=string,
        curves="X25519:secp384r1",
        prefer=prefer,
        ecdsa=True,
    ) as port:
        report = scan(port, certs)
    assert supported(report) == ["TLSv1.2", "TLSv1.3"]
    tls12 = protocol(report, "TLSv1.2")
    truth = ground_truth(string, "TLSv1.2")
    if prefer:
        assert tls12["cipher_suites"] == truth and tls12["server_order"] is True
    else:
        assert sorted(tls12["cipher_suites"]) == sorted(truth) and tls12["server_order"] is False
    assert sorted(protocol(report, "TLSv1.3")["cipher_suites"]) == sorted(ground_truth(string, "TLSv1.3"))
    assert set(report["scan"]["groups"]) == {"x25519", "secp384r1"}
    assert report["scan"]["features"]["alpn"][:2] == ["h2", "http/1.1"]  # nginx also takes http/1.0
    assert len(report["scan"]["certificates"]) == 2


@needs_nginx
def test_nginx_tls13_only_alpn_from_stdlib_handshakes(certs: Certs, tmp_path: Path) -> None:
    """TLS 1.3 encrypts the ALPN choice: with no TLS <= 1.2 to read it from, the chain runs on
    stdlib handshakes (scan/tls13.py) and still lists nginx's protocols in its order."""
    with nginx(certs, tmp_path, protocols="TLSv1.3", ciphers="DEFAULT", curves="X25519", prefer=True) as port:
        report = scan(port, certs)
    assert supported(report) == ["TLSv1.3"]
    features = report["scan"]["features"]
    assert features["alpn"][:2] == ["h2", "http/1.1"], features  # as over TLS 1.2 (test above)
    assert features["compression"] == "none" and features["secure_renegotiation"] is None
    assert len(report["scan"]["certificates"]) == 1


@needs_openssl
@pytest.mark.parametrize("proto", ["smtp", "imap"])
def test_scan_through_starttls_reports_exactly_the_configured_suites(proto: str) -> None:
    """Every probe of a STARTTLS scan is its own connection with its own preamble (EHLO, STARTTLS;
    a tagged STARTTLS): the suites found through it are exactly what the upgraded server takes."""
    string = "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-SHA:AES128-GCM-SHA256"

    def tweak(ctx: ssl.SSLContext) -> None:
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.set_ciphers(string)

    server_cls = {"smtp": SmtpStarttlsServer, "imap": ImapStarttlsServer}[proto]
    server = server_cls(tweak=tweak).start()
    try:
        report = scan(server.port, timeout=3.0, starttls=proto)
    finally:
        server.stop()
    assert supported(report) == ["TLSv1.2", "TLSv1.3"]
    tls12 = protocol(report, "TLSv1.2")
    assert sorted(tls12["cipher_suites"]) == sorted(ground_truth(string, "TLSv1.2"))
    assert sorted(protocol(report, "TLSv1.3")["cipher_suites"]) == sorted(ground_truth(string, "TLSv1.3"))
    assert report["scan"]["certificates"], "the chain, read through the preamble too"
    assert server.unexpected == []


@needs_openssl
def test_cli_json_contract_shape(certs: Certs) -> None:
    with s_server(certs, ["-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256"]) as port:
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "tlsdoctor",
                "scan",
                f"127.0.0.1:{port}",
                "--servername",
                "localhost",
                "--ca-file",
                str(certs.ca_file),
                "--json",
                "--timeout",
                "3",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["command"] == "scan" and report["schema"] == "tlsdoctor.report/1"
    scan_data = report["scan"]
    assert set(scan_data) >= {"protocols", "groups", "certificates", "features", "weaknesses"}
    assert [p["version"] for p in scan_data["protocols"]] == [
        "SSLv2",
        "SSLv3",
        "TLSv1.0",
        "TLSv1.1",
        "TLSv1.2",
        "TLSv1.3",
    ]
    for p in scan_data["protocols"]:
        assert set(p) >= {"version", "supported", "cipher_suites", "server_order"}
        assert p["suites_tested"] > 0  # SSLv2: the seven cipher kinds its hello offers
    assert {"ocsp_stapling", "secure_renegotiation", "fallback_scsv", "alpn"} <= set(scan_data["features"])
    cert = scan_data["certificates"][0]
    assert set(cert) >= {"key_type", "subject", "issuer", "not_after", "chain"}
    assert protocol(report, "TLSv1.2")["server_order"] is None  # one suite: no order to tell


@needs_openssl
def test_cli_helper_process_gives_the_in_process_answer(certs: Certs) -> None:
    """The CLI does its certificate work in a forked helper (scan/helper.py); without it
    (TLSDOCTOR_NO_HELPER=1) the same work runs in-process. Untrusted here (no --ca-file), so
    the helper also judges: same verdict, causes, certificate findings and exit status."""
    import os

    def run(no_helper: bool) -> tuple[int, dict[str, Any]]:
        env = dict(os.environ)
        env.pop("TLSDOCTOR_NO_HELPER", None)
        if no_helper:
            env["TLSDOCTOR_NO_HELPER"] = "1"
        out = subprocess.run(
            [sys.executable, "-m", "tlsdoctor", "scan", f"127.0.0.1:{port}", "--servername", "localhost",
             "--json", "--timeout", "3"],
            capture_output=True, text=True, timeout=60, env=env,
        )  # fmt: skip
        assert out.returncode in (0, 1), out.stderr
        return out.returncode, json.loads(out.stdout)

    with s_server(certs, ["-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256:AES128-SHA"]) as port:
        (rc_helper, helper), (rc_plain, plain) = run(False), run(True)
    assert rc_helper == rc_plain == 1
    assert helper["verdict"] == plain["verdict"]
    assert [c["id"] for c in helper["causes"]] == [c["id"] for c in plain["causes"]]
    assert "cert-untrusted" in [c["id"] for c in helper["causes"]]
    for h, p in zip(helper["scan"]["certificates"], plain["scan"]["certificates"], strict=True):
        assert [x["problem"] for x in h["problems"]] == [x["problem"] for x in p["problems"]]
        assert h["key_type"] == p["key_type"]

    # The same answers; how many handshakes they took follows the schedule each run measured
    # (serial or parallel chains, Prober.pace), which the machine's load can tip either way.
    def answers(report: dict[str, Any]) -> list[dict[str, Any]]:
        return [{k: v for k, v in p.items() if k != "handshakes"} for p in report["scan"]["protocols"]]

    assert answers(helper) == answers(plain)


def test_cli_usage_error_exits_2() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "tlsdoctor", "scan", "127.0.0.1:0"], capture_output=True, text=True, timeout=30
    )
    assert out.returncode == 2


# -- hostile peers -------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["huge-length", "endless", "slow-drip"])
def test_hostile_endpoints_end_within_the_deadline(name: str) -> None:
    from tlsdoctor.testing import start_endpoint

    server = start_endpoint(name)
    try:
        tracemalloc.start()
        start = time.monotonic()
        report = scan(server.port, timeout=1.0)
        elapsed = time.monotonic() - start
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        server.stop()
    assert elapsed < 4.0  # the version probes run at once: about one deadline, not one per probe
    assert supported(report) == []
    assert report["verdict"] != "healthy"
    assert peak < 40 * 1024 * 1024


@pytest.fixture
def hrr_loop() -> Iterator[int]:
    """A server that answers every ClientHello with HelloRetryRequests, forever."""
    from tlsdoctor.wire.codepoints import ContentType, HandshakeType, NamedGroup, ProtocolVersion
    from tlsdoctor.wire.extensions import KeyShareHRR, SupportedVersionsServer
    from tlsdoctor.wire.handshake import HRR_RANDOM, ServerHello, build_handshake, encode_server_hello
    from tlsdoctor.wire.records import build_records
    from tlsdoctor.wire.registry import CipherSuite

    hrr = ServerHello(
        ProtocolVersion.TLS1_2,
        HRR_RANDOM,
        b"",
        CipherSuite(0x1301),
        0,  # type: ignore[arg-type]
        (SupportedVersionsServer(ProtocolVersion.TLS1_3), KeyShareHRR(NamedGroup.X25519)),
    )
    record = build_records(
        ContentType.HANDSHAKE,
        ProtocolVersion.TLS1_2,
        build_handshake(HandshakeType.SERVER_HELLO, encode_server_hello(hrr)),
        16384,
    )
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    stop = threading.Event()

    def serve(conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            try:
                conn.recv(65536)
                while not stop.is_set():
                    conn.sendall(record)
                    time.sleep(0.005)
            except OSError:
                pass

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield int(listener.getsockname()[1])
    stop.set()
    thread.join(timeout=5)
    listener.close()


def test_hrr_loop_is_bounded(hrr_loop: int) -> None:
    start = time.monotonic()
    report = scan(hrr_loop, timeout=1.0)
    assert time.monotonic() - start < 5.0
    tls13 = protocol(report, "TLSv1.3")
    # It answers in TLS 1.3 terms, but asks for the share it already has, again and again: no
    # client can finish, so TLS 1.3 is not "supported" and the scan names the server's fault.
    assert tls13["supported"] is False
    assert "HelloRetryRequest" in tls13["unusable"]
    assert report["verdict"] == "fault"
    assert report["scan"]["handshakes"] < 20
