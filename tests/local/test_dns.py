"""The DNS checks against real servers on 127.0.0.1: the in-process one in every mode, and dnsmasq.

The system resolver is never asked about a test name (that would leave the machine):
``SystemResolverCheck`` takes an injected lookup, except for ``localhost``, which
/etc/hosts answers.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import dns.message
import dns.query
import dns.rcode
import pytest

from tlsdoctor.checks.dns import (
    CONSISTENCY_ID,
    SYSTEM_ID,
    ServerCheck,
    SystemResolverCheck,
    addresses_from,
    consistency,
    dns_checks,
    resolve,
)
from tlsdoctor.context import Context, Options
from tlsdoctor.inference.engine import evaluate
from tlsdoctor.inference.facts import Facts
from tlsdoctor.inference.rules.dns import DNS_FAILURE, DNS_INCONSISTENT, DNS_NXDOMAIN
from tlsdoctor.model import CheckResult, Status
from tlsdoctor.net.resolvconf import parse_server
from tlsdoctor.observations import AddressNote, DnsLookup, DnsOutcome, ResolverDisagreement
from tlsdoctor.runner import run
from tlsdoctor.testing.dnsserver import DnsServer, Mode

NAME = "www.lab.test"
PUBLIC = ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]
RECORDS = {
    NAME: PUBLIC,
    "v4.lab.test": ["93.184.215.15"],
    "many.lab.test": [f"93.184.215.{i}" for i in range(20, 30)],
}
TIMEOUT = 0.6
DNS_RULES = (DNS_NXDOMAIN, DNS_FAILURE, DNS_INCONSISTENT)


@pytest.fixture
def servers() -> Iterator[Callable[..., DnsServer]]:
    """A factory of started in-process servers, all stopped at teardown."""
    started: list[DnsServer] = []

    def make(mode: Mode = Mode.NORMAL, records: dict[str, list[str]] | None = None, **kw: bool) -> DnsServer:
        server = DnsServer(RECORDS if records is None else records, mode, **kw).start()
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


def ctx(host: str = NAME, *resolvers: str, **options: object) -> Context:
    return Context(options=Options(host=host, resolvers=resolvers, timeout=TIMEOUT, **options))  # type: ignore[arg-type]


def ask(server: DnsServer, host: str = NAME) -> CheckResult:
    return asyncio.run(ServerCheck("127.0.0.1", server.port).run(ctx(host, server.address)))


def lookups(result: CheckResult) -> dict[str, DnsLookup]:
    return {o.qtype: o for o in result.observations if isinstance(o, DnsLookup)}


def fake_lookup(*found: str, error: int | None = None) -> Callable[[str], list[str]]:
    def lookup(host: str) -> list[str]:
        if error is not None:
            raise socket.gaierror(error, "injected")
        return list(found)

    return lookup


def test_hanging_system_resolver_costs_no_timeout_with_resolver_option(
    servers: Callable[..., DnsServer],
) -> None:
    """--resolver given and the system's resolver hangs (often why one names another): the
    comparison is abandoned soon after the named server answered, not after a whole timeout."""
    release = threading.Event()

    def hanging(host: str) -> list[str]:
        release.wait(30)
        return ["10.0.0.1"]

    server = servers()
    options = Options(host=NAME, resolvers=(server.address,), timeout=5.0)
    start = time.monotonic()
    try:
        results = asyncio.run(resolve(Context(options=options), lookup=hanging))
    finally:
        release.set()
    elapsed = time.monotonic() - start
    assert elapsed < 2.0, elapsed  # the named server answers in milliseconds; grace 0.5 s
    system = next(r for r in results if r.id == SYSTEM_ID)
    assert system.status is Status.SKIP and "not waited for" in system.summary
    assert addresses_from(results) == PUBLIC


# -- one server, every mode ------------------------------------------------------------------------
def test_normal_answer(servers: Callable[..., DnsServer]) -> None:
    result = ask(servers())
    assert result.status is Status.PASS and result.id.startswith("dns.server.127.0.0.1:")
    got = lookups(result)
    assert got["A"].addresses == (PUBLIC[0],) and got["AAAA"].addresses == (PUBLIC[1],)
    assert got["A"].rcode == "NOERROR" and got["A"].transport == "udp"
    assert not [o for o in result.observations if isinstance(o, AddressNote)]


def test_nodata_is_told_from_nxdomain(servers: Callable[..., DnsServer]) -> None:
    server = servers()
    v4 = lookups(ask(server, "v4.lab.test"))
    assert v4["A"].outcome is DnsOutcome.ANSWER and v4["AAAA"].outcome is DnsOutcome.NO_ADDRESS
    assert "NODATA" in v4["AAAA"].detail
    missing = ask(server, "missing.lab.test")
    assert missing.status is Status.FAIL
    assert {lk.outcome for lk in lookups(missing).values()} == {DnsOutcome.NXDOMAIN}


@pytest.mark.parametrize(
    ("mode", "outcome"),
    [
        (Mode.NXDOMAIN, DnsOutcome.NXDOMAIN),
        (Mode.SERVFAIL, DnsOutcome.SERVFAIL),
        (Mode.REFUSED, DnsOutcome.REFUSED),
    ],
)
def test_error_rcodes(servers: Callable[..., DnsServer], mode: Mode, outcome: DnsOutcome) -> None:
    result = ask(servers(mode))
    assert result.status is Status.FAIL
    assert {lk.outcome for lk in lookups(result).values()} == {outcome}


def test_silent_server_times_out_within_the_step_timeout(servers: Callable[..., DnsServer]) -> None:
    server = servers(Mode.SILENT)
    start = time.monotonic()
    result = ask(server)
    elapsed = time.monotonic() - start
    assert result.status is Status.FAIL
    assert {lk.outcome for lk in lookups(result).values()} == {DnsOutcome.TIMEOUT}
    assert TIMEOUT * 0.9 <= elapsed < TIMEOUT + 0.5  # A and AAAA concurrently, not one after the other
    assert sum(1 for t, _, _ in server.queries if t == "udp") == 4  # each query resent once


def test_sinkhole_mode_is_noted_and_warned(servers: Callable[..., DnsServer]) -> None:
    result = ask(servers(Mode.SINKHOLE))
    assert result.status is Status.WARN and "sinkhole" in result.summary
    notes = [o for o in result.observations if isinstance(o, AddressNote)]
    assert {(n.address, n.category, n.sinkhole) for n in notes} == {
        ("0.0.0.0", "unspecified", True),
        ("::", "unspecified", True),
    }


def test_truncated_udp_falls_back_to_tcp(servers: Callable[..., DnsServer]) -> None:
    server = servers(truncate_udp=True)
    result = ask(server)
    assert result.status is Status.PASS
    assert {lk.transport for lk in lookups(result).values()} == {"tcp"}
    assert {t for t, _, _ in server.queries} == {"udp", "tcp"}


class BrokenAaaa(DnsServer):
    """Answers A, SERVFAILs AAAA: the half-broken zone that costs dual-stack clients a timeout."""

    def handle(self, query: dns.message.Message) -> dns.message.Message | None:
        response = super().handle(query)
        if response is not None and query.question[0].rdtype == dns.rdatatype.AAAA:
            response.answer.clear()
            response.set_rcode(dns.rcode.SERVFAIL)
        return response


def test_handle_override_half_broken(servers: Callable[..., DnsServer]) -> None:
    server = BrokenAaaa(RECORDS).start()
    try:
        result = ask(server)
    finally:
        server.stop()
    assert result.status is Status.WARN and "AAAA servfail" in result.summary
    match = DNS_FAILURE.match(Facts([result]))
    assert match is not None and match.confidence < 0.5


def test_nothing_listening_is_an_error_or_timeout_not_a_crash() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = asyncio.run(ServerCheck("127.0.0.1", port).run(ctx(NAME, f"127.0.0.1:{port}")))
    assert result.status is Status.FAIL
    assert {lk.outcome for lk in lookups(result).values()} <= {DnsOutcome.ERROR, DnsOutcome.TIMEOUT}


def test_server_stops_quickly_and_releases_its_port() -> None:
    server = DnsServer(RECORDS).start()
    port = server.port
    start = time.monotonic()
    server.stop()
    assert time.monotonic() - start < 1.0
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as again:
        again.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        again.bind(("127.0.0.1", port))


# -- the system resolver ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        (socket.EAI_NONAME, DnsOutcome.NXDOMAIN),
        (socket.EAI_AGAIN, DnsOutcome.TIMEOUT),
        (socket.EAI_NODATA, DnsOutcome.NO_ADDRESS),
        (socket.EAI_FAIL, DnsOutcome.SERVFAIL),
    ],
)
def test_system_gai_errors(error: int, outcome: DnsOutcome) -> None:
    result = asyncio.run(SystemResolverCheck(fake_lookup(error=error)).run(ctx()))
    (lookup,) = lookups(result).values()
    assert result.status is Status.FAIL and lookup.outcome is outcome and lookup.transport == "getaddrinfo"
    assert "getaddrinfo" in lookup.detail


def test_system_hang_is_bounded() -> None:
    release = threading.Event()

    def hang(host: str) -> list[str]:
        release.wait(5)
        return []

    try:
        start = time.monotonic()
        result = asyncio.run(SystemResolverCheck(hang).run(ctx()))
        assert time.monotonic() - start < TIMEOUT + 0.5
    finally:
        release.set()
    assert lookups(result)["ANY"].outcome is DnsOutcome.TIMEOUT


def test_system_loopback_for_a_public_name_is_a_sinkhole() -> None:
    result = asyncio.run(SystemResolverCheck(fake_lookup("127.0.0.1")).run(ctx("ads.example.com")))
    assert result.status is Status.WARN
    assert any(isinstance(o, AddressNote) and o.sinkhole for o in result.observations)


def test_system_real_localhost() -> None:
    hosts = Path("/etc/hosts").read_text() if Path("/etc/hosts").exists() else ""
    if "localhost" not in hosts:
        pytest.skip("/etc/hosts has no localhost entry: the lookup would leave the machine")
    result = asyncio.run(SystemResolverCheck().run(ctx("localhost")))
    assert result.status is Status.PASS
    assert not any(isinstance(o, AddressNote) and o.sinkhole for o in result.observations)


# -- building, skipping, comparing, choosing -------------------------------------------------------
def test_dns_checks_and_skips(tmp_path: Path) -> None:
    conf = tmp_path / "resolv.conf"
    conf.write_text("".join(f"nameserver 127.0.0.{i}\n" for i in range(1, 6)))
    ids = [c.id for c in dns_checks(ctx(), resolv_conf=conf)]
    assert ids == [SYSTEM_ID, "dns.server.127.0.0.1", "dns.server.127.0.0.2", "dns.server.127.0.0.3"]
    explicit = [c.id for c in dns_checks(ctx(NAME, "127.0.0.9:5353", "::1"), resolv_conf=conf)]
    assert explicit == [SYSTEM_ID, "dns.server.127.0.0.9:5353", "dns.server.::1"]
    assert dns_checks(ctx(connect_to="127.0.0.1")) == []
    assert dns_checks(ctx("127.0.0.1", host_is_ip=True)) == []
    (skip,) = asyncio.run(resolve(ctx(connect_to="127.0.0.1")))
    assert skip.id == "dns" and skip.status is Status.SKIP and "--connect-to" in skip.summary
    (skip,) = asyncio.run(resolve(ctx("::1", host_is_ip=True)))
    assert skip.status is Status.SKIP and "IP address" in skip.summary
    assert parse_server("[::1]:5300") == ("::1", 5300) and parse_server("10.0.0.1") == ("10.0.0.1", 53)


async def _ask_all(*servers: DnsServer, host: str = NAME) -> list[CheckResult]:
    context = ctx(host, *(s.address for s in servers))
    return await run([ServerCheck("127.0.0.1", s.port) for s in servers], context)


def test_consistency_sinkhole_against_public(servers: Callable[..., DnsServer]) -> None:
    results = asyncio.run(_ask_all(servers(), servers(Mode.SINKHOLE)))
    compared = consistency(results)
    assert compared is not None and compared.status is Status.WARN
    found = [o for o in compared.observations if isinstance(o, ResolverDisagreement)]
    assert found and all(d.suspicious for d in found)


def test_consistency_nxdomain_against_answer(servers: Callable[..., DnsServer]) -> None:
    compared = consistency(asyncio.run(_ask_all(servers(), servers(Mode.NXDOMAIN))))
    assert compared is not None
    (disagreement,) = [o for o in compared.observations if isinstance(o, ResolverDisagreement)]
    assert disagreement.suspicious and "does not exist" in disagreement.reason


def test_consistency_geo_dns_is_not_suspicious(servers: Callable[..., DnsServer]) -> None:
    other = {NAME: ["151.101.1.1", "2a04:4e42::1"]}
    compared = consistency(asyncio.run(_ask_all(servers(), servers(records=other))))
    assert compared is not None and compared.status is Status.WARN
    assert not any(d.suspicious for d in compared.observations if isinstance(d, ResolverDisagreement))


def test_consistency_round_robin_subsets_agree(servers: Callable[..., DnsServer]) -> None:
    subset = {NAME: [PUBLIC[0], "93.184.215.99"]}
    compared = consistency(asyncio.run(_ask_all(servers(), servers(records=subset))))
    assert compared is not None and compared.status is Status.PASS and compared.id == CONSISTENCY_ID
    assert consistency(asyncio.run(_ask_all(servers()))) is None  # one resolver: nothing to compare


def test_consistency_local_names_follow_the_hosts_file(servers: Callable[..., DnsServer]) -> None:
    results = asyncio.run(
        resolve(ctx("localhost", servers(Mode.NXDOMAIN).address), lookup=fake_lookup("127.0.0.1", "::1"))
    )
    compared = results[-1]
    assert compared.id == CONSISTENCY_ID and compared.observations
    assert not any(d.suspicious for d in compared.observations if isinstance(d, ResolverDisagreement))
    assert addresses_from(results) == ["127.0.0.1", "::1"]
    matches = [rule.match(Facts(results)) for rule in DNS_RULES]
    assert all(m is None or m.confidence < 0.5 for m in matches)


def test_resolve_end_to_end_system_sinkhole(servers: Callable[..., DnsServer], tmp_path: Path) -> None:
    """/etc/hosts blocks the name (0.0.0.0) while resolv.conf's nameserver answers: no address to
    try, a fault. (The nameserver is asked on port 53 only, so this one answers on the side.)"""
    good, silent = servers(), servers(Mode.SILENT)
    start = time.monotonic()
    results = asyncio.run(resolve(ctx(NAME, good.address, silent.address), lookup=fake_lookup("0.0.0.0")))
    assert time.monotonic() - start < 2 * TIMEOUT + 0.5  # concurrent: about one timeout, not the sum
    assert results[0].id == SYSTEM_ID and results[-1].id == CONSISTENCY_ID
    system_only = asyncio.run(
        resolve(ctx(NAME), resolv_conf=tmp_path / "none.conf", lookup=fake_lookup("0.0.0.0"))
    )
    # Without --resolver, the system's answer is the client's: 0.0.0.0 is not connectable.
    assert addresses_from(system_only) == []
    unnamed = [_unnamed(r) for r in results]
    assert addresses_from(unnamed) == []
    causes = evaluate(Facts(unnamed), DNS_RULES)
    assert causes[0].id == "dns-inconsistent" and causes[0].confidence >= 0.9
    # With --resolver, the named server's answer is used and the system's sinkhole is a note.
    assert addresses_from(results) == PUBLIC
    assert not [c for c in evaluate(Facts(results), DNS_RULES) if c.confidence >= 0.5]


def _unnamed(result: CheckResult) -> CheckResult:
    """The same answers as if the servers were resolv.conf's nameservers, not --resolver's."""
    observations = tuple(
        dataclasses.replace(o, named=False) if isinstance(o, DnsLookup) else o for o in result.observations
    )
    return dataclasses.replace(result, observations=observations)


def test_resolve_end_to_end_nxdomain(servers: Callable[..., DnsServer]) -> None:
    results = asyncio.run(
        resolve(ctx("gone.lab.test", servers().address), lookup=fake_lookup(error=socket.EAI_NONAME))
    )
    causes = evaluate(Facts(results), DNS_RULES)
    assert causes[0].id == "dns-nxdomain" and causes[0].confidence == 0.95


def test_addresses_from_prefers_the_system_and_bounds(servers: Callable[..., DnsServer]) -> None:
    server = servers()
    system = fake_lookup("10.0.0.1", "10.0.0.1", "fd00::1", *[f"10.0.0.{i}" for i in range(2, 9)])
    results = [_unnamed(r) for r in asyncio.run(resolve(ctx("many.lab.test", server.address), lookup=system))]
    assert addresses_from(results) == ["10.0.0.1", "fd00::1", "10.0.0.2", "10.0.0.3", "10.0.0.4"]
    fallback = asyncio.run(
        resolve(ctx("many.lab.test", server.address), lookup=fake_lookup(error=socket.EAI_AGAIN))
    )
    picked = addresses_from([_unnamed(r) for r in fallback])  # an RRset has no order: any 4 of 10
    assert len(picked) == 4 and set(picked) <= set(RECORDS["many.lab.test"])


def test_addresses_from_the_named_resolver_only(servers: Callable[..., DnsServer]) -> None:
    """--resolver replaces the system's resolver: its answers are used (bounded), never the
    system's, even when the named server fails and the system would answer."""
    server = servers()
    system = fake_lookup("10.0.0.1", "fd00::1")
    results = asyncio.run(resolve(ctx("many.lab.test", server.address), lookup=system))
    picked = addresses_from(results)
    assert len(picked) == 4 and set(picked) <= set(RECORDS["many.lab.test"])
    failing = asyncio.run(resolve(ctx("many.lab.test", servers(Mode.SERVFAIL).address), lookup=system))
    assert addresses_from(failing) == []
    causes = evaluate(Facts(failing), DNS_RULES)
    assert causes[0].id == "dns-failure" and causes[0].confidence >= 0.8, causes


