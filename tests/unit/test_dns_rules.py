"""The DNS rules on hand-made observations: a positive and a near miss for each."""

from __future__ import annotations

import dataclasses

from tlsdoctor.inference.engine import diagnose
from tlsdoctor.inference.facts import Facts
from tlsdoctor.inference.rules.dns import DNS_FAILURE, DNS_INCONSISTENT, DNS_NXDOMAIN, WORKING_CAP
from tlsdoctor.model import CheckResult, Status, Verdict
from tlsdoctor.observations import (
    AddressNote,
    ConnectOutcome,
    DnsLookup,
    DnsOutcome,
    HandshakeAttempt,
    HandshakeOutcome,
    Observation,
    ResolverDisagreement,
    TcpConnect,
)

NAME = "www.example.com"
SERVER = "192.0.2.53"
DNS_RULES = (DNS_NXDOMAIN, DNS_FAILURE, DNS_INCONSISTENT)


def lookup(resolver: str, qtype: str, outcome: DnsOutcome, *found: str, name: str = NAME) -> DnsLookup:
    return DnsLookup(resolver=resolver, name=name, qtype=qtype, outcome=outcome, addresses=found)


def check(check_id: str, *observations: Observation, status: Status = Status.PASS) -> CheckResult:
    return CheckResult(id=check_id, status=status, summary=check_id, observations=observations)


def system(outcome: DnsOutcome, *found: str) -> CheckResult:
    status = Status.PASS if found else Status.FAIL
    return check("dns.system", lookup("system", "ANY", outcome, *found), status=status)


def server(a: DnsOutcome, aaaa: DnsOutcome, *found: str, resolver: str = SERVER) -> CheckResult:
    v4 = tuple(x for x in found if ":" not in x)
    v6 = tuple(x for x in found if ":" in x)
    status = Status.PASS if found else Status.FAIL
    return check(
        f"dns.server.{resolver}",
        lookup(resolver, "A", a, *v4),
        lookup(resolver, "AAAA", aaaa, *v6),
        status=status,
    )


def connect(address: str, outcome: ConnectOutcome) -> CheckResult:
    family = "ipv6" if ":" in address else "ipv4"
    return check(
        f"tcp.{address}",
        TcpConnect(address=address, port=443, family=family, outcome=outcome),
        status=Status.PASS if outcome is ConnectOutcome.CONNECTED else Status.FAIL,
    )


def handshake_ok(address: str) -> CheckResult:
    attempt = HandshakeAttempt(
        variant="default",
        address=address,
        port=443,
        servername=NAME,
        outcome=HandshakeOutcome.OK,
        version="TLSv1.3",
    )
    return check("tls.default", attempt)


def note(address: str, category: str, resolver: str = "system", sinkhole: bool = False) -> CheckResult:
    return check(
        f"dns.note.{address}",
        AddressNote(address=address, category=category, resolver=resolver, name=NAME, sinkhole=sinkhole),
        status=Status.WARN,
    )


NX, ANSWER, NODATA = DnsOutcome.NXDOMAIN, DnsOutcome.ANSWER, DnsOutcome.NO_ADDRESS
SERVFAIL, TIMEOUT, REFUSED = DnsOutcome.SERVFAIL, DnsOutcome.TIMEOUT, DnsOutcome.REFUSED


# -- dns-nxdomain ----------------------------------------------------------------------------------
def test_nxdomain_from_every_resolver() -> None:
    match = DNS_NXDOMAIN.match(Facts([system(NX), server(NX, NX)]))
    assert match is not None and match.confidence == 0.95
    assert {e.check for e in match.evidence} == {"dns.system", f"dns.server.{SERVER}"}
    assert "does not exist" in match.summary


def test_nxdomain_from_getaddrinfo_alone_is_less_certain() -> None:
    match = DNS_NXDOMAIN.match(Facts([system(NX)]))
    assert match is not None and 0.5 <= match.confidence < 0.95


def test_nxdomain_near_miss_getaddrinfo_noname_was_nodata() -> None:
    # EAI_NONAME from getaddrinfo, but the server says the name exists without addresses.
    facts = Facts([system(NX), server(NODATA, NODATA)])
    assert DNS_NXDOMAIN.match(facts) is None
    failure = DNS_FAILURE.match(facts)
    assert failure is not None and failure.confidence >= 0.5


def test_nxdomain_near_miss_when_another_resolver_answers() -> None:
    match = DNS_NXDOMAIN.match(Facts([system(ANSWER, "93.184.215.14"), server(NX, NX)]))
    assert match is not None and match.confidence < 0.5


# -- dns-failure -----------------------------------------------------------------------------------
def test_failure_servfail_and_timeout_everywhere() -> None:
    match = DNS_FAILURE.match(Facts([system(TIMEOUT), server(SERVFAIL, SERVFAIL)]))
    assert match is not None and match.confidence == 0.9
    assert "servfail" in match.summary and "timeout" in match.summary


