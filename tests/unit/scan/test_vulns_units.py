"""The pure parts of the vulnerability probes: the verdicts read off the scan's suite lists (a
positive and a near miss each), the ROBOT plaintexts, the TLS 1.2 record protection, the
common-prime table, and the phase's promise of one entry per contract id."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from rich.console import Console

from tlsdoctor.report import vulns_human
from tlsdoctor.scan.result import ProtocolResult, ScanData
from tlsdoctor.scan.vulns import phase, robot, suite_list, tls12
from tlsdoctor.scan.vulns.base import IDS, Vulnerability, clean, found, unknown
from tlsdoctor.scan.vulns.legacy_offers import common_primes
from tlsdoctor.wire.codepoints import ContentType
from tlsdoctor.wire.reader import DecodeError

CONTRACT = Path(__file__).resolve().parents[4] / "shared" / "contract" / "cli.md"


def data(**suites: list[int]) -> ScanData:
    d = ScanData()
    for name, codes in suites.items():
        version = name.replace("_", ".").replace("TLSv1.", "TLSv1.")
        d.protocols.append(ProtocolResult(version=version, supported=True, suites=codes))
    return d


def verdict(d: ScanData, vid: str) -> bool | None:
    return next(v.vulnerable for v in suite_list.run(d) if v.id == vid)


def test_ids_are_the_contracts() -> None:
    text = CONTRACT.read_text() if CONTRACT.exists() else None
    if text is None:
        pytest.skip("contract not linked into this checkout")
    block = text[text.index("# ids:") : text.index('"clients"')]
    assert tuple(re.findall(r"[a-z0-9]+(?:-[a-z0-9]+)*", block.replace("# ids:", ""))) == IDS


@pytest.mark.parametrize(
    ("vid", "bad", "good"),
    [
        ("sweet32", 0x000A, 0xC02F),  # 3DES vs AES-GCM
        ("rc4", 0x0005, 0x009C),  # RC4-SHA vs AES-GCM
    ],
)
def test_suite_verdicts(vid: str, bad: int, good: int) -> None:
    assert verdict(data(TLSv1_2=[good, bad]), vid) is True
    assert verdict(data(TLSv1_2=[good]), vid) is False


def test_beast_needs_cbc_at_tls10_or_below() -> None:
    assert verdict(data(TLSv1_0=[0x002F]), "beast") is True
    assert verdict(data(TLSv1_2=[0x002F]), "beast") is False  # CBC, but TLS 1.2: explicit IVs


def test_lucky13_cannot_be_decided_from_cbc_alone() -> None:
    assert verdict(data(TLSv1_2=[0x002F]), "lucky13") is None
    assert verdict(data(TLSv1_2=[0xC02F]), "lucky13") is False


def test_an_incomplete_suite_list_is_undecided_not_clean() -> None:
    d = data(TLSv1_2=[0xC02F])
    d.untested["TLSv1.2 suites"] = "not tested: the scan's deadline (--max-time) ran out"
    assert verdict(d, "sweet32") is None


def test_a_scan_with_no_version_has_every_id_undecided() -> None:
    found = phase.complete(ScanData())
    assert [v.id for v in found] == list(IDS)
    assert {v.vulnerable for v in found} == {None}


def test_robot_plaintexts_fill_the_modulus_and_differ_where_the_paper_says() -> None:
    size = 256
    texts = [robot.padded(q, size, 0x0303) for q in range(5)]
    assert all(len(t) == size for t in texts)
    assert texts[0][:2] == b"\x00\x02" and texts[0][-49] == 0 and texts[0][-48:-46] == b"\x03\x03"
    assert texts[1][:2] == b"\x41\x17"
    assert 0 not in texts[3][2:-48]  # no separator
    assert texts[4][-48:-46] == b"\x02\x02"


def test_tls12_records_round_trip_and_refuse_tampering() -> None:
    for code, suite in tls12.SUITES.items():
        client, server = tls12.key_block(suite, bytes(48), bytes(32), bytes(range(32)))
        peer_client, _ = tls12.key_block(suite, bytes(48), bytes(32), bytes(range(32)))
        record = client.seal(ContentType.HANDSHAKE, b"hello")
        assert peer_client.open(ContentType.HANDSHAKE, record[5:]) == b"hello", hex(code)
        tampered = record[:-1] + bytes([record[-1] ^ 1])
        with pytest.raises(DecodeError):
            server.open(ContentType.HANDSHAKE, tampered[5:])


def test_prf_is_hmac_expansion() -> None:
    out = tls12.prf("sha256", b"secret", b"label", b"seed", 100)
    assert len(out) == 100 and out[:32] != out[32:64]
    assert tls12.prf("sha256", b"secret", b"label", b"seed", 10) == out[:10]


def test_common_primes_include_the_rfcs_and_server_defaults() -> None:
    names = set(common_primes().values())
    assert {
        "RFC2409/Oakley Group 2",
        "RFC7919/ffdhe2048",
        "nginx/1024-bit MODP group with safe prime modulus",
    } <= names
    assert all(p % 2 == 1 and p.bit_length() >= 512 for p in common_primes())


def _rendered(found: list[Vulnerability]) -> str:
    console = Console(file=io.StringIO(), width=100, color_system=None)
    for part in vulns_human.renderables({"vulnerabilities": [v.to_dict() for v in found]}):
        console.print(part)
    return console.file.getvalue()  # type: ignore[attr-defined]


def test_the_human_view_shows_findings_with_evidence_and_folds_the_clean_ones() -> None:
    text = _rendered(
        [
            found("heartbleed", "a heartbeat of 1043 bytes"),
            clean("rc4", "no RC4"),
            unknown("lucky13", "CBC suites accepted\x1b[2J"),
        ]
    )
    assert "Vulnerable: heartbleed" in text and "\x1b" not in text
    assert "undecided lucky13" in text and "CBC suites accepted" in text
    assert "Not vulnerable: rc4" in text and "no RC4" not in text


def test_the_human_view_of_a_clean_server_is_one_line() -> None:
    text = _rendered([clean("rc4", "no RC4"), clean("drown", "no SSLv2")])
    assert text.split() == ["Vulnerability", "probes", "Not", "vulnerable:", "rc4,", "drown"]


@pytest.mark.parametrize("size", [0, 1, 10, 11, 12, 27, 100])
def test_cbc_records_check_their_padding_unless_lax(size: int) -> None:
    suite = tls12.CBC_SUITES[0xC013]
    sender, _ = tls12.key_block(suite, bytes(48), bytes(32), bytes(range(32)))
    strict, _ = tls12.key_block(suite, bytes(48), bytes(32), bytes(range(32)))
    lax, _ = tls12.key_block(suite, bytes(48), bytes(32), bytes(range(32)))
    lax.lax_padding = True
    good = sender.seal(ContentType.APPLICATION_DATA, bytes(size))
    assert strict.open(ContentType.APPLICATION_DATA, good[5:]) == bytes(size)
    assert lax.open(ContentType.APPLICATION_DATA, good[5:]) == bytes(size)
    bad = sender.seal(ContentType.APPLICATION_DATA, bytes(size), bad_padding=True)
    with pytest.raises(DecodeError):
        strict.open(ContentType.APPLICATION_DATA, bad[5:])
    assert lax.open(ContentType.APPLICATION_DATA, bad[5:]) == bytes(size)


def test_an_ecdhe_key_share_is_the_x962_uncompressed_point() -> None:
    """tls12.key_share builds the point from the key's numbers (SEC 1 §2.3.3); it must be the
    very bytes cryptography's X9.62 encoding gives, and decode back to the same key."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    from tlsdoctor.scan.vulns import tls12

    for group, curve in ((0x0017, ec.SECP256R1()), (0x0018, ec.SECP384R1())):
        share = tls12.key_share(group)
        key = ec.EllipticCurvePublicKey.from_encoded_point(curve, share.public)
        x962 = key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        assert (
            share.public == x962
            and share.public[0] == 4
            and len(share.public) == 1 + 2 * (curve.key_size // 8)
        )