# -- a real DNS server: dnsmasq --------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def dnsmasq() -> Iterator[str]:
    """dnsmasq on a free loopback port, authoritative for a few names; killed by PID afterwards."""
    binary = shutil.which("dnsmasq") or next(
        (p for p in ("/usr/sbin/dnsmasq", "/sbin/dnsmasq") if os.access(p, os.X_OK)), None
    )
    if binary is None:
        pytest.skip("dnsmasq is not installed (apt-get install dnsmasq; listed in .ci/dns-packages.txt)")
    for _ in range(5):
        port = _free_port()
        proc = subprocess.Popen(
            [
                binary,
                "--no-daemon",
                f"--port={port}",
                "--listen-address=127.0.0.1",
                "--bind-interfaces",
                "--no-resolv",
                "--no-hosts",
                "--conf-file=/dev/null",
                "--pid-file=",
                f"--host-record={NAME},{PUBLIC[0]},{PUBLIC[1]}",
                "--host-record=v4.lab.test,93.184.215.15",
                "--address=/blocked.lab.test/#",
                "--address=/gone.lab.test/",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            if _wait_ready(proc, port):
                yield f"127.0.0.1:{port}"
                return
        finally:
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
    pytest.fail("dnsmasq did not start on any of 5 free ports")


def _wait_ready(proc: subprocess.Popen[bytes], port: int) -> bool:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            dns.query.udp(dns.message.make_query(NAME, "A"), "127.0.0.1", port=port, timeout=0.2)
            return True
        except (dns.exception.Timeout, OSError):
            time.sleep(0.05)
    return False


def test_against_dnsmasq(dnsmasq: str) -> None:
    host, port = parse_server(dnsmasq)

    def check(name: str) -> CheckResult:
        return asyncio.run(ServerCheck(host, port).run(ctx(name, dnsmasq)))

    ok = check(NAME)
    assert ok.status is Status.PASS
    assert {a for lk in lookups(ok).values() for a in lk.addresses} == set(PUBLIC)
    gone = check("gone.lab.test")
    assert {lk.outcome for lk in lookups(gone).values()} == {DnsOutcome.NXDOMAIN}
    blocked = check("x.blocked.lab.test")
    assert blocked.status is Status.WARN
    sinks = {n.address for n in blocked.observations if isinstance(n, AddressNote) and n.sinkhole}
    assert sinks == {"0.0.0.0", "::"}
    # No upstream configured: dnsmasq refuses what it does not know, and AAAA for a v4-only record.
    unknown = check("elsewhere.example")
    assert {lk.outcome for lk in lookups(unknown).values()} == {DnsOutcome.REFUSED}
    v4 = check("v4.lab.test")
    assert v4.status is Status.WARN and lookups(v4)["AAAA"].outcome is DnsOutcome.REFUSED