def test_failure_refused() -> None:
    match = DNS_FAILURE.match(Facts([server(REFUSED, REFUSED)]))
    assert match is not None and match.confidence == 0.9


def test_failure_nodata_everywhere() -> None:
    match = DNS_FAILURE.match(Facts([system(DnsOutcome.NO_ADDRESS), server(NODATA, NODATA)]))
    assert match is not None and match.confidence == 0.85 and "no A or AAAA" in match.summary


def test_failure_near_miss_all_answered() -> None:
    facts = Facts([system(ANSWER, "93.184.215.14"), server(ANSWER, NODATA, "93.184.215.14")])
    assert DNS_FAILURE.match(facts) is None


def test_failure_partial_is_below_the_fault_threshold() -> None:
    match = DNS_FAILURE.match(Facts([system(ANSWER, "93.184.215.14"), server(TIMEOUT, TIMEOUT)]))
    assert match is not None and match.confidence < 0.5


def test_failure_of_the_system_resolver_weighs_more_than_of_another() -> None:
    match = DNS_FAILURE.match(Facts([system(TIMEOUT), server(ANSWER, NODATA, "93.184.215.14")]))
    assert match is not None and match.confidence >= 0.5


def test_failure_broken_aaaa_only_is_a_hint() -> None:
    match = DNS_FAILURE.match(Facts([server(ANSWER, SERVFAIL, "93.184.215.14")]))
    assert match is not None and match.confidence < 0.5 and "AAAA servfail" in match.summary


def test_failure_capped_when_the_endpoint_works() -> None:
    facts = Facts([system(TIMEOUT), server(ANSWER, NODATA, "93.184.215.14"), handshake_ok("93.184.215.14")])
    match = DNS_FAILURE.match(facts)
    assert match is not None and match.confidence <= WORKING_CAP and "works" in match.summary


# -- dns-inconsistent ------------------------------------------------------------------------------
def test_sinkhole_from_the_system_resolver_with_no_working_connect() -> None:
    facts = Facts([system(ANSWER, "0.0.0.0"), note("0.0.0.0", "unspecified", sinkhole=True)])
    match = DNS_INCONSISTENT.match(facts)
    assert match is not None and match.confidence == 0.9 and "sinkhole" in match.summary


def test_loopback_sinkhole_still_a_fault_when_a_local_listener_accepts() -> None:
    # TCP to 127.0.0.1 "works" against whatever listens locally: not the real endpoint.
    facts = Facts(
        [
            system(ANSWER, "127.0.0.1"),
            note("127.0.0.1", "loopback", sinkhole=True),
            connect("127.0.0.1", ConnectOutcome.CONNECTED),
        ]
    )
    match = DNS_INCONSISTENT.match(facts)
    assert match is not None and match.confidence == 0.9


def test_sinkhole_near_miss_when_the_handshake_succeeds() -> None:
    # A deliberate /etc/hosts entry for a local development server: the endpoint works.
    facts = Facts(
        [system(ANSWER, "127.0.0.1"), note("127.0.0.1", "loopback", sinkhole=True), handshake_ok("127.0.0.1")]
    )
    assert DNS_INCONSISTENT.match(facts) is None
    assert diagnose(facts.results, DNS_RULES)[0] is Verdict.HEALTHY


def test_sinkhole_from_another_resolver_only_is_a_candidate() -> None:
    facts = Facts(
        [
            system(ANSWER, "93.184.215.14"),
            server(ANSWER, ANSWER, "0.0.0.0", "::"),
            note("0.0.0.0", "unspecified", resolver=SERVER, sinkhole=True),
        ]
    )
    match = DNS_INCONSISTENT.match(facts)
    assert match is not None and match.confidence < 0.5


def test_resolvers_disagree_nxdomain_vs_answer() -> None:
    answers = (("system", ()), (SERVER, ("93.184.215.14",)))
    disagreement = ResolverDisagreement(
        name=NAME,
        qtype="A/AAAA",
        answers=answers,
        suspicious=True,
        reason="system says the name does not exist",
    )
    facts = Facts(
        [
            system(NX),
            server(ANSWER, NODATA, "93.184.215.14"),
            check("dns.consistency", disagreement, status=Status.WARN),
        ]
    )
    match = DNS_INCONSISTENT.match(facts)
    assert match is not None and match.confidence == 0.8
    assert any(e.check == "dns.consistency" for e in match.evidence)


