"""analyse_chain on chains made here, all judged at NOW (a FixedClock instant)."""

from __future__ import annotations

import datetime as dt

from certkit import DAY, NOW, Pki, der, key, make, name, resign_sha1
from cryptography.hazmat.primitives import hashes

from tlsdoctor.certs.analysis import analyse_chain, complete_with, normalise_fingerprint, would_validate_at
from tlsdoctor.observations.base import Observation
from tlsdoctor.observations.cert import CertificateInfo, CertificateProblem, ChainValidation, ProblemKind


def problems(obs: list[Observation]) -> dict[ProblemKind, CertificateProblem]:
    return {o.problem: o for o in obs if isinstance(o, CertificateProblem)}


def validation(obs: list[Observation]) -> ChainValidation:
    return next(o for o in obs if isinstance(o, ChainValidation))


def test_good_chain_has_no_problem(pki: Pki) -> None:
    obs = analyse_chain(pki.chain(pki.leaf("example.test")), "example.test", [pki.root], NOW)
    assert problems(obs) == {}
    v = validation(obs)
    assert v.valid and v.path[-1] == "CN=Test Root CA,O=tlsdoctor tests"
    infos = [o for o in obs if isinstance(o, CertificateInfo)]
    assert [i.index for i in infos] == [0, 1]
    leaf = infos[0]
    assert leaf.sans == ("DNS:example.test",) and leaf.key_type == "EC" and leaf.key_bits == 256
    assert leaf.signature_hash == "sha256" and not leaf.is_ca and not leaf.self_signed
    assert round(leaf.days_left) == 60 and len(leaf.sha256) == 64
    assert infos[1].is_ca


def test_expired_leaf_and_validity_at_corrected_time(pki: Pki) -> None:
    leaf = pki.leaf("example.test", not_before=NOW - 90 * DAY, not_after=NOW - 3 * DAY)
    obs = analyse_chain(pki.chain(leaf), "example.test", [pki.root], NOW)
    found = problems(obs)
    assert set(found) == {ProblemKind.EXPIRED}
    p = found[ProblemKind.EXPIRED]
    assert p.index == 0 and p.days is not None and round(p.days) == 3 and p.at == NOW
    assert "3 days ago" in p.detail
    assert not validation(obs).valid
    assert would_validate_at(pki.chain(leaf), "example.test", [pki.root], NOW - 10 * DAY)
    assert not would_validate_at(pki.chain(leaf), "example.test", [pki.root], NOW)


def test_expired_intermediate(pki: Pki) -> None:
    inter = make(
        name("Old Intermediate"),
        key("ec", "inter"),
        issuer=pki.root,
        issuer_key=pki.root_key,
        ca=True,
        not_before=NOW - 400 * DAY,
        not_after=NOW - 1 * DAY,
    )
    leaf = make(
        name("example.test"), key("ec", "leaf"), issuer=inter, issuer_key=pki.inter_key, sans=["example.test"]
    )
    found = problems(analyse_chain((der(leaf), der(inter)), "example.test", [pki.root], NOW))
    assert found[ProblemKind.EXPIRED].index == 1


def test_not_yet_valid(pki: Pki) -> None:
    leaf = pki.leaf("example.test", not_before=NOW + 2 * DAY, not_after=NOW + 90 * DAY)
    found = problems(analyse_chain(pki.chain(leaf), "example.test", [pki.root], NOW))
    assert set(found) == {ProblemKind.NOT_YET_VALID}
    assert found[ProblemKind.NOT_YET_VALID].days == 2.0


def test_expires_soon_is_a_warning_kind(pki: Pki) -> None:
    leaf = pki.leaf("example.test", not_after=NOW + 5 * DAY)
    found = problems(analyse_chain(pki.chain(leaf), "example.test", [pki.root], NOW))
    assert set(found) == {ProblemKind.EXPIRES_SOON}


def test_wrong_name(pki: Pki) -> None:
    obs = analyse_chain(pki.chain(pki.leaf("other.test", "www.other.test")), "example.test", [pki.root], NOW)
    found = problems(obs)
    assert set(found) == {ProblemKind.HOSTNAME_MISMATCH}
    assert "other.test" in found[ProblemKind.HOSTNAME_MISMATCH].detail
    assert not validation(obs).valid


def test_ip_san(pki: Pki) -> None:
    chain = pki.chain(pki.leaf("example.test", "192.0.2.7", "2001:db8::1"))
    assert problems(analyse_chain(chain, "192.0.2.7", [pki.root], NOW)) == {}
    assert problems(analyse_chain(chain, "2001:db8::1", [pki.root], NOW)) == {}
    assert set(problems(analyse_chain(chain, "192.0.2.8", [pki.root], NOW))) == {
        ProblemKind.HOSTNAME_MISMATCH
    }


