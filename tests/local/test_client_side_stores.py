"""client-ca-store across stores, at default options: the system store (SSL_CERT_FILE, as OpenSSL reads
it) lacks the CA an nginx chain needs, and another bundle on the machine has it: certifi's (a
`certifi` package earlier on the path, found the way tlsdoctor finds the real one) or the bundle
REQUESTS_CA_BUNDLE names. Certificates from the `openssl` command line; two real PEM bundles."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import facts, hs
from independent import independent_pki as pki

from tlsdoctor.inference.rules.stores import store_split
from tlsdoctor.observations.cert import ChainValidation, TrustStoreInfo
from tlsdoctor.observations.tls import HandshakeOutcome

NAME = "stores.corpus.test"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path | int]]:
    """nginx serving a leaf of "Corp Root"; bundle-without.pem lacks that root, bundle-with.pem has it."""
    missing = [t for t in ("openssl", "nginx") if shutil.which(t) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (Debian packages; .ci installs them)")
    d = tmp_path_factory.mktemp("stores")
    corp = pki.ossl_root(d, "corp", "Corp Root")
    other = pki.ossl_root(d, "other", "Some Public Root")
    leaf, key = pki.ossl_issue(d, "leaf", NAME, corp, extfile=pki.leaf_ext(NAME), days=30)
    without = d / "bundle-without.pem"
    without.write_text(other[0].read_text())
    with_corp = d / "bundle-with.pem"
    with_corp.write_text(other[0].read_text() + corp[0].read_text())
    empty_dir = d / "no-hashed-dir"
    empty_dir.mkdir()
    shadow = d / "shadow"  # a certifi installed earlier on sys.path than the real one
    (shadow / "certifi").mkdir(parents=True)
    with pki.nginx(d, chain=[leaf], key=key) as port:
        yield {
            "port": port,
            "corp": corp[0],
            "without": without,
            "with": with_corp,
            "empty_dir": empty_dir,
            "shadow": shadow,
        }


def diagnose(
    site: dict[str, Path | int], *extra: str, certifi: Path | None = None, **env: str
) -> dict[str, Any]:
    """The CLI at default options; the system store is ``bundle-without.pem`` (SSL_CERT_FILE)."""
    argv = [
        sys.executable,
        "-m",
        "tlsdoctor",
        "diagnose",
        f"{NAME}:{site['port']}",
        "--connect-to",
        "127.0.0.1",
    ]
    argv += [*extra, "--timeout", "5", "--json"]
    environ = dict(os.environ, SSL_CERT_FILE=str(site["without"]), SSL_CERT_DIR=str(site["empty_dir"]), **env)
    for var in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "NODE_EXTRA_CA_CERTS"):
        if var not in env:
            environ.pop(var, None)
    if certifi is not None:
        shadow = Path(site["shadow"])  # type: ignore[arg-type]
        (shadow / "certifi" / "__init__.py").write_text(f"def where():\n    return {str(certifi)!r}\n")
        environ["PYTHONPATH"] = str(shadow)
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120, env=environ, check=False)
    assert proc.stdout, proc.stderr[-800:]
    report: dict[str, Any] = json.loads(proc.stdout)
    report["exit"] = proc.returncode
    return report


def ids(report: dict[str, Any]) -> list[str]:
    return [c["id"] for c in report["causes"]]


def test_system_store_lacks_the_root_certifi_has_it(site: dict[str, Path | int]) -> None:
    report = diagnose(site, certifi=Path(site["with"]))  # type: ignore[arg-type]
    assert report["exit"] == 1
    top = report["causes"][0]
    assert top["id"] == "client-ca-store", ids(report)
    assert top["confidence"] >= 0.8
    assert "the system store" in top["summary"] and str(site["without"]) in top["summary"]
    assert "lacks CN=Corp Root" in top["summary"]
    assert f"certifi's (Mozilla) bundle ({site['with']})" in top["summary"]
    assert "cert-untrusted" in ids(report)[1:]  # still said, below
    assert all(c["confidence"] < top["confidence"] for c in report["causes"][1:]), report["causes"]
    # certifi's root completes the chain: no intermediate is missing
    assert all(c["confidence"] < 0.5 for c in report["causes"] if c["id"] == "cert-chain-incomplete")


def test_the_bundle_requests_is_pointed_at_has_it(site: dict[str, Path | int]) -> None:
    report = diagnose(site, REQUESTS_CA_BUNDLE=str(site["with"]))
    top = report["causes"][0]
    assert top["id"] == "client-ca-store", ids(report)
    assert f"REQUESTS_CA_BUNDLE names ({site['with']})" in top["summary"]


def test_no_store_has_it_is_untrusted_not_the_store(site: dict[str, Path | int]) -> None:
    report = diagnose(site, certifi=Path(site["without"]))  # type: ignore[arg-type]
    assert report["exit"] == 1
    # a lone leaf of an unknown issuer: an omitted intermediate or an untrusted root (rules/cert.py)
    assert ids(report)[0] in ("cert-chain-incomplete", "cert-untrusted"), ids(report)
    assert "client-ca-store" not in ids(report)


def test_a_ca_file_with_the_private_root_is_the_users_choice(site: dict[str, Path | int]) -> None:
    """Issue 9 item 5: --ca-file naming a CA the system store lacks is trust the user chose."""
    report = diagnose(site, "--ca-file", str(site["corp"]), certifi=Path(site["without"]))  # type: ignore[arg-type]
    assert report["exit"] == 0 and ids(report) == ["healthy"], ids(report)


def test_a_ca_file_that_lacks_the_root_another_store_has(site: dict[str, Path | int]) -> None:
    report = diagnose(site, "--ca-file", str(site["without"]), certifi=Path(site["with"]))  # type: ignore[arg-type]
    top = report["causes"][0]
    assert top["id"] == "client-ca-store", ids(report)
    assert f"the --ca-file bundle ({site['without']})" in top["summary"]


def test_corporate_root_above_a_sent_intermediate(site: dict[str, Path | int], tmp_path: Path) -> None:
    """The usual shape: leaf and issuing CA sent, the root only in certifi's bundle (not a lone leaf)."""
    corp = (Path(site["corp"]), Path(site["corp"]).with_suffix(".key"))  # type: ignore[arg-type]
    inter = pki.ossl_issue(tmp_path, "inter", "Corp Issuing CA", corp, extfile=pki.INTERMEDIATE_EXT, days=365)
    leaf, key = pki.ossl_issue(tmp_path, "leaf2", NAME, inter, extfile=pki.leaf_ext(NAME), days=30)
    with pki.nginx(tmp_path, chain=[leaf, inter[0]], key=key) as port:
        report = diagnose({**site, "port": port}, certifi=Path(site["with"]))  # type: ignore[arg-type]
    top = report["causes"][0]
    assert top["id"] == "client-ca-store" and "lacks CN=Corp Root" in top["summary"], ids(report)
    assert all(c["confidence"] <= 0.5 for c in report["causes"][1:]), report["causes"]


