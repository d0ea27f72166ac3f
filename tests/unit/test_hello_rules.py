"""The hello matrix's decision table (inference/rules/matrix.py), through the rules that weigh it (tls.py).

Each row: a positive and a near miss, on hand-made HelloProbe observations.
"""

from __future__ import annotations

from typing import Any

from helpers import every, facts, hs

from tlsdoctor.inference import engine
from tlsdoctor.inference.causes import CauseId
from tlsdoctor.inference.rules import RULES, matrix, tls
from tlsdoctor.model import CheckResult, Status, Verdict
from tlsdoctor.observations.hello import HelloEnd as E
from tlsdoctor.observations.hello import HelloProbe
from tlsdoctor.observations.path import MssProbe
from tlsdoctor.observations.tls import HandshakeOutcome as H

SIZES = {
    "minimal": 109,
    "modern": 517,
    "pq-large": 1783,
    "padded-300": 305,
    "tls1.3": 517,
    "tls1.2": 165,
    "tls1.1": 113,
    "tls1.0": 113,
    "sni-none": 517,
    "sni-neutral": 517,
    "sni-random": 517,
    "http": 60,
}
ROLES = {
    "sni-none": ("none", None),
    "sni-neutral": ("neutral", "www.example.com"),
    "sni-random": ("random", "tlsdoctor-0badc0ffee.invalid"),
    "http": ("target", "example.test"),
}
SHAPES = {"sni-none": "modern", "sni-neutral": "modern", "sni-random": "modern", "http": "http"}


def probe(name: str, end: E, **fields: Any) -> HelloProbe:
    """A matrix probe as checks/hello.py makes it; SNI example.test unless its role says otherwise."""
    role, sni = ROLES.get(name, ("target", "example.test"))
    fields.setdefault("bytes_received", 0 if end in (E.RESET, E.EOF, E.TIMEOUT) else 90)
    if end is E.SERVER_HELLO:
        fields.setdefault("version", "TLSv1.3")
        fields.setdefault("cipher", "TLS_AES_256_GCM_SHA384")
        fields.setdefault("default_offers_cipher", True)
    return HelloProbe(
        probe=name,
        shape=SHAPES.get(name, name),
        address="198.18.0.10",
        port=443,
        sni=fields.pop("sni", sni),
        sni_role=role,
        hello_bytes=SIZES[name],
        end=end,
        **fields,
    )


def matrix_all(end: E, **fields: Any) -> list[HelloProbe]:
    """Every hello of the matrix ending the same way (the HTTP probe left out)."""
    return [probe(n, end, **fields) for n in SIZES if n != "http"]


# -- the table itself ----------------------------------------------------------------------------------


def test_every_row_names_a_cause_with_exactly_one_rule() -> None:
    ruled = [r.cause for r in RULES]
    for row in matrix.TABLE:
        assert ruled.count(row.cause) == 1, row.cause


def test_decide_has_no_word_for_causes_outside_the_table() -> None:
    assert matrix.decide(facts(*matrix_all(E.RESET)), CauseId.CERT_EXPIRED) is None


# -- sni-filtered ----------------------------------------------------------------------------------------


def named_die_others_pass(*passing: str) -> list[HelloProbe]:
    runs = [probe(n, E.RESET) for n in ("modern", "minimal", "pq-large", "padded-300", "tls1.2")]
    return runs + [probe(n, E.SERVER_HELLO) for n in passing]


def test_sni_filtered_named_die_neutral_name_passes() -> None:
    m = tls.sni_filtered(facts(hs("default", H.RESET), *named_die_others_pass("sni-neutral", "sni-none")))
    assert m is not None and m.confidence >= 0.9
    assert "www.example.com" in m.summary


def test_sni_filtered_only_without_sni_is_weaker() -> None:
    m = matrix.sni_filtered(facts(*named_die_others_pass("sni-none")))
    assert m is not None and 0.8 <= m.confidence < 0.9


def test_sni_filtered_near_miss_other_names_die_too() -> None:
    runs = named_die_others_pass() + [probe(n, E.RESET) for n in ("sni-none", "sni-neutral", "sni-random")]
    assert tls.sni_filtered(facts(hs("default", H.RESET), *runs)) is None