def test_cn_only_leaf_matches_as_openssl_does_with_a_note(pki: Pki) -> None:
    """No SAN: OpenSSL's X509_check_host (Python's ssl, curl) falls back to the CN; Go does not."""
    leaf = make(name("x.example.test"), key("ec", "leaf"), issuer=pki.inter, issuer_key=pki.inter_key)
    obs = analyse_chain(pki.chain(leaf), "x.example.test", [pki.root], NOW)
    found = problems(obs)
    assert set(found) == {ProblemKind.STRICT_PROFILE}
    assert "no subjectAltName" in found[ProblemKind.STRICT_PROFILE].detail
    assert "Go (1.15+)" in found[ProblemKind.STRICT_PROFILE].detail
    assert validation(obs).valid
    mismatch = problems(analyse_chain(pki.chain(leaf), "y.example.test", [pki.root], NOW))
    assert ProblemKind.HOSTNAME_MISMATCH in mismatch
    assert "does not match either" in mismatch[ProblemKind.HOSTNAME_MISMATCH].detail
    # A DNS SAN, even for another name, turns the CN fallback off (RFC 6125 section 6.4.4).
    with_san = make(
        name("x.example.test"), key("ec", "leaf"), issuer=pki.inter, issuer_key=pki.inter_key, sans=["o.test"]
    )
    found = problems(analyse_chain(pki.chain(with_san), "x.example.test", [pki.root], NOW))
    assert ProblemKind.HOSTNAME_MISMATCH in found


def test_ip_name_does_not_match_dns_san_spelled_like_it(pki: Pki) -> None:
    leaf = make(name("192.0.2.1"), key("ec", "leaf"), issuer=pki.inter, issuer_key=pki.inter_key)
    leaf_with_dns_ip = make(
        name("x"), key("ec", "leaf"), issuer=pki.inter, issuer_key=pki.inter_key, sans=["example.test"]
    )
    # An IP reference never falls back to the CN (X509_check_ip reads iPAddress SANs only).
    assert ProblemKind.HOSTNAME_MISMATCH in problems(
        analyse_chain(pki.chain(leaf), "192.0.2.1", [pki.root], NOW)
    )
    assert ProblemKind.HOSTNAME_MISMATCH in problems(
        analyse_chain(pki.chain(leaf_with_dns_ip), "192.0.2.1", [pki.root], NOW)
    )


def test_wildcard(pki: Pki) -> None:
    chain = pki.chain(pki.leaf("*.example.test"))
    assert problems(analyse_chain(chain, "www.example.test", [pki.root], NOW)) == {}
    assert ProblemKind.HOSTNAME_MISMATCH in problems(analyse_chain(chain, "example.test", [pki.root], NOW))
    assert ProblemKind.HOSTNAME_MISMATCH in problems(
        analyse_chain(chain, "a.b.example.test", [pki.root], NOW)
    )


def test_self_signed_leaf() -> None:
    leaf = make(name("example.test"), key("ec", "self"), sans=["example.test"])
    obs = analyse_chain((der(leaf),), "example.test", [Pki().root], NOW)
    found = problems(obs)
    assert set(found) == {ProblemKind.SELF_SIGNED}
    info = next(o for o in obs if isinstance(o, CertificateInfo))
    assert info.self_signed


def test_self_signed_leaf_trusted_explicitly_is_fine() -> None:
    leaf = make(name("example.test"), key("ec", "self"), sans=["example.test"])
    obs = analyse_chain((der(leaf),), "example.test", [leaf], NOW)
    assert ProblemKind.SELF_SIGNED not in problems(obs)


def test_untrusted_root_sent_by_server(pki: Pki) -> None:
    other = Pki(root_name="Some Other Root")
    chain = (*pki.chain(pki.leaf("example.test")), der(pki.root))
    found = problems(analyse_chain(chain, "example.test", [other.root], NOW))
    assert set(found) == {ProblemKind.UNTRUSTED_ROOT}
    assert found[ProblemKind.UNTRUSTED_ROOT].index == 2


def test_missing_intermediate_then_completed_by_fetched_issuer(pki: Pki) -> None:
    leaf = pki.leaf("example.test", aia="http://127.0.0.1:1/inter.der")
    sent = (der(leaf),)
    found = problems(analyse_chain(sent, "example.test", [pki.root], NOW))
    assert set(found) == {ProblemKind.INCOMPLETE_CHAIN}
    assert found[ProblemKind.INCOMPLETE_CHAIN].confirmed is None
    obs = analyse_chain(sent, "example.test", [pki.root], NOW, fetched=[der(pki.inter)])
    found = problems(obs)
    assert found[ProblemKind.INCOMPLETE_CHAIN].confirmed is True
    assert validation(obs).valid and validation(obs).store.endswith("+fetched")
    assert complete_with(sent, der(pki.inter)) == (der(leaf), der(pki.inter))
    assert complete_with((der(leaf), der(pki.inter)), der(pki.inter)) == (der(leaf), der(pki.inter))


