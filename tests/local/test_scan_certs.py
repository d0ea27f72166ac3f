"""Certificates in full against a real nginx serving three chains made by the ``openssl`` CLI (an
RSA, an ECDSA P-256 and an Ed25519 leaf under one root): each found by its own sigalg-restricted
probe, every field as openssl itself prints it, each trust store's verdict; and CAA lookups
against dnsmasq (the record at a parent, none at all, a silent server)."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from scan_servers import NGINX, OPENSSL

from tlsdoctor.commands.scan import run_scan
from tlsdoctor.context import Context, Options
from tlsdoctor.report.envelope import envelope
from tlsdoctor.scan.caa import caa_lookup
from tlsdoctor.testing.nginx import Site, running
from tlsdoctor.testing.ocsp import ocsp_response, sample_scts, serverinfo_pem
from tlsdoctor.testing.processes import free_port, serving

CLI = [sys.executable, "-m", "tlsdoctor"]
needs_tools = pytest.mark.skipif(NGINX is None or OPENSSL is None, reason="nginx and openssl are needed")
EXTENSIONS = """subjectAltName=DNS:localhost,IP:127.0.0.1
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature{ku}
extendedKeyUsage=serverAuth,clientAuth
{staple}crlDistributionPoints=URI:http://crl.example.test/root.crl
authorityInfoAccess=OCSP;URI:http://ocsp.example.test,caIssuers;URI:http://ca.example.test/root.der
"""
KEYS = {
    "RSA": ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
    "ECDSA": ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
    "Ed25519": ["-algorithm", "ED25519"],
}


def openssl(*args: str, cwd: Path) -> str:
    assert OPENSSL is not None
    return subprocess.run([OPENSSL, *args], cwd=cwd, capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A root and three leaves, by the openssl CLI (not by this project's test PKI)."""
    d = tmp_path_factory.mktemp("openssl-pki")
    root = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-384",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
    ]
    ca = ["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"]
    openssl("req", "-x509", *root, "-days", "30", "-subj", "/CN=scan test root", *ca, cwd=d)
    for kind, algorithm in KEYS.items():
        openssl("genpkey", *algorithm, "-out", f"{kind}.key", cwd=d)
        subject = f"/CN=localhost/O={kind}"
        openssl("req", "-new", "-key", f"{kind}.key", "-subj", subject, "-out", f"{kind}.csr", cwd=d)
        ext = EXTENSIONS.format(
            ku=",keyEncipherment" if kind == "RSA" else "",
            staple="tlsfeature=status_request\n" if kind == "RSA" else "",
        )
        (d / f"{kind}.cnf").write_text(ext)
        openssl("x509", "-req", "-in", f"{kind}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                "-days", "20", "-extfile", f"{kind}.cnf", "-out", f"{kind}.pem", cwd=d)  # fmt: skip
    return d


def fingerprint(pem: Path) -> str:
    out = openssl("x509", "-in", str(pem), "-noout", "-fingerprint", "-sha256", cwd=pem.parent)
    return out.strip().split("=", 1)[1].replace(":", "").lower()


@needs_tools
def test_three_key_types_in_full(pki: Path, tmp_path: Path) -> None:
    extra = "".join(
        f"ssl_certificate {pki / f'{k}.pem'}; ssl_certificate_key {pki / f'{k}.key'}; "
        for k in ("ECDSA", "Ed25519")
    )
    tls = extra + "ssl_protocols TLSv1.2 TLSv1.3;"
    with running(tmp_path, Site(cert=pki / "RSA.pem", key=pki / "RSA.key", tls=tls)) as port:
        options = Options(host="127.0.0.1", port=port, servername="localhost", host_is_ip=True, timeout=3.0,
                          ca_file=pki / "ca.pem")  # fmt: skip
        scan: dict[str, Any] = envelope(asyncio.run(run_scan(Context(options=options))))["scan"]
    by_kind = {c["offered"]: c for c in scan["certificates"]}
    assert set(by_kind) == {"RSA", "ECDSA", "Ed25519"}, [c["key_type"] for c in scan["certificates"]]
    assert [by_kind[k]["certificates"][0]["key"] for k in ("RSA", "ECDSA", "Ed25519")] == [
        "RSA 2048", "EC 256", "Ed25519 256",
    ]  # fmt: skip
    for kind, chain in by_kind.items():
        leaf = chain["certificates"][0]
        assert leaf["subject"] == f"O={kind},CN=localhost" and leaf["issuer"] == "CN=scan test root"
        assert leaf["sans"] == ["DNS:localhost", "IP:127.0.0.1"]
        assert leaf["sha256"] == fingerprint(pki / f"{kind}.pem")
        assert leaf["extended_key_usage"] == ["serverAuth", "clientAuth"]
        assert leaf["crl_urls"] == ["http://crl.example.test/root.crl"]
        assert leaf["ocsp_urls"] == ["http://ocsp.example.test"]
        assert leaf["ca_issuers_urls"] == ["http://ca.example.test/root.der"]
        assert leaf["signature_algorithm"] == "ecdsa-with-SHA256"  # the P-384 root signs with SHA-256
        assert 18 <= leaf["days_left"] <= 20 and leaf["lifetime_days"] == 20
        assert leaf["must_staple"] is (kind == "RSA")  # near miss: only the RSA leaf has the TLS feature
        assert leaf["scts"] == []
        assert chain["chain_built"] == [f"O={kind},CN=localhost", "CN=scan test root"]
        trust = {t["store"]: t["trusted"] for t in chain["trust"]}
        assert trust["ca-file"] is True
        assert trust["system"] is False and trust["mozilla"] is False  # a private root: only --ca-file has it
    assert "digital_signature" in by_kind["RSA"]["certificates"][0]["key_usage"]
    assert "key_encipherment" in by_kind["RSA"]["certificates"][0]["key_usage"]
    assert "key_encipherment" not in by_kind["ECDSA"]["certificates"][0]["key_usage"]
    assert scan["caa"]["asked"] == [] and scan["caa"]["error"] == "not a public DNS name"  # localhost
    assert "trust-store-gap" not in {w["id"] for w in scan["weaknesses"]}  # with --ca-file: not judged


@needs_tools
def test_root_lists_kept_as_data_each_say_their_verdict_and_day(pki: Path, tmp_path: Path) -> None:
    """The CLI's scan of nginx (no --ca-file) with the organisation's own list named in
    TLSDOCTOR_TRUST_STORES: that list trusts the openssl-made chain and says its day; a list of
    another root does not; the platform lists from sslyze (when installed) do not know this root."""
    other = tmp_path / "other"
    other.mkdir()
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
            "o.key", "-out", "o.pem", "-days", "5", "-subj", "/CN=scan test root", cwd=other)  # fmt: skip
    env = {
        **os.environ,
        "TLSDOCTOR_TRUST_STORES": f"corp={pki / 'ca.pem'}@2026-01-02{os.pathsep}lookalike={other / 'o.pem'}",
    }
    site = Site(cert=pki / "RSA.pem", key=pki / "RSA.key", tls="ssl_protocols TLSv1.2 TLSv1.3;")
    with running(tmp_path, site) as port:
        target = ["127.0.0.1", "--port", str(port), "--servername", "localhost", "--timeout", "3"]
        done = subprocess.run([*CLI, "scan", *target, "--json"], env=env, capture_output=True, timeout=60)
        human = subprocess.run([*CLI, "scan", *target], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode in (0, 1), done.stderr
    (chain,) = json.loads(done.stdout)["scan"]["certificates"]
    trust = {t["store"]: t for t in chain["trust"]}
    assert trust["corp"]["trusted"] is True and trust["corp"]["as_of"] == "2026-01-02"
    assert trust["corp"]["age_days"] == (dt.datetime.now(dt.UTC).date() - dt.date(2026, 1, 2)).days
    assert trust["corp"]["source"] == f"TLSDOCTOR_TRUST_STORES: {pki / 'ca.pem'}"
    assert trust["lookalike"]["trusted"] is False  # the same subject, another key: near miss
    assert trust["system"]["trusted"] is False
    if importlib.util.find_spec("sslyze") is not None:
        for platform in ("apple", "windows", "android"):
            assert trust[platform]["trusted"] is False and trust[platform]["anchors"] > 80, trust[platform]
            assert trust[platform]["as_of"] and trust[platform]["source"].startswith("sslyze ")
    age = trust["corp"]["age_days"]
    assert (
        "store corp" in human.stdout
        and f"trusted (1 anchors, list of 2026-01-02, {age} days old)" in human.stdout
    )


@needs_tools
def test_scts_from_the_tls_extension_and_the_stapled_ocsp_response(pki: Path, tmp_path: Path) -> None:
    """openssl s_server staples an OCSP response carrying 3 SCTs in its singleExtensions (RFC 6962
    §3.3) and answers extension 18 with 2 more: the scan lists all five beside the (zero) embedded
    ones, each with its log, time and channel, and the human report counts them per channel."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    leaf = x509.load_pem_x509_certificate((pki / "RSA.pem").read_bytes())
    ca = x509.load_pem_x509_certificate((pki / "ca.pem").read_bytes())
    ca_key = serialization.load_pem_private_key((pki / "ca.key").read_bytes(), None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    in_ocsp, in_tls = sample_scts(3, now, seed="ocsp"), sample_scts(2, now, seed="tls")
    (tmp_path / "ocsp.der").write_bytes(ocsp_response(leaf, ca, ca_key, now, single_scts=in_ocsp))
    (tmp_path / "ct.pem").write_bytes(serverinfo_pem(in_tls))
    assert OPENSSL is not None
    port = free_port()
    cmd = [OPENSSL, "s_server", "-accept", f"127.0.0.1:{port}", "-cert", str(pki / "RSA.pem"), "-key",
           str(pki / "RSA.key"), "-status_file", str(tmp_path / "ocsp.der"),
           "-serverinfo", str(tmp_path / "ct.pem"), "-quiet", "-naccept", "100000"]  # fmt: skip
    with serving(cmd, port, "openssl s_server"):
        target = ["127.0.0.1", "--port", str(port), "--servername", "localhost", "--timeout", "3"]
        target += ["--ca-file", str(pki / "ca.pem")]
        done = subprocess.run([*CLI, "scan", *target, "--json"], capture_output=True, timeout=60)
        human = subprocess.run([*CLI, "scan", *target], capture_output=True, text=True, timeout=60)
    assert done.returncode in (0, 1), done.stderr
    scan = json.loads(done.stdout)["scan"]
    assert scan["features"]["ocsp_stapling"] is True
    chain = next(c for c in scan["certificates"] if c["offered"] == "RSA")
    scts = chain["certificates"][0]["scts"]
    expected = [(s.log_id.hex(), "tls-extension") for s in in_tls] + [
        (s.log_id.hex(), "ocsp") for s in in_ocsp
    ]
    assert [(s["log_id"], s["channel"]) for s in scts] == expected
    assert scts[0]["timestamp"] == now.isoformat() and chain["certificates"][0]["sct_problems"] == []
    assert "5 (2 TLS extension, 3 stapled OCSP) from 5 logs" in human.stdout


@needs_tools
def test_a_broken_sct_extension_is_said_not_fatal(pki: Path, tmp_path: Path) -> None:
    """A server whose extension 18 holds a list with a length running past its end: the scan ends
    normally, lists no SCT and says why (near miss of the test above)."""
    block = (18).to_bytes(2, "big") + (3).to_bytes(2, "big") + b"\x00\x05\x00"
    (tmp_path / "ct.pem").write_bytes(
        b"-----BEGIN SERVERINFO FOR CT-----\n"
        + base64.encodebytes(block)
        + b"-----END SERVERINFO FOR CT-----\n"
    )
    assert OPENSSL is not None
    port = free_port()
    cmd = [OPENSSL, "s_server", "-accept", f"127.0.0.1:{port}", "-cert", str(pki / "RSA.pem"), "-key",
           str(pki / "RSA.key"), "-serverinfo", str(tmp_path / "ct.pem"), "-quiet",
           "-naccept", "100000"]  # fmt: skip
    with serving(cmd, port, "openssl s_server"):
        options = Options(host="127.0.0.1", port=port, servername="localhost", host_is_ip=True, timeout=3.0,
                          ca_file=pki / "ca.pem")  # fmt: skip
        scan: dict[str, Any] = envelope(asyncio.run(run_scan(Context(options=options))))["scan"]
    leaf = scan["certificates"][0]["certificates"][0]
    assert leaf["scts"] == []
    assert (
        leaf["sct_problems"]
        and "signed_certificate_timestamp extension does not parse" in leaf["sct_problems"][0]
    )


@needs_tools
def test_nginx_staples_the_response_and_its_scts_are_read(pki: Path, tmp_path: Path) -> None:
    """The same stapled response served by nginx (ssl_stapling_file), an implementation we did not
    write: its 2 SCTs come out on the OCSP channel; nginx has no extension 18, so none on TLS."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    leaf = x509.load_pem_x509_certificate((pki / "ECDSA.pem").read_bytes())
    ca = x509.load_pem_x509_certificate((pki / "ca.pem").read_bytes())
    ca_key = serialization.load_pem_private_key((pki / "ca.key").read_bytes(), None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    in_ocsp = sample_scts(2, now, seed="nginx")
    (tmp_path / "ocsp.der").write_bytes(ocsp_response(leaf, ca, ca_key, now, single_scts=in_ocsp))
    tls = f"ssl_protocols TLSv1.2 TLSv1.3; ssl_stapling on; ssl_stapling_file {tmp_path / 'ocsp.der'};"
    with running(tmp_path, Site(cert=pki / "ECDSA.pem", key=pki / "ECDSA.key", tls=tls)) as port:
        options = Options(host="127.0.0.1", port=port, servername="localhost", host_is_ip=True, timeout=3.0,
                          ca_file=pki / "ca.pem")  # fmt: skip
        scan: dict[str, Any] = envelope(asyncio.run(run_scan(Context(options=options))))["scan"]
    assert scan["features"]["ocsp_stapling"] is True
    scts = scan["certificates"][0]["certificates"][0]["scts"]
    assert [(s["log_id"], s["channel"]) for s in scts] == [(s.log_id.hex(), "ocsp") for s in in_ocsp]


# -- CAA against dnsmasq --------------------------------------------------------------------------
def _caa_rdata(flags: int, tag: str, value: str) -> str:
    raw = bytes([flags, len(tag)]) + tag.encode() + value.encode()
    return raw.hex()


@pytest.fixture
def dnsmasq() -> Iterator[str]:
    """dnsmasq on a free loopback port, answering CAA for example.test; a port taken meanwhile
    (another test's) is retried; killed by PID afterwards."""
    binary = shutil.which("dnsmasq") or (
        "/usr/sbin/dnsmasq" if os.access("/usr/sbin/dnsmasq", os.X_OK) else None
    )
    if binary is None:
        pytest.skip("dnsmasq is not installed")
    for _ in range(5):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        proc = subprocess.Popen(
            [binary, "--no-daemon", f"--port={port}", "--listen-address=127.0.0.1", "--bind-interfaces",
             "--no-resolv", "--no-hosts", "--conf-file=/dev/null", "--pid-file=", "--local=/test/",
             f"--dns-rr=example.test,257,{_caa_rdata(0, 'issue', 'letsencrypt.org')}",
             f"--dns-rr=example.test,257,{_caa_rdata(128, 'iodef', 'mailto:sec@example.test')}",
             "--host-record=www.shop.example.test,198.18.0.7"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            if _answers(proc, f"127.0.0.1:{port}"):
                yield f"127.0.0.1:{port}"
                return
        finally:
            proc.kill()
            proc.wait(timeout=5)
    pytest.fail("dnsmasq did not start on a free port in 5 attempts")


def _answers(proc: subprocess.Popen[bytes], server: str) -> bool:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and proc.poll() is None:
        if caa_lookup("example.test", [server], 0.5)["records"]:
            return True
        time.sleep(0.1)
    return False


def test_caa_climbs_to_the_parent_that_has_it(dnsmasq: str) -> None:
    found = caa_lookup("www.shop.example.test", [dnsmasq], 3.0)
    assert found["error"] is None and found["found_at"] == "example.test."
    assert found["asked"] == ["www.shop.example.test.", "shop.example.test.", "example.test."]
    assert sorted((r["flags"], r["tag"], r["value"]) for r in found["records"]) == [
        (0, "issue", "letsencrypt.org"), (128, "iodef", "mailto:sec@example.test"),
    ]  # fmt: skip


def test_caa_absent_and_a_silent_server(dnsmasq: str) -> None:
    none = caa_lookup("www.other.test", [dnsmasq], 3.0)  # near miss: no CAA anywhere above it
    assert (
        none["records"] == []
        and none["found_at"] is None
        and none["asked"] == ["www.other.test.", "other.test."]
    )
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        start = time.monotonic()
        dead = caa_lookup("www.shop.example.test", [f"127.0.0.1:{silent.getsockname()[1]}"], 0.5)
    assert dead["records"] == [] and dead["error"] and time.monotonic() - start < 2.0
