"""Handshake-layer rules: a positive and a near miss for each."""

from __future__ import annotations

from helpers import ALL_VARIANTS, every, facts, hs

from tlsdoctor.inference.rules import tls
from tlsdoctor.observations.tls import AcceptScan
from tlsdoctor.observations.tls import HandshakeOutcome as H


def test_server_not_tls_names_the_protocol_and_starttls() -> None:
    m = tls.server_not_tls(facts(hs("default", H.NOT_TLS, first_bytes=b"220 mail.test ESMTP Postfix\r\n")))
    assert m is not None and m.confidence >= 0.9
    assert "--starttls smtp" in m.summary


def test_server_not_tls_near_miss_alert_is_tls() -> None:
    assert tls.server_not_tls(facts(hs("default", H.ALERT, alert="handshake_failure"))) is None


def test_client_cert_required_from_tls13_alert() -> None:
    m = tls.client_cert_required(facts(hs("default", H.ALERT, alert="certificate_required")))
    assert m is not None and m.confidence >= 0.9


def test_client_cert_required_from_tls12_request_then_failure() -> None:
    m = tls.client_cert_required(facts(hs("tls1.2", H.ALERT, alert="handshake_failure", cert_requested=True)))
    assert m is not None


def test_client_cert_required_near_miss_handshake_failure_without_request() -> None:
    assert tls.client_cert_required(facts(hs("default", H.ALERT, alert="handshake_failure"))) is None


def test_sni_required_unrecognized_name() -> None:
    m = tls.sni_required(facts(hs("default", H.ALERT, alert="unrecognized_name", servername=None)))
    assert m is not None and m.confidence >= 0.85


def test_sni_required_differential_no_sni_vs_twin() -> None:
    m = tls.sni_required(facts(hs("no-verify", H.OK), hs("no-sni", H.EOF)))
    assert m is not None


def test_sni_required_near_miss_both_fail() -> None:
    assert tls.sni_required(facts(hs("no-verify", H.EOF), hs("no-sni", H.EOF))) is None


def test_sni_filtered_named_hello_dies_unnamed_answered() -> None:
    m = tls.sni_filtered(facts(hs("default", H.RESET), hs("no-sni", H.OK)))
    assert m is not None and m.confidence >= 0.75


def test_sni_filtered_near_miss_unnamed_also_dies() -> None:
    assert tls.sni_filtered(facts(hs("default", H.RESET), hs("no-sni", H.RESET))) is None


def test_clienthello_too_large_separable_by_size() -> None:
    big = hs("all-ciphers", H.RESET, bytes_sent=900)
    big2 = hs("default", H.RESET, bytes_sent=700)
    small = hs("tls1.2", H.OK, bytes_sent=300)
    m = tls.clienthello_too_large(facts(big, big2, small))
    assert m is not None and m.confidence >= 0.75


def test_clienthello_too_large_near_miss_sizes_overlap() -> None:
    assert (
        tls.clienthello_too_large(
            facts(hs("default", H.RESET, bytes_sent=400), hs("tls1.2", H.OK, bytes_sent=600))
        )
        is None
    )


def test_firewall_reset_every_variant_reset() -> None:
    m = tls.firewall_reset(facts(*every(H.RESET)))
    assert m is not None and m.confidence >= 0.5


def test_firewall_reset_near_miss_one_variant_answered() -> None:
    runs = every(H.RESET)
    runs[-1] = hs("legacy", H.OK)
    assert tls.firewall_reset(facts(*runs)) is None


def test_server_closed_every_variant_fin() -> None:
    m = tls.server_closed(facts(*every(H.EOF)))
    assert m is not None and m.confidence >= 0.7


def test_server_closed_near_miss_fin_after_tls_bytes() -> None:
    assert tls.server_closed(facts(*every(H.EOF, bytes_received=90))) is None


def test_firewall_drop_every_variant_silent() -> None:
    assert tls.firewall_drop(facts(*every(H.TIMEOUT))) is not None


def test_firewall_drop_near_miss_partial_answer() -> None:
    assert tls.firewall_drop(facts(*every(H.TIMEOUT, bytes_received=2896))) is None