def test_fetched_issuer_that_is_an_untrusted_root(pki: Pki) -> None:
    other = Pki(root_name="Private Root")
    leaf = make(
        name("example.test"),
        key("ec", "leaf"),
        issuer=other.root,
        issuer_key=other.root_key,
        sans=["example.test"],
    )
    found = problems(analyse_chain((der(leaf),), "example.test", [pki.root], NOW, fetched=[der(other.root)]))
    assert set(found) == {ProblemKind.UNTRUSTED_ROOT}


def test_fetched_issuer_that_does_not_help(pki: Pki) -> None:
    other = Pki(root_name="Unrelated Root")
    leaf = pki.leaf("example.test")
    found = problems(analyse_chain((der(leaf),), "example.test", [pki.root], NOW, fetched=[der(other.root)]))
    assert found[ProblemKind.INCOMPLETE_CHAIN].confirmed is False


def test_sha1_signature(pki: Pki) -> None:
    rsa_key = key("rsa2048", "inter")
    inter = make(name("RSA Intermediate"), rsa_key, issuer=pki.root, issuer_key=pki.root_key, ca=True)
    leaf = make(
        name("example.test"), key("ec", "leaf"), issuer=inter, issuer_key=rsa_key, sans=["example.test"]
    )
    assert problems(analyse_chain((der(leaf), der(inter)), "example.test", [pki.root], NOW)) == {}
    sha1_leaf = resign_sha1(leaf, rsa_key)  # type: ignore[arg-type]
    obs = analyse_chain((sha1_leaf, der(inter)), "example.test", [pki.root], NOW)
    found = problems(obs)
    assert set(found) == {ProblemKind.WEAK_SIGNATURE}
    assert "SHA1" in found[ProblemKind.WEAK_SIGNATURE].detail
    assert not validation(obs).valid  # the verifier refuses SHA-1 too


def test_rsa1024_key(pki: Pki) -> None:
    leaf = pki.leaf("example.test", key_=key("rsa1024"))
    found = problems(analyse_chain(pki.chain(leaf), "example.test", [pki.root], NOW))
    assert set(found) == {ProblemKind.WEAK_KEY}
    assert "1024" in found[ProblemKind.WEAK_KEY].detail


def test_rsa2048_key_is_fine(pki: Pki) -> None:
    leaf = pki.leaf("example.test", key_=key("rsa2048"))
    assert problems(analyse_chain(pki.chain(leaf), "example.test", [pki.root], NOW)) == {}


def test_interception_issuer() -> None:
    box = Pki(root_name="FortiGate CA", inter_name="Fortinet_CA_SSL", inter_org="Fortinet")
    chain = box.chain(box.leaf("example.test"))
    found = problems(analyse_chain(chain, "example.test", [Pki().root], NOW))
    assert found[ProblemKind.INTERCEPTION].product == "Fortinet FortiGate"
    assert found[ProblemKind.INTERCEPTION].source
    assert ProblemKind.INCOMPLETE_CHAIN in found  # the box's root is not trusted here


def test_plain_issuer_is_not_interception(pki: Pki) -> None:
    assert ProblemKind.INTERCEPTION not in problems(
        analyse_chain(pki.chain(pki.leaf("example.test")), "example.test", [pki.root], NOW)
    )


def test_fresh_leaf_is_a_hint_only_beside_an_untrusted_chain(pki: Pki) -> None:
    """Automated renewals mint leaves minutes before an admin checks: normal when the chain validates."""
    leaf = pki.leaf("example.test", not_before=NOW - dt.timedelta(minutes=3))
    assert problems(analyse_chain(pki.chain(leaf), "example.test", [pki.root], NOW)) == {}
    stranger = make(name("Someone Else's Root"), key("ec", "other-root"), ca=True)
    found = problems(analyse_chain(pki.chain(leaf), "example.test", [stranger], NOW))
    assert ProblemKind.FRESH_LEAF in found and ProblemKind.INCOMPLETE_CHAIN in found


