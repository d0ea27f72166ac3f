"""Known-bad roots (issue 9 item 11): identified exactly by fingerprint, heuristically by subject CN.

We cannot have the real Superfish or eDellRoot certificates (nor would we ship them), so the
subject path is exercised with a look-alike made here, and the fingerprint path with a table
entry naming a certificate made here.
"""

from __future__ import annotations

import hashlib
import re

from certkit import DAY, NOW, der, key, make, name

from tlsdoctor.certs import interception
from tlsdoctor.certs.analysis import analyse_chain
from tlsdoctor.observations.cert import CertificateProblem, ChainValidation, ProblemKind


def leaked(obs: list[object]) -> list[CertificateProblem]:
    return [o for o in obs if isinstance(o, CertificateProblem) and o.problem is ProblemKind.LEAKED_ROOT]


def superfish_lookalike() -> tuple[object, object, object]:
    """A root with the subject the write-ups give Superfish's, and a leaf it signs."""
    root_key = key("ec", "superfish")
    root = make(name("Superfish, Inc.", "Superfish, Inc."), root_key, ca=True, not_before=NOW - 900 * DAY)
    leaf = make(
        name("www.bank.test"), key("ec", "leaf"), issuer=root, issuer_key=root_key, sans=["www.bank.test"]
    )
    return root, root_key, leaf


def test_table_entries_are_identifiable_and_cited() -> None:
    roots = interception.leaked_roots()
    assert len(roots) >= 8
    for root in roots:
        assert root.source and root.incident
        assert root.sha256 or root.sha1 or root.common_names
        assert all(re.fullmatch(r"[0-9a-f]{64}", h) for h in root.sha256)
        assert all(re.fullmatch(r"[0-9a-f]{40}", h) for h in root.sha1)
    incidents = " ".join(r.incident for r in roots)
    for known in ("Superfish", "eDellRoot", "DSDTestProvider", "Sennheiser", "PrivDog"):
        assert known in incidents


def test_lookalike_subject_is_flagged_by_name_only_untrusted_and_trusted() -> None:
    root, _, leaf = superfish_lookalike()
    untrusted = leaked(analyse_chain((der(leaf), der(root)), "www.bank.test", [], NOW))  # type: ignore[arg-type]
    assert len(untrusted) == 1
    found = untrusted[0]
    assert found.identified_by == "subject" and "Superfish" in found.product
    assert "by name only" in found.detail and "Errata Security" in found.source
    # Installed in the trust store (as the adware did): the chain validates, and is still flagged.
    obs = analyse_chain((der(leaf),), "www.bank.test", [root], NOW)  # type: ignore[list-item,arg-type]
    assert next(o for o in obs if isinstance(o, ChainValidation)).valid
    assert [p.identified_by for p in leaked(obs)] == ["subject"]


def test_fingerprint_is_exact() -> None:
    root, _, _ = superfish_lookalike()
    root_der = der(root)  # type: ignore[arg-type]
    by_sha256 = interception.LeakedRoot(
        incident="test incident",
        common_names=frozenset(),
        sha256=frozenset({hashlib.sha256(root_der).hexdigest()}),
        sha1=frozenset(),
        source="here",
    )
    by_sha1 = interception.LeakedRoot(
        incident="test incident (sha1)",
        common_names=frozenset(),
        sha256=frozenset(),
        sha1=frozenset({hashlib.sha1(root_der, usedforsecurity=False).hexdigest()}),
        source="here",
    )
    for table in ([by_sha256], [by_sha1]):
        match = interception.match_leaked(root_der, ["Anything"], ["Anything"], "CN=x", table)
        assert match is not None and match.by == "fingerprint"
    # The real table does not hold this look-alike's fingerprint: only its name matches.
    match = interception.match_leaked(root_der, ["Superfish, Inc."], ["Superfish, Inc."], "CN=x")
    assert match is not None and match.by == "subject"


def test_near_misses_are_not_flagged() -> None:
    """A similar but different CN, and an ordinary private CA, are not known-bad roots."""
    other_key = key("ec", "superfishy")
    root = make(name("Superfish, Inc. Clone CA", "Acme"), other_key, ca=True)
    leaf = make(
        name("www.bank.test"), key("ec", "leaf"), issuer=root, issuer_key=other_key, sans=["www.bank.test"]
    )
    assert leaked(analyse_chain((der(leaf),), "www.bank.test", [root], NOW)) == []


def test_a_fresh_leaf_and_strict_notes_are_not_scan_weaknesses() -> None:
    """Issue 9 item 5: never "the certificate chain does not validate" for a chain that validates."""
    from tlsdoctor.scan.result import CertificateResult, ScanData
    from tlsdoctor.scan.weaknesses import find_weaknesses

    root_key = key("ec", "plain-root")
    root = make(name("Plain Private Root"), root_key, ca=True, not_before=NOW - 90 * DAY)
    fresh = make(
        name("www.example.test"),
        key("ec", "leaf"),
        issuer=root,
        issuer_key=root_key,
        sans=["www.example.test"],
        not_before=NOW - DAY / 24 / 6,  # ten minutes ago
    )
    chain = (der(fresh),)
    good = analyse_chain(chain, "www.example.test", [root], NOW)
    data = ScanData(certificates=[CertificateResult(key_type="ECDSA", chain=chain, observations=list(good))])
    assert [w.id for w in find_weaknesses(data) if w.id == "certificate"] == []
    bad = analyse_chain(chain, "www.example.test", [], NOW)
    data = ScanData(certificates=[CertificateResult(key_type="ECDSA", chain=chain, observations=list(bad))])
    assert [w.id for w in find_weaknesses(data) if w.id == "certificate"] == ["certificate"]