def test_path_mtu_blackhole_stall_after_first_bytes() -> None:
    m = tls.path_mtu_blackhole(facts(*every(H.TIMEOUT, bytes_received=1448)))
    assert m is not None


def test_path_mtu_blackhole_near_miss_nothing_received() -> None:
    assert tls.path_mtu_blackhole(facts(*every(H.TIMEOUT))) is None


def test_protocol_mismatch_only_legacy_passes() -> None:
    runs = [hs(v, H.ALERT, alert="protocol_version") for v in ("default", "tls1.3", "tls1.2", "no-verify")]
    runs.append(hs("tls1.0", H.OK, version="TLSv1"))
    m = tls.protocol_mismatch(facts(*runs))
    assert m is not None and m.confidence >= 0.85


def test_protocol_mismatch_near_miss_default_works() -> None:
    assert tls.protocol_mismatch(facts(hs("default", H.OK), hs("tls1.0", H.OK))) is None


def test_cipher_mismatch_legacy_suites_pass() -> None:
    m = tls.cipher_mismatch(
        facts(hs("default", H.ALERT, alert="handshake_failure"), hs("all-ciphers", H.OK, cipher="AES256-SHA"))
    )
    assert m is not None and "AES256-SHA" in m.summary


def test_cipher_mismatch_near_miss_client_cert_request() -> None:
    assert (
        tls.cipher_mismatch(
            facts(
                hs("default", H.ALERT, alert="handshake_failure", cert_requested=True),
                hs("all-ciphers", H.OK),
            )
        )
        is None
    )


def test_client_tls_policy_local_refusal_relaxed_passes() -> None:
    m = tls.client_tls_policy(
        facts(
            hs(
                "default",
                H.LOCAL_REJECT,
                error="[SSL: UNSAFE_LEGACY_RENEGOTIATION_DISABLED] unsafe legacy renegotiation disabled",
            ),
            hs("seclevel-0", H.OK),
        )
    )
    assert m is not None and m.confidence >= 0.8


def test_client_tls_policy_near_miss_weak_key_is_certificate() -> None:
    assert (
        tls.client_tls_policy(
            facts(
                hs("default", H.LOCAL_REJECT, error="[SSL: EE_KEY_TOO_SMALL] ee key too small"),
                hs("all-ciphers", H.OK),
            )
        )
        is None
    )


def test_every_variant_in_helpers_is_a_real_variant() -> None:
    from tlsdoctor.checks.handshake import DEFAULT, VARIANTS

    assert set(ALL_VARIANTS) == {DEFAULT.name, *(v.name for v in VARIANTS)}


def test_sni_required_near_miss_only_the_unrelated_name_is_refused() -> None:
    refused = hs("unrelated-name", H.ALERT, alert="unrecognized_name", servername="www.example.com")
    assert tls.sni_required(facts(hs("default", H.VERIFY_FAILED), hs("no-verify", H.OK), refused)) is None


# A variant changes one thing (issue 9 item 9): version, suites and security level are read apart.
MODERN_REFUSED = [hs(v, H.ALERT, alert="protocol_version") for v in ("default", "tls1.3", "tls1.2")]


def test_protocol_mismatch_legacy_answer_refused_by_our_own_level() -> None:
    # OpenSSL 3 at the client's level refuses TLS 1.0's MD5-SHA1 signature after the server's flight.
    legacy = hs(
        "tls1.0", H.LOCAL_REJECT, error="[SSL: LEGACY_SIGALG_DISALLOWED_OR_UNSUPPORTED] legacy sigalg"
    )
    m = tls.protocol_mismatch(facts(*MODERN_REFUSED, legacy))
    assert m is not None and m.confidence >= 0.85 and "TLS 1.0" in m.summary