def test_sni_filtered_near_miss_a_named_hello_passes_vetoes_the_variants() -> None:
    # The variants alone say sni-filtered (named default dies, no-SNI answered); the matrix shows a small
    # hello naming the target answered: the name is not what kills the connection.
    base = [hs("default", H.RESET), hs("no-sni", H.OK)]
    assert tls.sni_filtered(facts(*base)) is not None
    named = [probe("minimal", E.SERVER_HELLO), probe("pq-large", E.RESET)]
    assert tls.sni_filtered(facts(*base, *named)) is None


# -- clienthello-too-large -------------------------------------------------------------------------------


def size_pattern(
    pq: E = E.RESET, modern: E = E.SERVER_HELLO, minimal: E = E.SERVER_HELLO, padded: E = E.SERVER_HELLO
) -> list[HelloProbe]:
    return [
        probe("modern", modern),
        probe("minimal", minimal),
        probe("pq-large", pq),
        probe("padded-300", padded),
    ]


def test_too_large_pq_dies_while_default_works() -> None:
    m = tls.clienthello_too_large(facts(hs("default", H.OK), *size_pattern()))
    assert m is not None and m.confidence >= 0.9
    assert "1783" in m.summary and "X25519MLKEM768" in m.summary


def test_too_large_makes_the_verdict_a_fault_though_the_default_works() -> None:
    size = CheckResult(
        id="hello.size", status=Status.FAIL, summary="pq-large: reset", observations=tuple(size_pattern())
    )
    default = CheckResult(
        id="handshake.default", status=Status.PASS, summary="ok", observations=(hs("default", H.OK),)
    )
    verdict, causes = engine.diagnose([default, size])
    assert verdict is Verdict.FAULT
    assert causes[0].id == "clienthello-too-large"


def test_too_large_silence_counts_and_only_minimal_passing_is_weaker() -> None:
    m = matrix.clienthello_too_large(facts(*size_pattern(pq=E.TIMEOUT, modern=E.TIMEOUT)))
    assert m is not None and m.confidence == 0.8


def test_too_large_near_miss_every_size_dies() -> None:
    runs = size_pattern(modern=E.RESET, minimal=E.RESET, padded=E.RESET)
    assert tls.clienthello_too_large(facts(hs("default", H.RESET), *runs)) is None


def test_too_large_near_miss_pq_refused_by_alert_is_not_size() -> None:
    assert matrix.clienthello_too_large(facts(*size_pattern(pq=E.ALERT))) is None


def test_too_large_capped_when_a_path_mtu_black_hole_explains_it() -> None:
    stalled = hs("default", H.TIMEOUT, bytes_received=1448)
    m = tls.clienthello_too_large(facts(stalled, *size_pattern(pq=E.TIMEOUT)))
    assert m is not None and m.confidence <= matrix.PMTU_CAP
    mss = MssProbe(address="198.18.0.10", port=443, mss=1200, outcome="ok")
    m = matrix.clienthello_too_large(facts(hs("default", H.OK), mss, *size_pattern(pq=E.TIMEOUT)))
    assert m is not None and m.confidence <= matrix.PMTU_CAP


def test_too_large_f5_range_dies_below_and_above_pass() -> None:
    runs = size_pattern(pq=E.SERVER_HELLO, padded=E.TIMEOUT)
    m = tls.clienthello_too_large(facts(hs("default", H.OK), *runs))
    assert m is not None and m.confidence >= 0.8 and "256-511" in m.summary


def test_too_large_f5_near_miss_the_larger_one_dies_too() -> None:
    runs = size_pattern(pq=E.SERVER_HELLO, padded=E.TIMEOUT, modern=E.TIMEOUT)
    assert matrix.clienthello_too_large(facts(*runs)) is None


# -- every hello dies the same way: firewall-reset, server-closed, firewall-drop -------------------------


def test_firewall_reset_cites_a_uniform_matrix() -> None:
    m = tls.firewall_reset(facts(*every(H.RESET), *matrix_all(E.RESET)))
    assert m is not None and m.confidence >= 0.5
    assert "crafted hellos" in m.summary
    assert any("hello" in e.observation and "reset" in e.observation for e in m.evidence)


def test_firewall_reset_near_miss_a_crafted_hello_is_answered() -> None:
    runs = matrix_all(E.RESET)
    runs[-1] = probe("sni-random", E.SERVER_HELLO)
    assert tls.firewall_reset(facts(*every(H.RESET), *runs)) is None


def test_server_closed_every_hello_fin() -> None:
    m = tls.server_closed(facts(*every(H.EOF), *matrix_all(E.EOF)))
    assert m is not None and m.confidence >= 0.7


