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
