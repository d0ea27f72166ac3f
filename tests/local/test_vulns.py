"""The vulnerability probes of `tlsdoctor scan` on the wire: each fires against a crafted server
that answers as the vulnerable servers of its write-up did (tlsdoctor.testing.vulnerable), stays
quiet against the same server without the flaw (the near miss), and finds nothing on the real,
patched nginx and openssl s_server."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from scan_servers import NGINX, OPENSSL, Certs, nginx, s_server

from tlsdoctor.commands.scan import run_scan
from tlsdoctor.context import Context, Options
from tlsdoctor.report.envelope import envelope
from tlsdoctor.scan.vulns.base import IDS
from tlsdoctor.scan.vulns.legacy_offers import common_primes
from tlsdoctor.testing import Pki
from tlsdoctor.testing.vulnerable import Flaws, VulnerableServer
from tlsdoctor.wire.codepoints import ProtocolVersion as V

NGINX_1024 = next(p for p, name in common_primes().items() if name.startswith("nginx/1024"))

# One flaw each, after the write-ups (see testing/vulnerable.py); the rest of the server is sound.
FLAWED: dict[str, Flaws] = {
    "heartbleed": Flaws(heartbleed=True),
    "ccs-injection": Flaws(ccs=True),
    "robot": Flaws(robot=True),
    "ticketbleed": Flaws(ticketbleed=True),
    "renegotiation-insecure": Flaws(insecure_renegotiation=True),
    "renegotiation-client-initiated": Flaws(renegotiation=True),
    "crime-compression": Flaws(compression=True),
    "poodle-ssl3": Flaws(versions=(V.SSL3, V.TLS1_2), suites=(0xC02F, 0x002F)),
    "tls-poodle": Flaws(suites=(0xC02F, 0xC013), tls_poodle=True),  # reported as poodle-ssl3
    "sweet32": Flaws(suites=(0xC02F, 0x000A)),
    "freak": Flaws(versions=(V.TLS1_0, V.TLS1_2), suites=(0xC02F, 0x0003)),
    "logjam": Flaws(versions=(V.TLS1_0, V.TLS1_2), suites=(0xC02F, 0x0014)),
    "drown": Flaws(sslv2=True),
    "beast": Flaws(versions=(V.TLS1_0, V.TLS1_2), suites=(0xC02F, 0x002F)),
    "rc4": Flaws(suites=(0xC02F, 0x0005)),
    "downgrade-scsv": Flaws(versions=(V.TLS1_1, V.TLS1_2), suites=(0xC02F, 0xC013), ignore_fallback=True),
}


def scan(port: int, ca_file: Path | None) -> dict[str, Any]:
    options = Options(
        host="127.0.0.1", port=port, servername="localhost", host_is_ip=True, timeout=3.0, ca_file=ca_file
    )
    return envelope(asyncio.run(run_scan(Context(options=options))))


def verdicts(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = report["scan"]["vulnerabilities"]
    assert [v["id"] for v in found] == list(IDS)  # every contract id, once, in order
    for v in found:
        assert v["evidence"] and v["severity"] in ("critical", "high", "medium", "low", "info")
    return {v["id"]: v for v in found}


def crafted(flaws: Flaws) -> dict[str, dict[str, Any]]:
    with VulnerableServer(flaws) as server:
        report = scan(server.port, server.ca_file)
        assert server.unexpected == []
    return verdicts(report)


@pytest.mark.parametrize("flaw", sorted(FLAWED))
def test_each_probe_fires_on_its_flaw(flaw: str) -> None:
    vid = "poodle-ssl3" if flaw == "tls-poodle" else flaw
    found = crafted(FLAWED[flaw])
    assert found[vid]["vulnerable"] is True, found[vid]
    assert found[vid]["severity"] != "info"
    if flaw == "tls-poodle":
        assert "CVE-2014-8730" in found[vid]["evidence"] and "SSL 3.0 is off" in found[vid]["evidence"]


def test_tls_poodle_near_miss_cbc_padding_checked() -> None:
    found = crafted(Flaws(suites=(0xC02F, 0xC013)))["poodle-ssl3"]
    assert found["vulnerable"] is False and "bad_record_mac" in found["evidence"]


def test_the_same_server_without_flaws_is_clean() -> None:
    found = crafted(Flaws())
    assert {vid: v["vulnerable"] for vid, v in found.items()} == dict.fromkeys(IDS, False)


def test_logjam_names_a_common_1024_bit_prime() -> None:
    found = crafted(Flaws(suites=(0x009E,), dh_prime=NGINX_1024))["logjam"]
    assert found["vulnerable"] is True and "nginx/1024" in found["evidence"]


def test_logjam_passes_a_2048_bit_rfc7919_group() -> None:
    found = crafted(Flaws(suites=(0x009E,)))["logjam"]  # the server's default: ffdhe2048
    assert found["vulnerable"] is False and "2048-bit" in found["evidence"]


def test_lucky13_is_undecided_with_cbc_and_clean_without() -> None:
    cbc = crafted(Flaws(suites=(0xC02F, 0x002F)))["lucky13"]
    assert cbc["vulnerable"] is None and "TLS_RSA_WITH_AES_128_CBC_SHA" in cbc["evidence"]
    assert crafted(Flaws(suites=(0xC02F,)))["lucky13"]["vulnerable"] is False


def test_robot_reports_the_five_answers() -> None:
    found = crafted(Flaws(robot=True))["robot"]
    assert "decrypt_error" in found["evidence"] and "bad_record_mac" in found["evidence"]


@pytest.fixture(scope="module")
def certs() -> Iterator[Certs]:
    with Pki() as pki:
        yield Certs(pki)


def _no_findings(found: dict[str, dict[str, Any]], *, cbc: bool) -> None:
    assert [vid for vid, v in found.items() if v["vulnerable"] is True] == []
    undecided = [vid for vid, v in found.items() if v["vulnerable"] is None]
    assert undecided == (["lucky13"] if cbc else [])


@pytest.mark.skipif(NGINX is None, reason="nginx not installed")
def test_patched_nginx_modern_is_clean_on_every_probe(certs: Certs, tmp_path: Path) -> None:
    with nginx(certs, tmp_path, protocols="TLSv1.2 TLSv1.3", ciphers="ECDHE+AESGCM:ECDHE+CHACHA20",
               curves="X25519:prime256v1", prefer=False) as port:  # fmt: skip
        found = verdicts(scan(port, certs.ca_file))
    _no_findings(found, cbc=False)
    assert "exactly" in found["ticketbleed"]["evidence"]  # a real ticket, really resumed
    assert "no_renegotiation" in found["renegotiation-client-initiated"]["evidence"]


@pytest.mark.skipif(NGINX is None, reason="nginx not installed")
def test_patched_nginx_with_rsa_and_dhe_suites_has_no_findings(certs: Certs, tmp_path: Path) -> None:
    with nginx(certs, tmp_path, protocols="TLSv1.2 TLSv1.3", ciphers="HIGH:!aNULL:!MD5", curves="auto",
               prefer=True) as port:  # fmt: skip
        found = verdicts(scan(port, certs.ca_file))
    _no_findings(found, cbc=True)
    assert "same answer" in found["robot"]["evidence"]  # RSA key transport was on: five real queries
    assert "bad_record_mac" in found["poodle-ssl3"]["evidence"]  # CBC on: its padding really checked


@pytest.mark.skipif(OPENSSL is None, reason="openssl not installed")
def test_patched_openssl_s_server_has_no_findings(certs: Certs) -> None:
    with s_server(certs, ["-www", "-cipher", "DEFAULT:DHE-RSA-AES128-GCM-SHA256"]) as port:
        found = verdicts(scan(port, certs.ca_file))
    _no_findings(found, cbc=True)
    assert "same answer" in found["robot"]["evidence"]
    assert "2048-bit" in found["logjam"]["evidence"]


class HostileAfterFlight(VulnerableServer):
    """A sound first flight, then what a hostile peer does where only the vulnerability probes
    go: one byte every 0.2 s, or an endless stream of full-size records."""

    def __init__(self, mode: str) -> None:
        super().__init__(Flaws(suites=(0xC02F, 0xC013, 0x009C)))
        self.mode = mode

    def _converse(self, c: Any) -> None:
        deadline = time.monotonic() + 20
        record = b"\x17\x03\x03\x40\x00" + bytes(0x4000)
        while time.monotonic() < deadline and not self.stopping.is_set():
            if self.mode == "drip":
                c.sock.sendall(b"\x17")
                self.sleep(0.2)
            else:
                c.sock.sendall(record)


@pytest.mark.parametrize("mode", ["drip", "flood"])
def test_a_hostile_peer_after_the_flight_costs_one_timeout_and_proves_nothing(mode: str) -> None:
    with HostileAfterFlight(mode) as server:
        options = Options(host="127.0.0.1", port=server.port, servername="localhost", host_is_ip=True,
                          timeout=1.0, ca_file=server.ca_file)  # fmt: skip
        start = time.monotonic()
        report = envelope(asyncio.run(run_scan(Context(options=options))))
        elapsed = time.monotonic() - start
    found = verdicts(report)
    assert elapsed < 8, f"{elapsed:.1f} s"
    assert [vid for vid, v in found.items() if v["vulnerable"] is True] == []
    for vid in ("heartbleed", "ccs-injection", "renegotiation-client-initiated"):
        assert found[vid]["vulnerable"] is None, found[vid]
    assert "same answer" in found["robot"]["evidence"]  # five alike: whatever it is, no oracle