def test_server_closed_near_miss_the_port_answers_http() -> None:
    http = probe("http", E.NOT_TLS, first_bytes=b"HTTP/1.1 400 Bad Request\r\n", sniffed="http")
    assert tls.server_closed(facts(*every(H.EOF), *matrix_all(E.EOF), http)) is None


def test_firewall_drop_every_hello_silent() -> None:
    assert tls.firewall_drop(facts(*every(H.TIMEOUT), *matrix_all(E.TIMEOUT))) is not None


def test_firewall_drop_near_miss_the_small_hello_is_answered() -> None:
    runs = [*matrix_all(E.TIMEOUT), probe("minimal", E.SERVER_HELLO)]
    assert tls.firewall_drop(facts(*every(H.TIMEOUT), *runs[1:])) is None


# -- server-not-tls ----------------------------------------------------------------------------------------


def test_server_not_tls_from_a_crafted_hello() -> None:
    banner = b"220 mail.example.test ESMTP Postfix\r\n"
    m = matrix.server_not_tls(facts(probe("modern", E.NOT_TLS, first_bytes=banner, sniffed="smtp")))
    assert m is not None and m.confidence >= 0.9 and "--starttls smtp" in m.summary


def test_server_not_tls_hellos_die_but_http_is_answered() -> None:
    http = probe("http", E.NOT_TLS, first_bytes=b"HTTP/1.0 200 OK\r\nServer: SimpleHTTP\r\n", sniffed="http")
    m = tls.server_not_tls(facts(*every(H.EOF), *matrix_all(E.EOF), http))
    assert m is not None and m.confidence >= 0.8 and "HTTP" in m.summary


def test_server_not_tls_near_miss_an_https_port_answering_plain_http_too() -> None:
    # nginx answers plain HTTP on its TLS port with a 400; that is not server-not-tls.
    http = probe("http", E.NOT_TLS, first_bytes=b"HTTP/1.1 400 Bad Request\r\n", sniffed="http")
    runs = matrix_all(E.SERVER_HELLO)
    assert tls.server_not_tls(facts(hs("default", H.VERIFY_FAILED), *runs, http)) is None


# -- sni-required ------------------------------------------------------------------------------------------


def test_sni_required_target_name_unrecognized() -> None:
    m = tls.sni_required(facts(hs("default", H.EOF), probe("modern", E.ALERT, alert="unrecognized_name")))
    assert m is not None and m.confidence >= 0.9


def test_sni_required_without_sni_refused_with_sni_accepted() -> None:
    runs = [probe("modern", E.SERVER_HELLO), probe("sni-none", E.ALERT, alert="handshake_failure")]
    m = tls.sni_required(facts(hs("default", H.VERIFY_FAILED), *runs))
    assert m is not None and m.confidence == 0.5


def test_sni_required_near_miss_only_a_random_name_is_unrecognized() -> None:
    runs = [
        probe("modern", E.SERVER_HELLO),
        probe("sni-none", E.SERVER_HELLO),
        probe("sni-random", E.ALERT, alert="unrecognized_name"),
    ]
    assert tls.sni_required(facts(hs("default", H.VERIFY_FAILED), *runs)) is None


def test_sni_required_near_miss_matrix_is_mute_when_the_default_works() -> None:
    runs = [probe("modern", E.SERVER_HELLO), probe("sni-none", E.ALERT, alert="handshake_failure")]
    assert tls.sni_required(facts(hs("default", H.OK), *runs)) is None


# -- protocol-mismatch and cipher-mismatch -----------------------------------------------------------------


def legacy_only() -> list[HelloProbe]:
    refused = [probe(n, E.ALERT, alert="protocol_version") for n in ("modern", "tls1.3", "pq-large")]
    legacy = [
        probe(
            n,
            E.SERVER_HELLO,
            version="TLSv1.0",
            cipher="TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
            default_offers_cipher=False,
        )
        for n in ("tls1.2", "tls1.0", "minimal")
    ]
    return refused + legacy


def test_protocol_mismatch_accepted_only_at_tls10() -> None:
    m = tls.protocol_mismatch(facts(hs("default", H.ALERT, alert="protocol_version"), *legacy_only()))
    assert m is not None and m.confidence >= 0.9 and "TLSv1.0" in m.summary


