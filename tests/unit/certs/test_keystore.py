"""Java keystores read for their trusted certificates: JKS by hand, PKCS#12 by cryptography.

The keystores are written by the JDK's own keytool (not by us), so the JKS reader is checked against
the real format; junk and truncations must give what was read before the damage, never raise.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from tlsdoctor.certs.keystore import MAX_ENTRIES, jks_certificates, keystore_certificates
from tlsdoctor.certs.runtimes import java_cacerts_path, parse_node_output

needs_keytool = pytest.mark.skipif(shutil.which("keytool") is None, reason="needs keytool (a JDK; not in CI)")


def openssl_ca(d: Path, cn: str) -> Path:
    pem = d / f"{cn}.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            str(d / f"{cn}.key"),
            "-out",
            str(pem),
            "-subj",
            f"/CN={cn}",
            "-days",
            "30",
        ],
        check=True,
        capture_output=True,
    )
    return pem


def keystore(d: Path, kind: str, *pems: Path, key_entry: bool = False) -> bytes:
    """A keystore keytool writes: each PEM a trusted-cert entry, optionally a private-key entry first."""
    store = d / f"t.{kind}"
    common = ["-keystore", str(store), "-storetype", kind, "-storepass", "changeit"]
    if key_entry:
        subprocess.run(
            [
                "keytool",
                "-genkeypair",
                "-alias",
                "mykey",
                "-keyalg",
                "EC",
                "-dname",
                "CN=Key Entry",
                "-keypass",
                "changeit",
                *common,
            ],
            check=True,
            capture_output=True,
        )
    for i, pem in enumerate(pems):
        subprocess.run(
            ["keytool", "-importcert", "-noprompt", "-alias", f"ca{i}", "-file", str(pem), *common],
            check=True,
            capture_output=True,
        )
    return store.read_bytes()


def cns(certs: tuple[x509.Certificate, ...]) -> set[str]:
    return {c.subject.rfc4514_string() for c in certs}


@needs_keytool
@pytest.mark.parametrize("kind", ["JKS", "PKCS12"])
def test_keytool_stores_give_their_trusted_certificates(tmp_path: Path, kind: str) -> None:
    a, b = openssl_ca(tmp_path, "Root A"), openssl_ca(tmp_path, "Root B")
    data = keystore(tmp_path, kind, a, b, key_entry=True)
    got = keystore_certificates(data)
    assert cns(got) == {"CN=Root A", "CN=Root B"}  # the private key's own certificate is not an anchor
    want = x509.load_pem_x509_certificate(a.read_bytes()).public_bytes(serialization.Encoding.DER)
    assert want in {c.public_bytes(serialization.Encoding.DER) for c in got}


@needs_keytool
def test_jks_truncated_anywhere_keeps_what_came_before(tmp_path: Path) -> None:
    data = keystore(tmp_path, "JKS", openssl_ca(tmp_path, "Root A"), openssl_ca(tmp_path, "Root B"))
    full = jks_certificates(data)
    assert len(full) == 2
    for cut in range(len(data)):
        got = jks_certificates(data[:cut])
        assert got == full[: len(got)]  # a prefix of the entries, never a half certificate
    assert len(jks_certificates(data[:-20])) == 2  # the integrity digest is not needed


def test_jks_junk_never_raises() -> None:
    magic = struct.pack(">III", 0xFEEDFEED, 2, 0xFFFFFFFF)
    huge_cert = magic + struct.pack(">I", 2) + b"\x00\x01a" + b"\x00" * 8 + b"\x00\x05X.509" + b"\xff" * 4
    huge_chain = magic + struct.pack(">I", 1) + b"\x00\x01a" + b"\x00" * 8 + struct.pack(">II", 0, 2**31)
    unknown_tag = magic + struct.pack(">I", 3) + b"\x00\x01a" + b"\x00" * 8 + b"junk" * 10
    for junk in (b"", b"\xfe\xed", magic, huge_cert, huge_chain, unknown_tag, os.urandom(4096)):
        assert jks_certificates(junk) == []
        assert keystore_certificates(junk) == ()
    assert jks_certificates(struct.pack(">III", 0xFEEDFEED, 7, 1)) == []  # unknown version
    # a count far beyond any real store reads at most MAX_ENTRIES entries, each checked
    entry = struct.pack(">I", 2) + b"\x00\x01a" + b"\x00" * 8 + b"\x00\x05X.509" + struct.pack(">I", 1) + b"x"
    many = struct.pack(">III", 0xFEEDFEED, 2, 2**32 - 1) + entry * (MAX_ENTRIES + 10)
    assert len(jks_certificates(many)) == MAX_ENTRIES
    assert keystore_certificates(many) == ()  # b"x" is no certificate


def test_pkcs12_with_another_password_is_unread(tmp_path: Path) -> None:
    if shutil.which("keytool") is None:
        pytest.skip("needs keytool (a JDK; not in CI)")
    pem = openssl_ca(tmp_path, "Root A")
    store = tmp_path / "other.p12"
    subprocess.run(
        [
            "keytool",
            "-importcert",
            "-noprompt",
            "-alias",
            "a",
            "-file",
            str(pem),
            "-keystore",
            str(store),
            "-storetype",
            "PKCS12",
            "-storepass",
            "not-changeit",
        ],
        check=True,
        capture_output=True,
    )
    assert keystore_certificates(store.read_bytes()) == ()


def test_java_home_wins_over_the_java_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cacerts = tmp_path / "lib" / "security" / "cacerts"
    cacerts.parent.mkdir(parents=True)
    cacerts.write_bytes(struct.pack(">III", 0xFEEDFEED, 2, 0))
    monkeypatch.setenv("JAVA_HOME", str(tmp_path))
    assert java_cacerts_path() == str(cacerts)
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "nowhere"))
    assert java_cacerts_path() != str(cacerts)


def test_node_output_parsing(tmp_path: Path) -> None:
    pem = openssl_ca(tmp_path, "Node Root").read_bytes()
    good = parse_node_output(b"v20.1.0\n" + pem + b"\n" + pem, 0)
    assert good.label == "node:node v20.1.0, 2 anchors" and not good.problem
    hostile = parse_node_output(b"\x1b[31mv1\n" + pem, 0)
    assert hostile.label == "node:node, 1 anchors"  # a version that is not one is not repeated
    assert parse_node_output(b"v20.1.0\n", 0).problem == "node listed no root certificate"
    assert parse_node_output(b"", 9).problem == "node exited with status 9"