# --- the rule on hand-made observations ----------------------------------------------------------------

AT = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)


def test_java_cacerts_has_it(site: dict[str, Path | int], tmp_path: Path) -> None:
    """A JDK (JAVA_HOME) whose cacerts keytool wrote with Corp Root: curl's store refuses, Java's accepts."""
    if shutil.which("keytool") is None:
        pytest.skip("needs keytool (a JDK; not in CI)")
    home = tmp_path / "jdk"
    (home / "lib" / "security").mkdir(parents=True)
    subprocess.run(
        [
            "keytool",
            "-importcert",
            "-noprompt",
            "-alias",
            "corp",
            "-file",
            str(site["corp"]),
            "-keystore",
            str(home / "lib/security/cacerts"),
            "-storetype",
            "JKS",
            "-storepass",
            "changeit",
        ],
        check=True,
        capture_output=True,
    )
    report = diagnose(site, certifi=Path(site["without"]), JAVA_HOME=str(home))  # type: ignore[arg-type]
    top = report["causes"][0]
    assert top["id"] == "client-ca-store", ids(report)
    assert f"Java's cacerts ({home / 'lib/security/cacerts'}, 1 anchors) has it" in top["summary"]
    assert "the system store" in top["summary"] and "lacks CN=Corp Root" in top["summary"]


def test_node_bundled_roots_load() -> None:
    """The real node on this machine: its compiled-in Mozilla roots, read with a bounded run."""
    import asyncio

    from tlsdoctor.certs.runtimes import node_roots

    if shutil.which("node") is None:
        pytest.skip("needs node on PATH (not in CI)")
    store = asyncio.run(node_roots())
    assert store is not None and not store.problem, store
    assert len(store.certificates) > 100
    assert store.label.startswith("node:node v")
    assert store.label.endswith(f", {len(store.certificates)} anchors")
    assert all(c.subject == c.issuer for c in store.certificates[:20])  # roots


def judged(store: str, valid: bool) -> ChainValidation:
    error = "" if valid else "unable to get the issuer CN=Corp Root of CN=x"
    path = ("CN=x", "CN=Corp Root") if valid else ()
    return ChainValidation(store=store, anchors=2, name="x", at=AT, valid=valid, error=error, path=path)


SYSTEM = TrustStoreInfo(source="system", anchors=140, cafile="/etc/ssl/certs/ca-certificates.crt")
CA_FILE = TrustStoreInfo(source="ca-file", anchors=1, cafile="/tmp/corp.pem")
REFUSED = hs("default", HandshakeOutcome.VERIFY_FAILED, verify_code=20)


def test_rule_store_split_positive() -> None:
    match = store_split(facts(REFUSED, SYSTEM, judged("system", False), judged("certifi:/c.pem", True)))
    assert match is not None and match.confidence == 0.9
    assert "the system store" in match.summary and "certifi's (Mozilla) bundle (/c.pem)" in match.summary


def test_rule_store_split_near_misses() -> None:
    # no other store validates it
    assert (
        store_split(facts(REFUSED, SYSTEM, judged("system", False), judged("certifi:/c.pem", False))) is None
    )
    # the --ca-file validates (the user's chosen trust), the system store does not
    assert (
        store_split(
            facts(REFUSED, CA_FILE, SYSTEM, judged("ca-file:/tmp/corp.pem", True), judged("system", False))
        )
        is None
    )
    # the client connected anyway
    ok = hs("default", HandshakeOutcome.OK)
    assert store_split(facts(ok, SYSTEM, judged("system", False), judged("certifi:/c.pem", True))) is None