def test_protocol_mismatch_near_miss_tls13_accepted_too() -> None:
    runs = [p for p in legacy_only() if p.probe != "tls1.3"] + [probe("tls1.3", E.SERVER_HELLO)]
    assert matrix.protocol_mismatch(facts(*runs)) is None


def test_cipher_mismatch_server_picks_a_suite_the_default_does_not_offer() -> None:
    picked = dict(version="TLSv1.2", cipher="TLS_RSA_WITH_AES_256_CBC_SHA", default_offers_cipher=False)
    runs = [probe("modern", E.SERVER_HELLO, **picked), probe("minimal", E.ALERT, alert="handshake_failure")]
    m = tls.cipher_mismatch(facts(hs("default", H.ALERT, alert="handshake_failure"), *runs))
    assert m is not None and m.confidence >= 0.85 and "TLS_RSA_WITH_AES_256_CBC_SHA" in m.summary


def test_cipher_mismatch_near_miss_the_suite_is_one_the_default_offers() -> None:
    # A TLS 1.2 server that wants a client certificate also ends the default with handshake_failure.
    suite = "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
    runs = [probe("modern", E.SERVER_HELLO, version="TLSv1.2", cipher=suite)]
    assert tls.cipher_mismatch(facts(hs("default", H.ALERT, alert="handshake_failure"), *runs)) is None


def test_cipher_mismatch_near_miss_only_a_legacy_version_picks_it() -> None:
    default = hs("default", H.ALERT, alert="handshake_failure")
    assert matrix.cipher_mismatch(facts(default, *legacy_only())) is None


# -- the checks' status: hello.size runs on every diagnosis, so it fails only on the size pattern ----------


def test_size_check_fails_on_the_size_pattern() -> None:
    from tlsdoctor.checks.hello import status_for

    assert status_for(size_pattern(), size_only=True) is Status.FAIL
    assert status_for(size_pattern(pq=E.SERVER_HELLO, padded=E.TIMEOUT), size_only=True) is Status.FAIL


def test_size_check_near_miss_one_odd_probe_only_warns() -> None:
    from tlsdoctor.checks.hello import status_for

    odd = size_pattern(pq=E.SERVER_HELLO, minimal=E.RESET)  # the smallest died: no size rule explains it
    assert status_for(odd, size_only=True) is Status.WARN
    assert status_for(odd) is Status.FAIL  # hello.matrix (the default failed anyway) says so plainly
    assert status_for(size_pattern(pq=E.SERVER_HELLO), size_only=True) is Status.PASS


def test_pq_death_that_does_not_reproduce_is_not_a_size_limit() -> None:
    """One lost segment must not read as a ClientHello size limit: the re-runs decide."""

    def probe(name: str, size: int, end: E) -> HelloProbe:
        return HelloProbe(
            probe=name,
            shape=name,
            address="198.18.0.10",
            port=443,
            sni="example.test",
            sni_role="target",
            hello_bytes=size,
            end=end,
            bytes_received=0 if end is not E.SERVER_HELLO else 90,
        )

    first = [probe("modern", 517, E.SERVER_HELLO), probe("pq-large", 1783, E.RESET)]
    confirmed = [*first, probe("pq-large", 1783, E.RESET), probe("modern", 517, E.SERVER_HELLO)]
    flaky = [*first, probe("pq-large", 1783, E.SERVER_HELLO), probe("modern", 517, E.SERVER_HELLO)]
    assert matrix.clienthello_too_large(facts(*confirmed)) is not None
    assert matrix.clienthello_too_large(facts(*flaky)) is None


def test_firewall_reset_holds_when_plain_http_passes_the_filter() -> None:
    """A DPI box that resets TLS lets HTTP through: the HTTP answer must not make it server-not-tls."""
    http = probe("http", E.NOT_TLS, first_bytes=b"HTTP/1.1 400 Bad Request\r\n", sniffed="http")
    observed = facts(*every(H.RESET), *matrix_all(E.RESET), http)
    assert tls.firewall_reset(observed) is not None
    assert tls.server_not_tls(observed) is None


def test_firewall_drop_holds_when_plain_http_passes_the_filter() -> None:
    http = probe("http", E.NOT_TLS, first_bytes=b"HTTP/1.1 400 Bad Request\r\n", sniffed="http")
    observed = facts(*every(H.TIMEOUT), *matrix_all(E.TIMEOUT), http)
    assert tls.firewall_drop(observed) is not None
    assert tls.server_not_tls(observed) is None