def test_resolvers_disagree_near_miss_when_the_system_answers() -> None:
    # The system answers (a private address); another resolver denies the name: the client is fine.
    answers = ((SERVER, ()), ("system", ("10.1.2.3",)))
    disagreement = ResolverDisagreement(
        name=NAME, qtype="A/AAAA", answers=answers, suspicious=True, reason="split horizon"
    )
    facts = Facts(
        [
            system(ANSWER, "10.1.2.3"),
            server(NX, NX),
            note("10.1.2.3", "private"),
            check("dns.consistency", disagreement, status=Status.WARN),
        ]
    )
    match = DNS_INCONSISTENT.match(facts)
    assert match is not None and match.confidence < 0.5


def test_geo_dns_near_miss() -> None:
    disagreement = ResolverDisagreement(
        name=NAME,
        qtype="A",
        answers=(("system", ("93.184.215.14",)), (SERVER, ("23.1.2.3",))),
        suspicious=False,
        reason="different addresses: CDN",
    )
    facts = Facts(
        [
            system(ANSWER, "93.184.215.14"),
            server(ANSWER, NODATA, "23.1.2.3"),
            check("dns.consistency", disagreement, status=Status.WARN),
        ]
    )
    assert DNS_INCONSISTENT.match(facts) is None


def test_private_answer_that_connects_is_not_a_fault() -> None:
    facts = Facts(
        [
            system(ANSWER, "10.1.2.3"),
            note("10.1.2.3", "private"),
            connect("10.1.2.3", ConnectOutcome.CONNECTED),
        ]
    )
    assert DNS_INCONSISTENT.match(facts) is None
    assert diagnose(facts.results, DNS_RULES)[0] is not Verdict.FAULT


def test_private_answer_alone_is_only_noted() -> None:
    assert DNS_INCONSISTENT.match(Facts([system(ANSWER, "10.1.2.3"), note("10.1.2.3", "private")])) is None


def test_private_answer_that_never_connects_is_a_hint() -> None:
    facts = Facts(
        [system(ANSWER, "10.1.2.3"), note("10.1.2.3", "private"), connect("10.1.2.3", ConnectOutcome.TIMEOUT)]
    )
    match = DNS_INCONSISTENT.match(facts)
    assert match is not None and match.confidence < 0.5


def test_localhost_that_refuses_is_not_a_dns_matter() -> None:
    facts = Facts(
        [
            system(ANSWER, "127.0.0.1"),
            note("127.0.0.1", "loopback"),
            connect("127.0.0.1", ConnectOutcome.REFUSED),
        ]
    )
    assert all(rule.match(facts) is None for rule in DNS_RULES)


def test_documentation_range_answer_that_fails() -> None:
    facts = Facts(
        [
            system(ANSWER, "192.0.2.10"),
            note("192.0.2.10", "documentation"),
            connect("192.0.2.10", ConnectOutcome.TIMEOUT),
        ]
    )
    match = DNS_INCONSISTENT.match(facts)
    assert match is not None and match.confidence >= 0.5


def test_no_dns_observations_no_match() -> None:
    facts = Facts([connect("93.184.215.14", ConnectOutcome.REFUSED)])
    assert all(rule.match(facts) is None for rule in DNS_RULES)


def test_working_endpoint_without_failed_dns_check_is_never_a_dns_cause() -> None:
    # A resolver timed out (warn, not fail) but the endpoint works: healthy, no DNS cause at all.
    results = [
        system(ANSWER, "93.184.215.14"),
        check(
            f"dns.server.{SERVER}",
            lookup(SERVER, "A", ANSWER, "93.184.215.14"),
            lookup(SERVER, "AAAA", SERVFAIL),
            status=Status.WARN,
        ),
        connect("93.184.215.14", ConnectOutcome.CONNECTED),
        handshake_ok("93.184.215.14"),
    ]
    assert all(rule.match(Facts(results)) is None for rule in DNS_RULES)
    assert diagnose(results, DNS_RULES)[0] is Verdict.HEALTHY


# --resolver (issue 9 item 2): the named servers replace the system's resolver; the system's
# different answer is a comparison. Each positive has its near miss: the same answers from a
# resolv.conf nameserver (not named), where the system resolver stays the client's.


def named(result: CheckResult) -> CheckResult:
    """The same server check, as if the user had named the server with --resolver."""
    observations = tuple(
        dataclasses.replace(o, named=True) if isinstance(o, DnsLookup) else o for o in result.observations
    )
    return dataclasses.replace(result, observations=observations)


def comparison(result: CheckResult) -> CheckResult:
    """The system check as diagnose reports it with --resolver: warn at worst, never fail."""
    return dataclasses.replace(result, status=Status.WARN if result.status is Status.FAIL else result.status)


def top(results: list[CheckResult]) -> tuple[str, float]:
    verdict, causes = diagnose(results)
    return (causes[0].id, causes[0].confidence) if causes else (verdict.value, 0.0)