def test_expected_fingerprint(pki: Pki) -> None:
    leaf = pki.leaf("example.test")
    chain = pki.chain(leaf)
    good = next(
        o for o in analyse_chain(chain, "example.test", [pki.root], NOW) if isinstance(o, CertificateInfo)
    )
    colons = ":".join(good.sha256[i : i + 2] for i in range(0, 64, 2)).upper()
    assert problems(analyse_chain(chain, "example.test", [pki.root], NOW, expect_fingerprint=colons)) == {}
    found = problems(analyse_chain(chain, "example.test", [pki.root], NOW, expect_fingerprint="ab" * 32))
    assert set(found) == {ProblemKind.FINGERPRINT_MISMATCH}
    assert normalise_fingerprint("sha256:AB:CD") == "abcd"


def test_garbage_and_empty_chain() -> None:
    found = problems(analyse_chain((b"\x30\x03\x02\x01\x00",), "example.test", [], NOW))
    assert set(found) == {ProblemKind.UNPARSEABLE}
    assert set(problems(analyse_chain((), "example.test", [], NOW))) == {ProblemKind.UNPARSEABLE}


def test_no_anchors_at_all(pki: Pki) -> None:
    obs = analyse_chain(pki.chain(pki.leaf("example.test")), "example.test", [], NOW)
    assert ProblemKind.INCOMPLETE_CHAIN in problems(obs)
    assert validation(obs).error == "no trust anchors"


def test_observations_render_as_data(pki: Pki) -> None:
    leaf = pki.leaf("example.test", not_after=NOW - DAY)
    for o in analyse_chain(pki.chain(leaf), "example.test", [pki.root], NOW):
        data = o.to_data()
        assert data["kind"] == o.kind
        assert o.describe()


def test_strict_objections_name_the_certificate_and_who_refuses(pki: Pki) -> None:
    from cryptography import x509 as x

    from tlsdoctor.certs.profile import objections

    full = [pki.leaf("example.test"), pki.inter, pki.root]  # certkit adds every extension RFC 5280 wants
    assert objections(full) == []
    root_key = key("ec", "bare-root-2")
    bare_root = (
        x.CertificateBuilder()
        .subject_name(name("Bare Root 2"))
        .issuer_name(name("Bare Root 2"))
        .public_key(root_key.public_key())
        .serial_number(7)
        .not_valid_before(NOW - DAY)
        .not_valid_after(NOW + DAY)
        .add_extension(x.BasicConstraints(ca=True, path_length=None), critical=False)
        .sign(root_key, hashes.SHA256())
    )
    leaf = make(
        name("example.test"), key("ec", "leaf"), issuer=bare_root, issuer_key=root_key, sans=["example.test"]
    )
    found = [str(o) for o in objections([leaf, bare_root])]
    assert found == [
        "CN=Bare Root 2,O=tlsdoctor tests has basicConstraints not marked critical "
        "(refused by strict RFC 5280 validators such as pyca/cryptography's)",
        "CN=Bare Root 2,O=tlsdoctor tests has no subjectKeyIdentifier "
        "(refused by strict RFC 5280 validators such as pyca/cryptography's)",
        "CN=Bare Root 2,O=tlsdoctor tests has no keyUsage (refused by strict RFC 5280 validators such as "
        "pyca/cryptography's)",
    ]


def test_an_intermediate_must_say_ca_an_anchor_may_not(pki: Pki) -> None:
    """OpenSSL 3 (checked with `openssl verify`): a keyUsage-only intermediate is an invalid CA; the
    same certificate as the trust anchor is accepted."""
    from cryptography import x509 as x

    def ku_only(subject: str, signer_key: object, issuer: str) -> x.Certificate:
        own = key("ec", "ku-only")
        return (
            x.CertificateBuilder()
            .subject_name(name(subject))
            .issuer_name(name(issuer))
            .public_key(own.public_key())
            .serial_number(9)
            .not_valid_before(NOW - DAY)
            .not_valid_after(NOW + 90 * DAY)
            .add_extension(
                x.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True
            )
            .sign(signer_key, hashes.SHA256())  # type: ignore[arg-type]
        )

    inter = ku_only("KU-only Intermediate", pki.root_key, "Test Root CA")
    leaf = make(
        name("example.test"),
        key("ec", "leaf"),
        issuer=inter,
        issuer_key=key("ec", "ku-only"),
        sans=["example.test"],
    )
    obs = analyse_chain((der(leaf), der(inter)), "example.test", [pki.root], NOW)
    assert not validation(obs).valid and "invalid CA" in validation(obs).error
    assert set(problems(obs)) == {ProblemKind.REJECTED}
    anchor = ku_only("KU-only Root", key("ec", "ku-only"), "KU-only Root")
    leaf = make(
        name("example.test"),
        key("ec", "leaf"),
        issuer=anchor,
        issuer_key=key("ec", "ku-only"),
        sans=["example.test"],
    )
    assert validation(analyse_chain((der(leaf),), "example.test", [anchor], NOW)).valid
