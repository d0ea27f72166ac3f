"""Trust anchors from --ca-file and from the system store."""

from __future__ import annotations

from pathlib import Path

import pytest
from certkit import Pki, pem

from tlsdoctor.certs import trust
from tlsdoctor.errors import InputError


def test_ca_file(tmp_path: Path, pki: Pki) -> None:
    path = tmp_path / "ca.pem"
    path.write_bytes(b"junk before\n" + pem(pki.root) + pem(pki.inter))
    anchors = trust.load_ca_file(path)
    assert anchors.source == "ca-file" and len(anchors.certificates) == 2
    assert anchors.label == f"ca-file:{path}"


def test_ca_file_unreadable(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read"):
        trust.load_ca_file(tmp_path / "missing.pem")


def test_ca_file_without_certificate(tmp_path: Path) -> None:
    path = tmp_path / "empty.pem"
    path.write_text("not a certificate\n")
    with pytest.raises(InputError, match="no PEM certificate"):
        trust.load_ca_file(path)


def test_system_store_from_ssl_cert_file(tmp_path: Path, pki: Pki, monkeypatch: pytest.MonkeyPatch) -> None:
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(pem(pki.root) + pem(pki.root))  # duplicates count once
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path / "nodir"))
    anchors = trust.load_system_store()
    assert anchors.source == "system" and len(anchors.certificates) == 1


def test_system_store_directory(tmp_path: Path, pki: Pki, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "certs").mkdir()
    (tmp_path / "certs" / "abcd1234.0").write_bytes(pem(pki.root))
    (tmp_path / "certs" / "readme.txt").write_bytes(pem(pki.inter))  # not a store entry name
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "nofile.pem"))
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path / "certs"))
    anchors = trust.load_system_store()
    assert len(anchors.certificates) == 1


def test_missing_system_store_is_empty_not_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "gone.pem"))
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path / "gone"))
    anchors = trust.load_system_store()
    assert anchors.certificates == () and anchors.detail


def test_debian_style_store_parses_each_certificate_once(
    tmp_path: Path, pki: Pki, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bundle, named files, hash links to them and the bundle again inside the directory
    (update-ca-certificates' layout): every certificate is found, and parsed once."""
    certs = tmp_path / "certs"
    certs.mkdir()
    (certs / "ca-certificates.crt").write_bytes(pem(pki.root) + pem(pki.inter))
    (certs / "Root.pem").write_bytes(pem(pki.root))
    (certs / "Inter.pem").write_bytes(pem(pki.inter))
    (certs / "abcd1234.0").symlink_to("Root.pem")
    (certs / "bcde2345.0").symlink_to("Inter.pem")
    (certs / "damaged.pem").write_bytes(b"-----BEGIN CERTIFICATE-----\n@@@\n-----END CERTIFICATE-----\n")
    parsed: list[bytes] = []
    real_parse = trust._parse_der

    def counting(der: bytes) -> object:
        parsed.append(der)
        return real_parse(der)

    monkeypatch.setattr(trust, "_parse_der", counting)
    monkeypatch.setenv("SSL_CERT_FILE", str(certs / "ca-certificates.crt"))
    monkeypatch.setenv("SSL_CERT_DIR", str(certs))
    anchors = trust.load_system_store()
    assert {c.subject for c in anchors.certificates} == {pki.root.subject, pki.inter.subject}
    assert len(parsed) == 3  # root and intermediate, plus the damaged block's bytes once
    assert anchors.detail == ""


def test_a_certificate_in_several_stores_is_decoded_once(tmp_path: Path, pki: Pki) -> None:
    """The same DER in two bundles (the system store and certifi's, Java's and Node's roots are
    mostly one list) is decoded once per process: the second store gets the first one's object."""
    a, b = tmp_path / "a.pem", tmp_path / "b.pem"
    a.write_bytes(pem(pki.root) + pem(pki.inter))
    b.write_bytes(pem(pki.inter))
    trust._parse_der.cache_clear()
    first = trust.load_ca_file(a).certificates
    hits = trust._parse_der.cache_info().hits
    (again,) = trust.load_ca_file(b).certificates
    assert trust._parse_der.cache_info().hits == hits + 1
    assert again is first[1] and again.subject == pki.inter.subject
