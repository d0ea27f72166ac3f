"""tls-interception by behaviour: one issuer that signs for the target and for an unrelated name."""

from __future__ import annotations

from certkit import NOW, Pki

from tlsdoctor.certs.mint import minted_for_any_name
from tlsdoctor.observations.cert import ProblemKind

UNRELATED = "www.example.com"


def test_one_issuer_minting_both_names_is_interception(pki: Pki) -> None:
    target = pki.chain(pki.leaf("api.corp.test"))
    other = pki.chain(pki.leaf(UNRELATED))
    found = minted_for_any_name(target, other, UNRELATED, "api.corp.test", NOW)
    assert found is not None and found.problem is ProblemKind.INTERCEPTION
    assert UNRELATED in found.detail


def test_a_server_sending_its_default_certificate_is_not(pki: Pki) -> None:
    leaf = pki.chain(pki.leaf("api.corp.test"))
    assert minted_for_any_name(leaf, leaf, UNRELATED, "api.corp.test", NOW) is None


def test_another_issuer_for_the_unrelated_name_is_not(pki: Pki) -> None:
    other_pki = Pki(inter_name="Some Other CA")
    target = pki.chain(pki.leaf("api.corp.test"))
    other = other_pki.chain(other_pki.leaf(UNRELATED))
    assert minted_for_any_name(target, other, UNRELATED, "api.corp.test", NOW) is None


def test_example_com_itself_is_exempt(pki: Pki) -> None:
    target = pki.chain(pki.leaf("example.com", "www.example.com"))
    assert minted_for_any_name(target, target, UNRELATED, "example.com", NOW) is None
