"""``--resolver`` against real dnsmasq servers (issue 9 item 2), in a network namespace of its own.

The namespace's system resolver (/etc/netns/<ns>/resolv.conf, bind-mounted by ``ip netns exec``)
is one dnsmasq; the server named with ``--resolver`` is another, on another port, and answers
differently. The TLS server is ``openssl s_server`` with a certificate from the openssl command
line. Nothing here comes from tlsdoctor.testing except the namespace plumbing and, as dnsmasq's
upstream for the SERVFAIL case, the lab's SERVFAIL responder (dnsmasq cannot answer SERVFAIL by
itself; it relays the upstream's). Root only: elsewhere the module skips with the reason.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tlsdoctor.testing.lab.netns import Namespaces, netns_available, wait_for

pytestmark = pytest.mark.netns

ZONE = "dnsinput.test"
GOOD, WRONG = "198.18.7.1", "198.18.7.2"  # RFC 2544 benchmarking range, only inside the namespace
SYSTEM_DNS = "127.0.0.1"  # port 53: resolv.conf has no port
NAMED_PORT, DROP_PORT, SERVFAIL_PORT = 5353, 5354, 5399


@dataclass
class Bed:
    ns: Namespaces
    ca: Path

    def diagnose(self, name: str, *args: str, timeout: str = "3") -> tuple[int, dict[str, object], float]:
        argv = [sys.executable, "-m", "tlsdoctor", "diagnose", name, "--ca-file", str(self.ca)]
        argv += ["--json", "--timeout", timeout, *args]
        env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
        started = time.monotonic()
        proc = self.ns.run_in("dns", argv, timeout=90, env=env)
        elapsed = time.monotonic() - started
        assert b"Traceback" not in proc.stderr, proc.stderr.decode()
        return proc.returncode, json.loads(proc.stdout), elapsed


def _need(binary: str) -> None:
    if shutil.which(binary) is None:
        pytest.skip(f"{binary} is not installed (see .ci/dns-packages.txt)")


def _dnsmasq(ns: Namespaces, workdir: Path, tag: str, port: int, *rules: str) -> None:
    argv = [
        "dnsmasq",
        "--keep-in-foreground",
        "--conf-file=/dev/null",
        "--no-resolv",
        "--no-hosts",
        "--bind-interfaces",
        "--listen-address=127.0.0.1",
        f"--port={port}",
        f"--pid-file={workdir / f'{tag}.pid'}",
        f"--log-facility={workdir / f'{tag}.log'}",
        "--user=root",
        *rules,
    ]
    proc = ns.spawn_in("dns", argv)

    def answering() -> bool:
        probe = ns.run_in(
            "dns",
            ["dig", "+short", "+tries=1", "+time=1", "-p", str(port), "@127.0.0.1", f"probe.{ZONE}"],
            timeout=5,
        )
        return proc.poll() is None and probe.returncode == 0

    wait_for(answering, 10, f"dnsmasq {tag} on port {port}")


def _pki(workdir: Path) -> tuple[Path, Path]:
    """A CA and a leaf for *.ZONE made with the openssl command line, issued two days ago as a
    deployed certificate is (faketime, when installed). The leaf is a proper end-entity
    certificate: what is under test here is DNS, not the certificate checks."""
    aged = ["faketime", "-f", "-2d"] if shutil.which("faketime") else []

    def openssl(*args: str) -> None:
        subprocess.run([*aged, "openssl", *args], check=True, capture_output=True, timeout=30)

    ca, ca_key = workdir / "ca.pem", workdir / "ca.key"
    key, csr, cert = workdir / "svc.key", workdir / "svc.csr", workdir / "svc.pem"
    ext = workdir / "leaf.ext"
    ext.write_text(
        f"basicConstraints=critical,CA:FALSE\nsubjectAltName=DNS:*.{ZONE}\n"
        "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
        "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n"
    )
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    ca_ext = [
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]
    openssl("req", "-x509", *ec, *ca_ext, "-keyout", str(ca_key), "-out", str(ca), "-days", "5",
            "-subj", "/CN=dnsinput test CA")  # fmt: skip
    openssl("req", "-new", *ec, "-keyout", str(key), "-out", str(csr), "-subj", f"/CN=svc.{ZONE}")
    openssl("x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key), "-CAcreateserial",
            "-out", str(cert), "-days", "4", "-extfile", str(ext))  # fmt: skip
    return ca, cert


@pytest.fixture(scope="module")
def bed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bed]:
    ok, reason = netns_available()
    if not ok:
        pytest.skip(reason)
    for binary in ("dnsmasq", "openssl", "dig"):
        _need(binary)
    workdir = tmp_path_factory.mktemp("resolver")
    ca, cert = _pki(workdir)
    ns = Namespaces(["dns"])
    try:
        ns.create()
        name = ns.names["dns"]
        ns.ip(name, "addr", "add", f"{GOOD}/32", "dev", "lo")  # (this kernel has no dummy links)
        ns.ip(name, "addr", "add", f"{WRONG}/32", "dev", "lo")
        ns.set_resolver("dns", SYSTEM_DNS)
        serve = ["openssl", "s_server", "-accept", f"{GOOD}:443", "-www", "-quiet"]
        server = ns.spawn_in("dns", [*serve, "-cert", str(cert), "-key", str(workdir / "svc.key")])
        # The system's resolver: every test name resolves, some to the address where nothing listens.
        _dnsmasq(
            ns, workdir, "system", 53,
            f"--address=/agree.{ZONE}/{GOOD}", f"--address=/differ.{ZONE}/{WRONG}",
            f"--address=/servfail.{ZONE}/{GOOD}", f"--address=/refused.{ZONE}/{GOOD}",
            f"--address=/nx.{ZONE}/{GOOD}", f"--address=/sysnx.{ZONE}/", f"--address=/probe.{ZONE}/{GOOD}",
        )  # fmt: skip
        # The responder that makes the named dnsmasq relay a real SERVFAIL.
        ns.spawn_in("dns", [sys.executable, "-m", "tlsdoctor.testing.lab.dnsfail", "--listen",
                            f"127.0.0.1:{SERVFAIL_PORT}"])  # fmt: skip
        # The resolver the user names: it knows better, or fails.
        _dnsmasq(
            ns,
            workdir,
            "named",
            NAMED_PORT,
            f"--address=/agree.{ZONE}/{GOOD}",
            f"--address=/differ.{ZONE}/{GOOD}",
            f"--address=/sysnx.{ZONE}/{GOOD}",
            f"--address=/nx.{ZONE}/",
            f"--address=/probe.{ZONE}/{GOOD}",
            f"--server=/servfail.{ZONE}/127.0.0.1#{SERVFAIL_PORT}",
        )  # fmt: skip  refused.<zone>: no upstream for it, so dnsmasq answers REFUSED
        # A resolver port that takes queries and never answers (a UDP socket nobody reads).
        mute = "import socket, time\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
        mute += f"s.bind(('127.0.0.1', {DROP_PORT}))\ntime.sleep(3600)"
        ns.spawn_in("dns", [sys.executable, "-c", mute])

        def tls_up() -> bool:
            probe = ns.run_in("dns", ["openssl", "s_client", "-connect", f"{GOOD}:443", "-brief"],
                              timeout=5, input=b"")  # fmt: skip
            return server.poll() is None and probe.returncode == 0

        wait_for(tls_up, 10, "openssl s_server")
        yield Bed(ns=ns, ca=ca)
    finally:
        ns.close()


NAMED = ("--resolver", f"127.0.0.1:{NAMED_PORT}")
DROPPING = ("--resolver", f"127.0.0.1:{DROP_PORT}")

# (name, extra args, top cause, exit status)
CASES = [
    ("agree", NAMED, "healthy", 0),
    ("differ", NAMED, "healthy", 0),  # the system says WRONG (nothing listens): a note, not the diagnosis
    ("sysnx", NAMED, "healthy", 0),  # the system says NXDOMAIN: a note
    ("servfail", NAMED, "dns-failure", 1),  # the system's answer would work: not used
    ("refused", NAMED, "dns-failure", 1),
    ("differ", DROPPING, "dns-failure", 1),  # timeout
    ("nx", NAMED, "dns-nxdomain", 1),
]


@pytest.mark.parametrize("timeout", ["3", "5"])
@pytest.mark.parametrize(("label", "args", "top", "status"), CASES, ids=[f"{c[0]}-{c[2]}" for c in CASES])
def test_resolver_option(
    bed: Bed, label: str, args: tuple[str, ...], top: str, status: int, timeout: str
) -> None:
    code, report, elapsed = bed.diagnose(f"{label}.{ZONE}", *args, timeout=timeout)
    causes = report["causes"]
    assert isinstance(causes, list)
    assert causes, [
        (c["id"], c["status"], c["summary"]) for c in report["checks"] if c["status"] in ("fail", "error")
    ]  # type: ignore[union-attr]
    assert causes[0]["id"] == top, (causes[0], [c["id"] for c in causes])
    assert code == status
    addresses = report["target"]["addresses"]  # type: ignore[index]
    if top == "healthy":
        assert addresses == [GOOD]  # from the named resolver, whatever the system said
        assert not any(c["id"].startswith("dns-") for c in causes)
    else:
        assert addresses == []  # the system's (working) answer is never used instead
        assert causes[0]["confidence"] >= 0.8
    assert elapsed < 2.5 * float(timeout) + 5, elapsed
    # One line per case for the closing note's table (shown with pytest -s).
    print(f"\n{label} {' '.join(args)} --timeout {timeout}: {causes[0]['id']} {causes[0]['confidence']:.2f} "
          f"exit {code} {elapsed:.2f} s")  # fmt: skip


def test_disagreement_is_reported_as_a_note(bed: Bed) -> None:
    _, report, _ = bed.diagnose(f"differ.{ZONE}", *NAMED)
    checks = {c["id"]: c for c in report["checks"]}  # type: ignore[union-attr]
    consistency = checks["dns.consistency"]
    assert consistency["status"] == "warn"
    assert WRONG in json.dumps(consistency["data"]) and GOOD in json.dumps(consistency["data"])
    assert "--resolver" in consistency["summary"]
    assert checks["dns.system"]["status"] in ("pass", "warn")
