"""Weakness rules: a positive and a near miss each; the contract shape; the human tables."""

from __future__ import annotations

import io

from rich.console import Console

from tlsdoctor.report import scan_human
from tlsdoctor.scan.contract import to_contract
from tlsdoctor.scan.result import ProtocolResult, ScanData
from tlsdoctor.scan.weaknesses import find_weaknesses

MODERN = ProtocolResult(version="TLSv1.2", supported=True, suites=[0xC02F, 0xC030], server_order=True)


def data(*protocols: ProtocolResult, **features: object) -> ScanData:
    d = ScanData(protocols=list(protocols))
    d.features.update(features)
    return d


def ids(d: ScanData) -> set[str]:
    return {w.id for w in find_weaknesses(d)}


def test_a_modern_configuration_has_no_weakness() -> None:
    tls13 = ProtocolResult(version="TLSv1.3", supported=True, suites=[0x1301])
    assert (
        ids(data(MODERN, tls13, fallback_scsv=True, secure_renegotiation=True, ocsp_stapling=True)) == set()
    )


def test_old_versions_are_named_with_their_rfc() -> None:
    found = find_weaknesses(
        data(
            MODERN,
            ProtocolResult(version="TLSv1.0", supported=True, suites=[0xC013]),
            ProtocolResult(version="SSLv3", supported=True, suites=[0x0005]),
        )
    )
    by_id = {w.id: w for w in found}
    assert by_id["tls10"].reference.startswith("RFC 8996") and by_id["sslv3"].reference.startswith("RFC 7568")
    assert "rc4" in by_id and "cbc-tls10" in by_id
    assert "tls10" not in ids(data(MODERN, ProtocolResult(version="TLSv1.0", supported=False)))  # near miss


def test_suite_flags() -> None:
    weak = ProtocolResult(version="TLSv1.2", supported=True, suites=[0x000A, 0x0034, 0x0003, 0x0002, 0x002F])
    assert {"3des-sweet32", "anonymous", "export", "null-cipher", "no-pfs"} <= ids(data(weak))
    assert ids(data(MODERN)) & {"3des-sweet32", "anonymous", "export", "null-cipher", "no-pfs"} == set()


def test_dh_and_features() -> None:
    small = ProtocolResult(version="TLSv1.2", supported=True, suites=[0x009E], dh_bits=1024)
    assert "weak-dh" in ids(data(small))
    assert "weak-dh" not in ids(
        data(ProtocolResult(version="TLSv1.2", supported=True, suites=[0x9E], dh_bits=2048))
    )
    assert {"no-fallback-scsv", "compression", "no-secure-renegotiation"} <= ids(
        data(MODERN, fallback_scsv=False, compression="DEFLATE", secure_renegotiation=False)
    )
    assert "no-fallback-scsv" not in ids(data(MODERN, fallback_scsv=None))  # one version: not applicable


def test_contract_shape_and_human_tables() -> None:
    d = data(
        MODERN,
        ProtocolResult(version="TLSv1.0", supported=True, suites=[0x000A]),
        alpn=["h2"],
        fallback_scsv=True,
    )
    d.groups = [0x1D, 0x11EC]
    d.weaknesses = find_weaknesses(d)
    out = to_contract(d)
    assert out["protocols"][0] == {
        "version": "TLSv1.2",
        "supported": True,
        "server_order": True,
        "cipher_suites": ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"],
        "suites_tested": 0,
        "handshakes": 0,
        "unusable": None,
    }
    assert (out["partial"], out["untested"], out["violations"]) == (False, [], [])
    assert out["groups"] == ["x25519", "X25519MLKEM768"]
    assert all(set(w) == {"id", "severity", "summary", "reference"} for w in out["weaknesses"])
    console = Console(file=io.StringIO(), width=120, color_system=None)
    for part in [*scan_human.verdict(out), *scan_human.renderables(out, verbose=True)]:
        console.print(part)
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert "TLS_RSA_WITH_3DES_EDE_CBC_SHA" in text and "RFC 8996" in text and "X25519MLKEM768" in text


def test_must_staple_without_a_staple() -> None:
    """RFC 7633: a must-staple leaf from a server that staples nothing (Firefox refuses it); near
    misses: the server staples, stapling unknown, a leaf without the feature."""
    from tlsdoctor.scan.result import CertificateResult

    def with_leaf(must_staple: bool, stapling: object) -> ScanData:
        d = data(MODERN, ocsp_stapling=stapling)
        leaf = {"subject": "CN=example.test", "must_staple": must_staple}
        d.certificates.append(
            CertificateResult(key_type="RSA", chain=(b"der",), observations=[], details=[leaf])
        )
        return d

    found = {w.id: w for w in find_weaknesses(with_leaf(True, False))}
    assert found["must-staple-unstapled"].severity == "high"
    assert "RSA: CN=example.test" in found["must-staple-unstapled"].summary
    for near in (with_leaf(True, True), with_leaf(True, None), with_leaf(False, False)):
        assert "must-staple-unstapled" not in ids(near)
