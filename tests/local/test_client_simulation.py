"""Client simulation against real servers, held to the real clients installed here.

`scan` replays each profile's recorded hello and judges the answer by the client's limits; for the
clients this machine has (Python's ssl, curl, Node.js, Java 25) the very same servers are then
asked by the real program, and the simulation must say what the program did: connect or not, and
with which version and suite. Servers: openssl s_server and nginx with configurations that split
clients (TLS 1.3 only, TLS 1.2 with a few suites in the client's order, 1024-bit DHE, a 4096-bit
DH group, a 1024-bit RSA key).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from real_clients import REAL_CLIENTS, installed
from scan_servers import NGINX, OPENSSL, Certs

from tlsdoctor.commands.scan import run_scan
from tlsdoctor.context import Context, Options
from tlsdoctor.report.envelope import envelope
from tlsdoctor.testing import LeafSpec, Pki
from tlsdoctor.testing.nginx import Site, running
from tlsdoctor.testing.processes import free_port, serving

needs_openssl = pytest.mark.skipif(OPENSSL is None, reason="openssl binary not installed")
needs_nginx = pytest.mark.skipif(NGINX is None, reason="nginx not installed (apt-get install nginx-light)")


@pytest.fixture(scope="module")
def pki() -> Iterator[Pki]:
    with Pki() as made:
        yield made


@pytest.fixture(scope="module")
def certs(pki: Pki) -> Certs:
    return Certs(pki)


@pytest.fixture(scope="module")
def dh(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    """DH parameters: 1024 bits (a Logjam-era group) and RFC 7919's ffdhe4096."""
    assert OPENSSL is not None
    d = tmp_path_factory.mktemp("dh")
    subprocess.run([OPENSSL, "dhparam", "-out", str(d / "1024.pem"), "1024"], check=True, capture_output=True)
    subprocess.run([OPENSSL, "genpkey", "-genparam", "-algorithm", "DH", "-pkeyopt", "group:ffdhe4096",
                    "-out", str(d / "4096.pem")], check=True, capture_output=True)  # fmt: skip
    return {1024: d / "1024.pem", 4096: d / "4096.pem"}


@contextlib.contextmanager
def s_server(chain: Path, key: Path, args: list[str]) -> Iterator[int]:
    """s_server sending the whole chain (it sends only the first certificate of -cert)."""
    assert OPENSSL is not None
    port = free_port()
    pem = chain.read_bytes()
    cut = pem.index(b"-----BEGIN CERTIFICATE-----", 1)
    rest = chain.with_suffix(".rest.pem")
    rest.write_bytes(pem[cut:])
    cmd = [OPENSSL, "s_server", "-accept", f"127.0.0.1:{port}", "-cert", str(chain), "-key", str(key),
           "-cert_chain", str(rest), "-quiet", "-naccept", "100000", "-www", *args]  # fmt: skip
    with serving(cmd, port, "openssl s_server"):
        yield port


def scan(port: int, ca: Path) -> dict[str, Any]:
    options = Options(host="127.0.0.1", port=port, servername="localhost", host_is_ip=True, timeout=3.0,
                      ca_file=ca)  # fmt: skip
    return envelope(asyncio.run(run_scan(Context(options=options))))


def clients(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["client"]: c for c in report["scan"]["clients"]}


SERVERS = {
    # name: s_server arguments (None: the nginx DHE server)
    "default": [],
    "tls13-only": ["-tls1_3"],
    "tls12-client-order": [
        "-tls1_2",
        "-cipher",
        "AES256-SHA:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-CHACHA20-POLY1305",
    ],
    "tls12-dhe1024": ["-tls1_2", "-cipher", "DHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0", "-dhparam", "{dh1024}"],
    "tls12-ffdhe4096": ["-tls1_2", "-cipher", "DHE-RSA-AES128-GCM-SHA256", "-dhparam", "{dh4096}"],
    "rsa1024": ["-cipher", "DEFAULT:@SECLEVEL=0"],
    "sha1-signed": ["-cipher", "DEFAULT:@SECLEVEL=0"],
}