def test_protocol_mismatch_near_miss_tls12_refused_over_suites() -> None:
    # The server speaks TLS 1.2 but only with a suite the client lacks: not a version problem.
    runs = [
        hs("default", H.ALERT, alert="handshake_failure"),
        hs("tls1.3", H.ALERT, alert="protocol_version"),
        hs("tls1.2", H.ALERT, alert="handshake_failure"),
        hs("tls1.0", H.OK, version="TLSv1", cipher="AES128-SHA"),
        hs("all-ciphers", H.OK, version="TLSv1.2", cipher="AES128-SHA"),
    ]
    assert tls.protocol_mismatch(facts(*runs)) is None
    m = tls.cipher_mismatch(facts(*runs))
    assert m is not None and "AES128-SHA" in m.summary


def test_cipher_mismatch_only_below_every_level() -> None:
    runs = [
        hs("default", H.ALERT, alert="handshake_failure"),
        hs("all-ciphers", H.ALERT, alert="handshake_failure"),
        hs("seclevel-0", H.ALERT, alert="handshake_failure"),
        hs("legacy", H.OK, version="TLSv1.2", cipher="NULL-SHA256"),
    ]
    m = tls.cipher_mismatch(facts(*runs))
    assert m is not None and "NULL-SHA256" in m.summary


def test_cipher_mismatch_near_miss_relaxed_client_only_at_tls10() -> None:
    runs = [
        hs("default", H.ALERT, alert="handshake_failure"),
        hs("all-ciphers", H.ALERT, alert="handshake_failure"),
        hs("seclevel-0", H.ALERT, alert="handshake_failure"),
        hs("legacy", H.OK, version="TLSv1", cipher="EXP-RC4-MD5"),
    ]
    assert tls.cipher_mismatch(facts(*runs)) is None


def test_client_tls_policy_small_dh_passes_at_level_zero() -> None:
    runs = [
        hs("default", H.LOCAL_REJECT, error="[SSL: DH_KEY_TOO_SMALL] dh key too small"),
        hs("all-ciphers", H.LOCAL_REJECT, error="[SSL: DH_KEY_TOO_SMALL] dh key too small"),
        hs("seclevel-0", H.OK, version="TLSv1.2", cipher="DHE-RSA-AES128-GCM-SHA256"),
    ]
    m = tls.client_tls_policy(facts(*runs))
    assert m is not None and m.confidence >= 0.8 and "Diffie-Hellman" in m.summary
    assert tls.cipher_mismatch(facts(*runs)) is None


def test_client_tls_policy_near_miss_every_suite_also_connects() -> None:
    runs = [
        hs("default", H.ALERT, alert="handshake_failure"),
        hs("all-ciphers", H.OK, version="TLSv1.2", cipher="AES128-SHA"),
        hs("seclevel-0", H.OK, version="TLSv1.2", cipher="AES128-SHA"),
    ]
    assert tls.client_tls_policy(facts(*runs)) is None


# Server protocol violations and post-handshake refusals (issue 10 item 4, issue 9 item 10).
def test_violation_names_the_closest_cause_not_the_clients_policy() -> None:
    v = "the server chose a cipher suite the client never offered"
    runs = [
        hs(n, H.LOCAL_REJECT, error="[SSL: WRONG_CIPHER_RETURNED] wrong cipher", violation=v)
        for n in ALL_VARIANTS
    ]
    m = tls.cipher_mismatch(facts(*runs))
    assert m is not None and "never offered" in m.summary and m.fixes
    assert tls.client_tls_policy(facts(*runs)) is None
    assert tls.server_closed(facts(*runs)) is None


def test_violation_near_miss_plain_local_refusal_is_not_a_violation() -> None:
    runs = [hs("default", H.LOCAL_REJECT, error="[SSL: DH_KEY_TOO_SMALL] dh key too small")]
    assert tls.server_closed(facts(*runs)) is None
    assert tls.cipher_mismatch(facts(*runs)) is None


def test_client_cert_required_from_http_400_after_the_handshake() -> None:
    page = b"HTTP/1.1 400 Bad Request\r\n\r\n<center>No required SSL certificate was sent</center>"
    a = hs("default", H.OK, cert_requested=True, after="http 400 Bad Request", after_bytes=page)
    m = tls.client_cert_required(facts(a))
    assert m is not None and m.confidence >= 0.85