def test_named_resolver_servfail_is_dns_failure_even_when_the_system_answers() -> None:
    sf = server(DnsOutcome.SERVFAIL, DnsOutcome.SERVFAIL)
    facts = Facts([comparison(system(DnsOutcome.ANSWER, "93.184.215.14")), named(sf)])
    match = DNS_FAILURE.match(facts)
    assert match is not None and match.confidence >= 0.9
    assert "--resolver" in match.summary


def test_near_miss_unnamed_server_servfail_while_the_system_answers_and_it_works() -> None:
    results = [
        system(DnsOutcome.ANSWER, "93.184.215.14"),
        server(DnsOutcome.SERVFAIL, DnsOutcome.SERVFAIL),
        connect("93.184.215.14", ConnectOutcome.CONNECTED),
        handshake_ok("93.184.215.14"),
    ]
    match = DNS_FAILURE.match(Facts(results))
    assert match is None or match.confidence <= WORKING_CAP


def test_named_resolver_timeout_and_refused_are_dns_failure() -> None:
    for outcome in (DnsOutcome.TIMEOUT, DnsOutcome.REFUSED):
        facts = Facts(
            [comparison(system(DnsOutcome.ANSWER, "93.184.215.14")), named(server(outcome, outcome))]
        )
        assert top(list(facts.results))[0] == "dns-failure", outcome


def test_named_resolver_nxdomain_is_dns_nxdomain_even_when_the_system_answers() -> None:
    results = [
        comparison(system(DnsOutcome.ANSWER, "93.184.215.14")),
        named(server(DnsOutcome.NXDOMAIN, DnsOutcome.NXDOMAIN)),
    ]
    match = DNS_NXDOMAIN.match(Facts(results))
    assert match is not None and match.confidence >= 0.9


def test_near_miss_unnamed_nxdomain_while_the_system_answers() -> None:
    results = [system(DnsOutcome.ANSWER, "93.184.215.14"), server(DnsOutcome.NXDOMAIN, DnsOutcome.NXDOMAIN)]
    match = DNS_NXDOMAIN.match(Facts(results))
    assert match is not None and match.confidence < 0.5


def test_system_sinkhole_is_a_note_when_the_named_resolver_answer_works() -> None:
    sink = AddressNote(address="0.0.0.0", category="unspecified", resolver="system", name=NAME, sinkhole=True)
    results = [
        comparison(check("dns.system", lookup("system", "ANY", DnsOutcome.ANSWER, "0.0.0.0"), sink)),
        named(server(DnsOutcome.ANSWER, DnsOutcome.NO_ADDRESS, "93.184.215.14")),
        connect("93.184.215.14", ConnectOutcome.CONNECTED),
    ]
    assert DNS_INCONSISTENT.match(Facts(results)) is None


def test_near_miss_system_sinkhole_without_resolver_option() -> None:
    sink = AddressNote(address="0.0.0.0", category="unspecified", resolver="system", name=NAME, sinkhole=True)
    results = [
        check("dns.system", lookup("system", "ANY", DnsOutcome.ANSWER, "0.0.0.0"), sink, status=Status.WARN),
        server(DnsOutcome.ANSWER, DnsOutcome.NO_ADDRESS, "93.184.215.14"),
    ]
    match = DNS_INCONSISTENT.match(Facts(results))
    assert match is not None and match.confidence >= 0.9


def test_named_resolver_loopback_answer_that_connects_is_not_a_sinkhole() -> None:
    """A development resolver mapping names to 127.0.0.1, named on purpose, and reached: even if the
    handshake then fails for another reason, the loopback answer is not a DNS finding."""
    note = AddressNote(address="127.0.0.1", category="loopback", resolver=SERVER, name=NAME, sinkhole=True)
    answer = named(server(DnsOutcome.ANSWER, DnsOutcome.NO_ADDRESS, "127.0.0.1"))
    answer = dataclasses.replace(answer, observations=(*answer.observations, note), status=Status.WARN)
    results = [
        comparison(system(DnsOutcome.NXDOMAIN)),
        answer,
        connect("127.0.0.1", ConnectOutcome.CONNECTED),
    ]
    assert DNS_INCONSISTENT.match(Facts(results)) is None


def test_near_miss_named_loopback_answer_that_does_not_connect() -> None:
    note = AddressNote(address="127.0.0.1", category="loopback", resolver=SERVER, name=NAME, sinkhole=True)
    answer = named(server(DnsOutcome.ANSWER, DnsOutcome.NO_ADDRESS, "127.0.0.1"))
    answer = dataclasses.replace(answer, observations=(*answer.observations, note), status=Status.WARN)
    results = [comparison(system(DnsOutcome.NXDOMAIN)), answer, connect("127.0.0.1", ConnectOutcome.REFUSED)]
    match = DNS_INCONSISTENT.match(Facts(results))
    assert match is not None and match.confidence >= 0.9