@needs_openssl
@pytest.mark.parametrize("server", list(SERVERS))
def test_simulation_says_what_the_real_clients_do(
    server: str, certs: Certs, pki: Pki, dh: dict[int, Path], tmp_path: Path
) -> None:
    if server in ("rsa1024", "sha1-signed"):
        spec = LeafSpec(key_type="rsa1024") if server == "rsa1024" else LeafSpec(hash_name="sha1")
        files = pki.issue(server, spec)
        cert, key, ca = files.chain_file, files.key_file, files.ca_file
    else:
        (cert, key), ca = certs.files["RSA"], certs.ca_file
    args = [a.format(dh1024=dh[1024], dh4096=dh[4096]) for a in SERVERS[server]]
    with s_server(cert, key, args) as port:
        simulated = clients(scan(port, ca))
        real = {name: run(port, ca, tmp_path) for name, (_, run) in REAL_CLIENTS.items() if installed(name)}
    assert len(real) >= 2, "fewer than two real clients installed to compare with"
    for name, (ok, version, suite) in real.items():
        sim = simulated[name]
        assert (sim["failure"] is None) == ok, (server, name, sim, (ok, version, suite))
        if ok:
            assert sim["negotiated"]["version"] == version, (server, name, sim, version)
            assert sim["negotiated"]["cipher_suite"] == suite, (server, name, sim, suite)


@needs_openssl
def test_java8_cannot_use_a_dh_group_above_2048_bits(certs: Certs, dh: dict[int, Path]) -> None:
    """SSL Labs measured Java 8u161's largest DH group as 2048 bits: a DHE-only server with
    ffdhe4096 answers its hello, and the client fails one step later."""
    (cert, key), ca = certs.files["RSA"], certs.ca_file
    args = ["-tls1_2", "-cipher", "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-SHA", "-dhparam", str(dh[4096])]
    with s_server(cert, key, args) as port:
        sim = clients(scan(port, ca))
    assert sim["java8"]["negotiated"] is None
    assert "4096 bits" in sim["java8"]["failure"] and "2048" in sim["java8"]["failure"]
    assert sim["java8"]["server_chose"]["group"] == "DH 4096"
    assert sim["java11"]["failure"] is None  # no such ceiling measured for Java 11


@needs_openssl
def test_old_clients_fail_on_a_tls13_only_server_for_the_version(certs: Certs) -> None:
    (cert, key), ca = certs.files["RSA"], certs.ca_file
    with s_server(cert, key, ["-tls1_3"]) as port:
        report = scan(port, ca)
    sim = clients(report)
    assert len(sim) >= 15
    for old in ("ie8-xp", "ie11-win7", "java8", "android7"):
        assert sim[old]["negotiated"] is None
        assert sim[old]["failure"].startswith("no protocol version in common"), sim[old]
        assert "the server accepts TLSv1.3" in sim[old]["failure"]
    for new in ("chrome101", "firefox100", "java17", "python-openssl3", "android13", "android15", "java21",
                "java8u442", "chrome137", "firefox137", "edge133", "safari26", "openssl35"):  # fmt: skip
        assert sim[new]["negotiated"]["version"] == "TLSv1.3", sim[new]
    # a post-quantum client whose ML-KEM share this OpenSSL 3.0 server cannot use keys on its x25519 one
    assert sim["android15"]["negotiated"]["group"] == "x25519"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tlsdoctor", *args], capture_output=True, text=True, timeout=60
    )


@needs_openssl
def test_diagnose_client_judges_by_that_clients_hello(certs: Certs, dh: dict[int, Path]) -> None:
    """`diagnose --client`: healthy for our own client, a fault for the named one, with the cause."""
    (cert, key), ca = certs.files["RSA"], certs.ca_file
    common = ["--connect-to", "127.0.0.1", "--ca-file", str(ca), "--json", "--timeout", "3"]
    with s_server(
        cert, key, ["-tls1_2", "-cipher", "DHE-RSA-AES128-GCM-SHA256", "-dhparam", str(dh[4096])]
    ) as port:
        plain = cli("diagnose", f"localhost:{port}", *common)
        java8 = cli("diagnose", f"localhost:{port}", *common, "--client", "java8")
        java11 = cli("diagnose", f"localhost:{port}", *common, "--client", "java11")
    assert plain.returncode == 0, plain.stdout + plain.stderr
    assert java8.returncode == 1, java8.stdout + java8.stderr
    report = json.loads(java8.stdout)
    assert report["causes"][0]["id"] == "client-tls-policy"
    assert any(e["check"] == "client.profile" for e in report["causes"][0]["evidence"])
    assert "4096" in report["causes"][0]["summary"]
    assert java11.returncode == 0, java11.stdout
    with s_server(cert, key, ["-tls1_3"]) as port:
        ie = cli("diagnose", f"localhost:{port}", *common, "--client", "ie11-win7")
    assert ie.returncode == 1
    assert json.loads(ie.stdout)["causes"][0]["id"] == "protocol-mismatch"