def test_client_cert_required_near_miss_plain_400_without_certificate_words() -> None:
    page = b"HTTP/1.1 400 Bad Request\r\n\r\nbad request"
    a = hs("default", H.OK, cert_requested=True, after="http 400 Bad Request", after_bytes=page)
    assert tls.client_cert_required(facts(a)) is None


def test_client_cert_required_from_a_tls13_hang_up_after_certificate_request() -> None:
    a = hs("default", H.EOF, version="TLSv1.3", cert_requested=True, after="closed", bytes_received=2400)
    assert tls.client_cert_required(facts(a)) is not None
    assert tls.server_closed(facts(a)) is None


def test_hang_up_after_handshake_without_request_is_server_closed() -> None:
    a = hs("default", H.EOF, version="TLSv1.3", cert_requested=False, after="closed", bytes_received=2400)
    assert tls.client_cert_required(facts(a)) is None
    m = tls.server_closed(facts(a))
    assert m is not None and m.confidence >= 0.5


def scan(**fields: object) -> AcceptScan:
    base: dict[str, object] = {
        "versions": ("TLSv1.3",),
        "suites13": ("TLS_AES_128_CCM_8_SHA256",),
        "suites12": (),
        "groups": ("x25519",),
        "schemes": (),
        "client_versions": ("TLSv1.3", "TLSv1.2"),
        "client_suites": ("TLS_AES_256_GCM_SHA384", "TLS_AES_128_GCM_SHA256"),
        "client_groups": ("x25519", "secp256r1"),
        "client_schemes": ("rsa_pss_rsae_sha256",),
    }
    base.update(fields)
    return AcceptScan(**base)  # type: ignore[arg-type]


def test_scan_names_the_tls13_suite_default_clients_lack() -> None:
    runs = [hs("default", H.ALERT, alert="handshake_failure"), scan()]
    m = tls.cipher_mismatch(facts(*runs))
    assert m is not None and m.confidence >= 0.75 and "TLS_AES_128_CCM_8_SHA256" in m.summary


def test_scan_near_miss_a_suite_in_common_names_nothing() -> None:
    runs = [hs("default", H.ALERT, alert="handshake_failure"), scan(suites13=("TLS_AES_128_GCM_SHA256",))]
    assert tls.cipher_mismatch(facts(*runs)) is None


def test_scan_no_common_version_is_protocol_mismatch() -> None:
    runs = [hs("default", H.ALERT, alert="protocol_version"), scan(versions=("TLSv1.0",), suites13=())]
    m = tls.protocol_mismatch(facts(*runs))
    assert m is not None and "TLSv1.0" in m.summary


def test_client_tls_policy_unexplained_refusal_is_a_weak_candidate_with_a_next_step() -> None:
    m = tls.client_tls_policy(
        facts(hs("default", H.LOCAL_REJECT, error="[SSL: SOMETHING_NEW] something new"))
    )
    assert m is not None and m.confidence < 0.5 and "openssl s_client" in m.summary


def test_client_tls_policy_near_miss_violation_is_never_policy() -> None:
    a = hs("default", H.LOCAL_REJECT, error="[SSL] ASN1 lib", violation="junk Certificate")
    assert tls.client_tls_policy(facts(a)) is None


def test_stall_after_server_hello_at_every_mss_is_the_server_not_the_path() -> None:
    from tlsdoctor.observations.path import MssProbe

    runs = every(H.TIMEOUT, bytes_received=127)
    small = [
        MssProbe(address="198.18.0.10", port=443, mss=m, outcome="timeout", bytes_received=127)
        for m in (1200, 536)
    ]
    assert tls.path_mtu_blackhole(facts(*runs, *small)) is None
    m = tls.server_overloaded(facts(*runs, *small))
    assert m is not None and "mid-handshake" in m.summary


def test_stall_near_miss_small_mss_gets_further_is_still_the_path() -> None:
    from tlsdoctor.observations.path import MssProbe

    runs = every(H.TIMEOUT, bytes_received=1448)
    small = [MssProbe(address="198.18.0.10", port=443, mss=536, outcome="ok", bytes_received=4000)]
    assert tls.path_mtu_blackhole(facts(*runs, *small)) is not None
    assert tls.server_overloaded(facts(*runs, *small)) is None
