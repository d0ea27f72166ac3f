from __future__ import annotations

import re

import pytest

from tlsdoctor.wire import registry
from tlsdoctor.wire.codepoints import (
    AlertDescription,
    ContentType,
    ExtensionType,
    NamedGroup,
    ProtocolVersion,
)
from tlsdoctor.wire.registry import GROUPS, SUITES, CipherSuite, SuiteFlag, suite_by_name


def test_unknown_code_points_survive_and_print_as_hex() -> None:
    assert str(NamedGroup(0x1234)) == "0x1234"
    assert NamedGroup(0x1234) == 0x1234 and not NamedGroup(0x1234).known
    assert str(ContentType(99)) == "0x63"
    assert str(AlertDescription(200)) == "0xc8"
    assert str(ExtensionType(0xABCD)) == "0xabcd"
    assert str(CipherSuite(0x1234)) == "0x1234" and CipherSuite(0x1234).info is None
    assert str(ProtocolVersion(0x7F1C)) == "TLSv1.3-draft28"
    assert f"{NamedGroup.X25519}" == "X25519" and NamedGroup.X25519.known


def test_values_outside_the_wire_width_are_our_bug() -> None:
    with pytest.raises(ValueError):
        ContentType(256)
    with pytest.raises(ValueError):
        CipherSuite(0x10000)


def test_required_alerts_present() -> None:
    for code in (86, 109, 112, 116, 120):
        assert AlertDescription(code).known


def test_suite_table_is_complete_and_consistent() -> None:
    assert len(SUITES) >= 340
    for code, info in SUITES.items():
        assert info.code == code
        assert re.fullmatch(r"TLS_[A-Za-z0-9_]+", info.iana_name)
        assert info.min_version <= info.max_version
        assert suite_by_name(info.iana_name) is info
        if info.openssl_name:
            assert suite_by_name(info.openssl_name) is info
    names = [s.iana_name for s in SUITES.values()]
    assert len(names) == len(set(names))


@pytest.mark.parametrize(
    ("name", "kx", "auth", "cipher", "mac", "bits", "lo", "hi", "flags"),
    [
        ("TLS_RSA_EXPORT_WITH_RC4_40_MD5", "RSA", "RSA", "RC4_40", "MD5", 40, 0x300, 0x301,
         SuiteFlag.EXPORT | SuiteFlag.RC4),
        ("TLS_RSA_WITH_3DES_EDE_CBC_SHA", "RSA", "RSA", "3DES_EDE_CBC", "SHA1", 112, 0x300, 0x303,
         SuiteFlag.TRIPLE_DES | SuiteFlag.CBC),
        ("TLS_DH_anon_WITH_AES_128_CBC_SHA", "DHE", "anon", "AES_128_CBC", "SHA1", 128, 0x300, 0x303,
         SuiteFlag.ANON | SuiteFlag.CBC | SuiteFlag.PFS),
        ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE", "RSA", "AES_128_GCM", "AEAD", 128, 0x303, 0x303,
         SuiteFlag.AEAD | SuiteFlag.PFS),
        ("TLS_RSA_WITH_NULL_SHA256", "RSA", "RSA", "NULL", "SHA256", 0, 0x303, 0x303, SuiteFlag.NULL),
        ("TLS_AES_128_GCM_SHA256", "ANY", "ANY", "AES_128_GCM", "AEAD", 128, 0x304, 0x304,
         SuiteFlag.AEAD | SuiteFlag.PFS),
        ("TLS_RSA_WITH_DES_CBC_SHA", "RSA", "RSA", "DES_CBC", "SHA1", 56, 0x300, 0x302,
         SuiteFlag.DES | SuiteFlag.CBC),
        ("TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8", "ECDHE", "ECDSA", "AES_128_CCM_8", "AEAD", 128, 0x303, 0x303,
         SuiteFlag.AEAD | SuiteFlag.PFS),
        ("TLS_FALLBACK_SCSV", "SCSV", "SCSV", "NULL", "NULL", 0, 0x300, 0x304, SuiteFlag.SCSV),
    ],
)  # fmt: skip
def test_derived_suite_properties(
    name: str, kx: str, auth: str, cipher: str, mac: str, bits: int, lo: int, hi: int, flags: SuiteFlag
) -> None:
    info = suite_by_name(name)
    assert info is not None
    assert (info.kx, info.auth, info.cipher, info.mac, info.bits) == (kx, auth, cipher, mac, bits)
    assert (info.min_version, info.max_version, info.flags) == (lo, hi, flags)


def test_openssl_names() -> None:
    assert suite_by_name("ECDHE-RSA-AES128-GCM-SHA256").code == 0xC02F  # type: ignore[union-attr]
    assert suite_by_name("DES-CBC3-SHA").code == 0x000A  # type: ignore[union-attr]
    assert str(CipherSuite(0xC02F)) == "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"


def test_groups_and_enums_agree() -> None:
    registry._check_enums()
    assert GROUPS[0x11EC].name == "X25519MLKEM768" and GROUPS[0x11EC].client_share == 1184 + 32
    assert GROUPS[0x11EB].client_share == 65 + 1184 and GROUPS[0x11ED].client_share == 97 + 1568
    assert GROUPS[256].name == "ffdhe2048" and GROUPS[29].client_share == 32


def test_one_name_per_code_point_for_every_report() -> None:
    """scan, pcap, diagnose and the client simulation all name code points through these: a known
    one by the registry, an unknown one in hex as the open enums print it, never two spellings."""
    assert [registry.version_name(v) for v in (0x0002, 0x0300, 0x0301, 0x0302, 0x0303, 0x0304)] == [
        "SSLv2", "SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3",
    ]  # fmt: skip
    assert registry.version_name(0x7F17) == "TLSv1.3-draft23"
    assert registry.version_name(0x0A0A) == str(ProtocolVersion(0x0A0A)) == "0x0a0a"  # GREASE
    assert registry.suite_name(0xC02F) == "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
    assert registry.suite_name(0x1234) == str(CipherSuite(0x1234)) == "0x1234"
    assert registry.group_name(0x001D) == "x25519" and registry.group_name(0x11EC) == "X25519MLKEM768"
    assert registry.group_name(0xABCD) == str(NamedGroup(0xABCD)) == "0xabcd"
    assert registry.scheme_name(0x0804) == "rsa_pss_rsae_sha256" and registry.scheme_name(0xFEFE) == "0xfefe"
    assert registry.ssl2_kind_name(0x0700C0) == "SSL_CK_DES_192_EDE3_CBC_WITH_MD5"
    assert registry.ssl2_kind_name(0x0A0A0A) == "0x0a0a0a"


def test_the_scan_names_its_versions_as_the_contract_does() -> None:
    from tlsdoctor.scan.offers import VERSIONS

    assert [name for name, _ in VERSIONS] == ["SSLv2", "SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3"]
    assert all(name == registry.version_name(v) for name, v in VERSIONS)