def test_an_unknown_client_is_a_usage_error() -> None:
    done = cli("diagnose", "localhost:1", "--client", "jav8")
    assert done.returncode == 2
    assert "unknown --client 'jav8'" in done.stderr and "java8" in done.stderr
    assert "Traceback" not in done.stderr


@needs_nginx
@needs_openssl
def test_nginx_with_a_1024_bit_dh_group_loses_the_openssl3_clients(
    certs: Certs, dh: dict[int, Path], tmp_path: Path
) -> None:
    """Debian's nginx, TLS 1.2 with DHE only and a 1024-bit group: the real curl and Python refuse it
    (OpenSSL 3 at security level 2), Java 25 takes it; the simulation says the same."""
    (cert, key), ca = certs.files["RSA"], certs.ca_file
    tls = (
        f"ssl_protocols TLSv1.2; ssl_ciphers 'DHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0'; ssl_dhparam {dh[1024]};"
    )
    with running(tmp_path, Site(cert=cert, key=key, tls=tls)) as port:
        sim = clients(scan(port, ca))
        real = {name: run(port, ca, tmp_path) for name, (_, run) in REAL_CLIENTS.items() if installed(name)}
    for name, (ok, _version, _suite) in real.items():
        assert (sim[name]["failure"] is None) == ok, (name, sim[name], ok)
    assert "1024 bits" in sim["python-openssl3"]["failure"]


@needs_openssl
def test_diagnose_client_judges_the_chain_by_that_clients_trust_store(certs: Certs) -> None:
    """Our client trusts the test CA (SSL_CERT_FILE names it, as a system store would); Java's cacerts
    does not have it, so Java would fail with an unknown CA: client-ca-store, naming Java's store.
    Python's client uses the same store as ours and connects."""
    if not any(Path(p).exists() for p in ("/usr/lib/jvm", "/etc/ssl/certs/java/cacerts")):
        pytest.skip("no Java cacerts on this machine")
    (cert, key), ca = certs.files["RSA"], certs.ca_file
    env = {**os.environ, "SSL_CERT_FILE": str(ca)}
    common = ["--connect-to", "127.0.0.1", "--json", "--timeout", "3", "--no-proxy"]
    with s_server(cert, key, []) as port:
        argv = [sys.executable, "-m", "tlsdoctor", "diagnose", f"localhost:{port}", *common, "--client"]
        java = subprocess.run([*argv, "java25"], capture_output=True, text=True, timeout=60, env=env)
        python = subprocess.run(
            [*argv, "python-openssl3"], capture_output=True, text=True, timeout=60, env=env
        )
    assert python.returncode == 0, python.stdout + python.stderr
    assert java.returncode == 1, java.stdout + java.stderr
    top = json.loads(java.stdout)["causes"][0]
    assert top["id"] == "client-ca-store"
    assert "Java's cacerts" in top["summary"]


@needs_openssl
def test_diagnose_client_judges_a_platform_client_by_its_platforms_root_list(certs: Certs) -> None:
    """Safari is judged by Apple's root list (sslyze's data), not this machine's store: the test CA
    that SSL_CERT_FILE makes ours trust is not in it, so Safari would fail (client-ca-store, naming
    the Apple list and its day); Python, on this machine's store, connects."""
    if importlib.util.find_spec("sslyze") is None:
        pytest.skip("sslyze (the trust-stores extra) is not installed: no Apple root list")
    (cert, key), ca = certs.files["RSA"], certs.ca_file
    env = {**os.environ, "SSL_CERT_FILE": str(ca)}
    common = ["--connect-to", "127.0.0.1", "--json", "--timeout", "3", "--no-proxy"]
    with s_server(cert, key, []) as port:
        argv = [sys.executable, "-m", "tlsdoctor", "diagnose", f"localhost:{port}", *common, "--client"]
        safari = subprocess.run([*argv, "safari26"], capture_output=True, text=True, timeout=60, env=env)
        python = subprocess.run(
            [*argv, "python-openssl3"], capture_output=True, text=True, timeout=60, env=env
        )
    assert python.returncode == 0, python.stdout + python.stderr
    assert safari.returncode == 1, safari.stdout + safari.stderr
    top = json.loads(safari.stdout)["causes"][0]
    assert top["id"] == "client-ca-store", top
    assert "the apple root list (sslyze " in top["summary"] and "list of 20" in top["summary"], top["summary"]
